package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetFetch v1-v8: v8 asks for several groups at once; v9 carries
// KIP-848 member epochs, not offered. No offset is -1, not an error.
func init() { register(9, 1, 8, handleOffsetFetch) }

func handleOffsetFetch(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version < 8 {
		if !r.allowed(authz.Describe, authz.Group, req.Group) {
			resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
			for _, t := range req.Topics {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.Offset, rp.ErrorCode = p, -1, kerr.GroupAuthorizationFailed.Code
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return resp, nil
		}
		unstable := map[partKey]bool(nil)
		if req.RequireStable {
			unstable = h.unstableOffsets(req.Group)
		}
		for _, t := range r.describableOffsets(h.fetchOffsets(req.Group, req.Topics), req.Topics != nil) {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata
				if unstable[partKey{t.Topic, p.Partition}] {
					rp.ErrorCode, rp.Offset = kerr.UnstableOffsetCommit.Code, -1
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	for _, g := range req.Groups {
		rg := kmsg.NewOffsetFetchResponseGroup()
		rg.Group = g.Group
		var topics []kmsg.OffsetFetchRequestTopic
		if g.Topics != nil {
			for _, t := range g.Topics {
				topics = append(topics, kmsg.OffsetFetchRequestTopic{Topic: t.Topic, Partitions: t.Partitions})
			}
		}
		if !r.allowed(authz.Describe, authz.Group, g.Group) {
			rg.ErrorCode = kerr.GroupAuthorizationFailed.Code
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		rg.Topics = r.describableOffsets(h.fetchOffsets(g.Group, topics), g.Topics != nil)
		if req.RequireStable {
			unstable := h.unstableOffsets(g.Group)
			for i := range rg.Topics {
				for j := range rg.Topics[i].Partitions {
					if p := &rg.Topics[i].Partitions[j]; unstable[partKey{rg.Topics[i].Topic, p.Partition}] {
						p.ErrorCode, p.Offset = kerr.UnstableOffsetCommit.Code, -1
					}
				}
			}
		}
		if g.Topics != nil && rg.Topics == nil {
			rg.Topics = []kmsg.OffsetFetchResponseGroupTopic{}
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}

// fetchOffsets reads committed offsets in v8's shape; nil topics means all
// of the group's.
func (h *Handler) fetchOffsets(group string, topics []kmsg.OffsetFetchRequestTopic) []kmsg.OffsetFetchResponseGroupTopic {
	var out []kmsg.OffsetFetchResponseGroupTopic
	part := func(p int32, c committed, ok bool) kmsg.OffsetFetchResponseGroupTopicPartition {
		rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = p, -1, -1
		if ok {
			rp.Offset, rp.LeaderEpoch, rp.Metadata = c.offset, c.leaderEpoch, kmsg.StringPtr(c.metadata)
		}
		return rp
	}
	if topics == nil {
		idx := map[string]int{}
		h.offsets.all(group, func(topic string, p int32, c committed) {
			i, ok := idx[topic]
			if !ok {
				i = len(out)
				idx[topic] = i
				out = append(out, kmsg.OffsetFetchResponseGroupTopic{Topic: topic})
			}
			out[i].Partitions = append(out[i].Partitions, part(p, c, true))
		})
		return out
	}
	for _, t := range topics {
		rt := kmsg.NewOffsetFetchResponseGroupTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			c, ok := h.offsets.get(group, t.Topic, p)
			rt.Partitions = append(rt.Partitions, part(p, c, ok))
		}
		out = append(out, rt)
	}
	return out
}

// describableOffsets keeps what the principal may describe, as Kafka: a
// topic asked for by name is answered TOPIC_AUTHORIZATION_FAILED, one of
// "all the group's" is left out.
func (r *request) describableOffsets(topics []kmsg.OffsetFetchResponseGroupTopic, named bool) []kmsg.OffsetFetchResponseGroupTopic {
	if !r.c.h.authzOn() {
		return topics
	}
	out := topics[:0]
	for _, t := range topics {
		if r.allowedTopic(authz.Describe, t.Topic) {
			out = append(out, t)
			continue
		}
		if named {
			for i := range t.Partitions {
				t.Partitions[i].Offset, t.Partitions[i].Metadata = -1, nil
				t.Partitions[i].ErrorCode = kerr.TopicAuthorizationFailed.Code
			}
			out = append(out, t)
		}
	}
	return out
}
