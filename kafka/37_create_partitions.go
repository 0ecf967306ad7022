package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreatePartitions v0-v3: partitions only grow, as in Kafka and Pulsar.
func init() { register(37, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		var info topicInfo
		var ok bool
		var err error
		denied := !r.allowedTopic(authz.Alter, t.Topic)
		if !isInternal(t.Topic) && !denied {
			info, ok, err = h.topics.get(r.ctx, t.Topic)
		}
		switch {
		case denied:
			rt.ErrorCode = kerr.TopicAuthorizationFailed.Code
		case isInternal(t.Topic):
			rt.ErrorCode = h.internalRefusal(t.Topic)
		case err != nil:
			rt.ErrorCode = errorCode(err)
		case !ok:
			rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
		case len(t.Assignment) > 0:
			rt.ErrorCode, rt.ErrorMessage = kerr.InvalidReplicaAssignment.Code, kmsg.StringPtr("replica placement is Pulsar's")
		case !info.partitioned:
			rt.ErrorCode, rt.ErrorMessage = kerr.InvalidPartitions.Code, kmsg.StringPtr("a non-partitioned Pulsar topic cannot grow")
		case int(t.Count) <= info.partitions:
			rt.ErrorCode, rt.ErrorMessage = kerr.InvalidPartitions.Code, kmsg.StringPtr("partitions can only grow")
		case req.ValidateOnly:
		default:
			rt.ErrorCode = errorCode(h.b.Admin().UpdatePartitions(r.ctx, info.full, int(t.Count)))
			h.topics.forget(t.Topic)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
