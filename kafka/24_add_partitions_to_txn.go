package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AddPartitionsToTxn v0-v3: v4 (KIP-890's batched verification by
// brokers) is not offered, so clients use the classic protocol. Every
// partition is marked transactional (txnPartTable) before the coordinator
// hears of it, so a reader that learns of the mark works out its last
// stable offset before any of the transaction's records can exist.
func init() { register(24, 0, 3, handleAddPartitionsToTxn) }

func handleAddPartitionsToTxn(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AddPartitionsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	var parts []txnPart
	code := int16(0)
	for _, t := range req.Topics {
		info, ok, err := h.topics.get(r.ctx, t.Topic)
		for _, p := range t.Partitions {
			switch {
			case err != nil:
				code = errorCode(err)
			case !ok || p < 0 || int(p) >= info.partitions:
				code = kerr.UnknownTopicOrPartition.Code
			default:
				parts = append(parts, txnPart{Topic: t.Topic, Partition: p, Name: info.partition(p)})
			}
		}
	}
	if code == 0 {
		for _, p := range parts {
			if _, ok := h.txnParts.Get(p.Name); ok {
				continue
			}
			if err := h.txnParts.Put(r.ctx, p.Name, []byte{1}); err != nil {
				code = errorCode(err)
				break
			}
		}
	}
	if code == 0 {
		code = h.txn(r.ctx, req.TransactionalID, &txnCmd{Op: "add-partitions",
			ProducerID: req.ProducerID, Epoch: req.ProducerEpoch, Parts: parts}).Code
	}
	// One answer for all: Kafka fails the others with
	// OPERATION_NOT_ATTEMPTED when one fails; the client retries them all.
	for _, t := range req.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
