package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// ListOffsets v1-v7: earliest (-2), latest (-1), max timestamp (-3, v7)
// and by record timestamp. v8's tiered-storage positions are not offered.
func init() { register(2, 1, 7, handleListOffsets) }

func handleListOffsets(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	var asks []listAsk
	for _, t := range req.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		internal := isInternal(t.Topic)
		denied := !internal && !r.allowedTopic(authz.Describe, t.Topic)
		var info topicInfo
		var ok bool
		var err error
		if !internal && !denied {
			info, ok, err = h.topics.get(r.ctx, t.Topic)
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewListOffsetsResponseTopicPartition()
			rp.Partition = p.Partition
			rp.Timestamp, rp.Offset, rp.LeaderEpoch = -1, -1, -1
			switch {
			case denied:
				rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case internal:
				rp.ErrorCode = h.internalRefusal(t.Topic) // no offsets log to serve
			case err != nil:
				rp.ErrorCode = errorCode(err)
			case !ok || p.Partition < 0 || int(p.Partition) >= info.partitions:
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				asks = append(asks, listAsk{partition: info.partition(p.Partition), ts: p.Timestamp, at: [2]int{len(resp.Topics), len(rt.Partitions)}})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	// Side by side: on Pulsar a partition's range is a round trip.
	eachParallel(len(asks), true, func(i int) {
		a := asks[i]
		h.listOffset(r, a.partition, a.ts, req.IsolationLevel == 1, &resp.Topics[a.at[0]].Partitions[a.at[1]])
	})
	return resp, nil
}

// listAsk is a partition of a ListOffsets to look up, and where its answer goes.
type listAsk struct {
	partition string
	ts        int64
	at        [2]int
}

func (h *Handler) listOffset(r *request, partition string, ts int64, committed bool, rp *kmsg.ListOffsetsResponseTopicPartition) {
	rng, err := h.indexRange(r.ctx, partition)
	if err != nil {
		rp.ErrorCode = errorCode(err)
		return
	}
	switch ts {
	case -1:
		rp.Offset = rng.Next
		if committed { // read_committed: the last stable offset
			if rp.Offset, _, err = h.stableOffset(r.ctx, partition, nil, rng.Next); err != nil {
				rp.ErrorCode, rp.Offset = errorCode(err), -1
				return
			}
		}
	case -2:
		rp.Offset = rng.First
	case -3:
		// The newest record and its timestamp: record timestamps are not
		// indexed, and they mostly grow with the offset.
		if rng.Next > rng.First {
			m, err := h.firstRecordFrom(r.ctx, partition, rng.Next-1, rng.Next, -1)
			if err != nil {
				rp.ErrorCode = errorCode(err)
				return
			}
			if m != nil {
				rp.Offset, rp.Timestamp = m.Index, timestamp(m)
			}
		}
	default:
		if ts < 0 {
			rp.ErrorCode = kerr.InvalidRequest.Code
			return
		}
		// Kafka answers the first record whose own timestamp is >= ts. The
		// backend indexes publish time, which is at or after a record's
		// timestamp (the producer stamps it before sending), so that
		// record is at or after the first one published at ts: read on
		// from there to it.
		idx, err := h.b.Admin().IndexAtTime(r.ctx, partition, time.UnixMilli(ts))
		if err != nil {
			rp.ErrorCode = errorCode(err)
			return
		}
		if idx >= rng.Next {
			return
		}
		m, err := h.firstRecordFrom(r.ctx, partition, idx, rng.Next, ts)
		if err != nil {
			rp.ErrorCode = errorCode(err)
			return
		}
		if m != nil {
			rp.Offset, rp.Timestamp = m.Index, timestamp(m)
		}
	}
}

// maxTimestampScan bounds how far ListOffsets reads past the publish-time
// answer for a record timestamp (producers that stamp records far in the
// past); past it the publish-time answer stands.
const maxTimestampScan = 10000

// firstRecordFrom reads partition from index from (below next) and returns
// the first message whose Kafka timestamp is >= ts, nil if none before
// next. Past maxTimestampScan messages it returns the first one read.
func (h *Handler) firstRecordFrom(ctx context.Context, partition string, from, next, ts int64) (*bridge.Message, error) {
	rd, err := h.b.CreateReader(ctx, bridge.ReaderOptions{Topic: partition, Start: bridge.StartAtIndex(from), ReceiverQueueSize: 256})
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var first *bridge.Message
	for n := 0; ; n++ {
		m, err := rd.Next(ctx)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = m
		}
		if timestamp(m) >= ts {
			return m, nil
		}
		if m.Index+1 >= next {
			return nil, nil
		}
		if n >= maxTimestampScan {
			return first, nil
		}
	}
}
