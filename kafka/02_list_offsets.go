package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets v1-v7: earliest (-2), latest (-1), max timestamp (-3, v7)
// and by time. v8's tiered-storage positions are not offered.
func init() { register(2, 1, 7, handleListOffsets) }

func handleListOffsets(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		info, ok, err := h.topics.get(r.ctx, t.Topic)
		for _, p := range t.Partitions {
			rp := kmsg.NewListOffsetsResponseTopicPartition()
			rp.Partition = p.Partition
			rp.Timestamp, rp.Offset, rp.LeaderEpoch = -1, -1, -1
			switch {
			case err != nil:
				rp.ErrorCode = errorCode(err)
			case !ok || p.Partition < 0 || int(p.Partition) >= info.partitions:
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				h.listOffset(r, info.partition(p.Partition), p.Timestamp, &rp)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

func (h *Handler) listOffset(r *request, partition string, ts int64, rp *kmsg.ListOffsetsResponseTopicPartition) {
	rng, err := h.b.Admin().IndexRange(r.ctx, partition)
	if err != nil {
		rp.ErrorCode = errorCode(err)
		return
	}
	switch ts {
	case -1:
		rp.Offset = rng.Next
	case -2:
		rp.Offset = rng.First
	case -3:
		if rng.Next > rng.First {
			rp.Offset = rng.Next - 1 // the newest; timestamps are not indexed
		}
	default:
		if ts < 0 {
			rp.ErrorCode = kerr.InvalidRequest.Code
			return
		}
		// The backend indexes publish time; Kafka uses the record's own
		// timestamp. They agree unless producers set times in the past.
		idx, err := h.b.Admin().IndexAtTime(r.ctx, partition, time.UnixMilli(ts))
		if err != nil {
			rp.ErrorCode = errorCode(err)
			return
		}
		if idx < rng.Next {
			rp.Offset, rp.Timestamp = idx, ts
		}
	}
}
