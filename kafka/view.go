package kafka

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// GroupView is a consumer group as an operator's console shows it: from
// the group's last snapshot and the committed offsets in shared state, so
// every gateway shows the same, and looking changes nothing.
type GroupView struct {
	Name, State, Protocol string
	Members               []MemberView
	Offsets               []OffsetView
}

// MemberView is one member of a group.
type MemberView struct {
	ID, ClientID, Host string
	// Assigned is "topic/partition" for each partition it consumes.
	Assigned []string
}

// OffsetView is a group's position on one partition.
type OffsetView struct {
	Topic             string
	Partition         int32
	Committed, LogEnd int64
	Lag               int64
	LogEndUnknown     bool
}

// Groups lists every group that has members or committed offsets.
func (h *Handler) Groups(ctx context.Context) ([]GroupView, error) {
	byName := map[string]*GroupView{}
	h.groups.snaps.Range("", func(name string, v []byte) bool {
		var s snapshot
		if json.Unmarshal(v, &s) != nil || s.Group == nil || (s.Group.Generation == 0 && len(s.Group.Members) == 0) {
			return true
		}
		g := s.Group
		gv := &GroupView{Name: name, State: g.State.String(), Protocol: g.Protocol}
		for _, id := range g.memberIDs() {
			m := g.Members[id]
			mv := MemberView{ID: id, ClientID: m.ClientID, Host: m.Host}
			var a kmsg.ConsumerMemberAssignment
			if len(m.Assignment) > 0 && a.ReadFrom(m.Assignment) == nil {
				for _, t := range a.Topics {
					for _, p := range t.Partitions {
						mv.Assigned = append(mv.Assigned, t.Topic+"/"+itoa(p))
					}
				}
			}
			gv.Members = append(gv.Members, mv)
		}
		byName[name] = gv
		return true
	})
	for _, name := range h.offsets.groups() {
		gv := byName[name]
		if gv == nil {
			gv = &GroupView{Name: name, State: "Empty"}
			byName[name] = gv
		}
		var failed error
		h.offsets.all(name, func(topic string, partition int32, c committed) {
			if failed != nil || isInternal(topic) {
				return
			}
			ov := OffsetView{Topic: topic, Partition: partition, Committed: c.offset, LogEndUnknown: true}
			info, ok, err := h.topics.get(ctx, topic)
			if err != nil {
				failed = err
				return
			}
			if ok && int(partition) < info.partitions {
				if rng, err := h.extents.get(ctx, info.partition(partition), false); err == nil {
					ov.LogEnd, ov.Lag, ov.LogEndUnknown = rng.Next, max(rng.Next-c.offset, 0), false
				}
			}
			gv.Offsets = append(gv.Offsets, ov)
		})
		if failed != nil {
			return nil, failed
		}
	}
	out := make([]GroupView, 0, len(byName))
	for _, gv := range byName {
		out = append(out, *gv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func itoa(p int32) string {
	return strconv.Itoa(int(p))
}

// ProducerTopics calls f with the topic (or partition) of every producer
// this gateway keeps open for its clients.
func (h *Handler) ProducerTopics(f func(topic string)) { h.producers.c.Topics(f) }
