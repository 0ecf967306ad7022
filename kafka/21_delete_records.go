package kafka

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// DeleteRecords v0-v2: moves a partition's log start (bridge
// DeleteBefore), which every gateway's ListOffsets and Fetch then honour.
// Kafka Streams purges its repartition topics with it after each commit.
// Offset -1 means the high watermark.
func init() { register(21, 0, 2, handleDeleteRecords) }

func handleDeleteRecords(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		var info topicInfo
		var ok bool
		var err error
		internal := isInternal(t.Topic)
		denied := !internal && !r.allowedTopic(authz.Delete, t.Topic)
		if !internal && !denied {
			info, ok, err = h.topics.get(r.ctx, t.Topic)
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewDeleteRecordsResponseTopicPartition()
			rp.Partition, rp.LowWatermark = p.Partition, -1
			switch {
			case denied:
				rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case internal:
				rp.ErrorCode = h.internalRefusal(t.Topic)
			case err != nil:
				rp.ErrorCode = errorCode(err)
			case !ok || p.Partition < 0 || int(p.Partition) >= info.partitions:
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				rp.LowWatermark, rp.ErrorCode = h.deleteRecords(r, info.partition(p.Partition), p.Offset)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

func (h *Handler) deleteRecords(r *request, partition string, offset int64) (int64, int16) {
	rng, err := h.b.Admin().IndexRange(r.ctx, partition)
	if err != nil {
		return -1, errorCode(err)
	}
	if offset == -1 {
		offset = rng.Next
	}
	if offset < 0 || offset > rng.Next {
		return -1, kerr.OffsetOutOfRange.Code
	}
	first, err := h.b.Admin().DeleteBefore(r.ctx, partition, offset)
	h.extents.forget(partition)
	switch {
	case errors.Is(err, bridge.ErrInvalid):
		return -1, kerr.OffsetOutOfRange.Code
	case err != nil:
		return -1, errorCode(err)
	}
	return first, 0
}
