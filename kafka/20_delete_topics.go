package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteTopics v0-v6 (v6 may name topics by id, which we do not give out).
func init() { register(20, 0, 6, handleDeleteTopics) }

func handleDeleteTopics(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	names := req.TopicNames
	if req.Version >= 6 {
		names = nil
		for _, t := range req.Topics {
			if t.Topic == nil {
				rt := kmsg.NewDeleteTopicsResponseTopic()
				rt.TopicID, rt.ErrorCode = t.TopicID, kerr.UnknownTopicID.Code
				resp.Topics = append(resp.Topics, rt)
				continue
			}
			names = append(names, *t.Topic)
		}
	}
	for _, name := range names {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic = kmsg.StringPtr(name)
		if !r.allowedTopic(authz.Delete, name) {
			rt.ErrorCode = kerr.TopicAuthorizationFailed.Code
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		if isInternal(name) {
			// Kafka would delete it, and every group's offsets with it.
			rt.ErrorCode = h.internalRefusal(name)
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		info, ok, err := h.topics.get(r.ctx, name)
		switch {
		case err != nil:
			rt.ErrorCode = errorCode(err)
		case !ok:
			rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
		default:
			h.producers.dropTopic(info)
			for p := range int32(info.partitions) {
				h.extents.forget(info.partition(p))
			}
			rt.ErrorCode = errorCode(h.b.Admin().DeleteTopic(r.ctx, info.full))
			if rt.ErrorCode == 0 {
				h.forgetTopicConfigs(r.ctx, info.full)
			}
			h.topics.forget(name)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
