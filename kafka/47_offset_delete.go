package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetDelete v0: drops a group's committed offsets of some partitions
// (kafka-consumer-groups --delete-offsets). As Kafka: refused per
// partition with GROUP_SUBSCRIBED_TO_TOPIC while a member of the group
// subscribes to the topic.
func init() { register(47, 0, 0, handleOffsetDelete) }

func handleOffsetDelete(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetDeleteRequest)
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if !r.allowed(authz.Delete, authz.Group, req.Group) {
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}

	subscribed := map[string]bool{}
	known := false
	err := h.groups.view(r.ctx, req.Group, func(g *group) {
		if g == nil {
			return
		}
		known = true
		for _, m := range g.Members {
			for _, t := range subscribedTopics(g, m) {
				subscribed[t] = true
			}
		}
	})
	if err != nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	if !known {
		h.offsets.all(req.Group, func(string, int32, committed) { known = true })
	}
	if !known {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp, nil
	}
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			switch {
			case !r.allowedTopic(authz.Read, t.Topic):
				rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case subscribed[t.Topic]:
				rp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			default:
				if _, ok := h.offsets.get(req.Group, t.Topic, p.Partition); ok {
					if err := h.offsets.t.Delete(r.ctx, offsetKey(req.Group, t.Topic, p.Partition)); err != nil {
						rp.ErrorCode = errorCode(err)
					}
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// subscribedTopics is what a consumer-protocol member subscribes to, from
// its metadata for the group's chosen protocol; other protocols name none.
func subscribedTopics(g *group, m *member) []string {
	if g.ProtocolType != "consumer" {
		return nil
	}
	for _, p := range m.Protocols {
		if p.Name != g.Protocol && g.Protocol != "" {
			continue
		}
		var md kmsg.ConsumerMemberMetadata
		if md.ReadFrom(p.Metadata) == nil {
			return md.Topics
		}
	}
	return nil
}
