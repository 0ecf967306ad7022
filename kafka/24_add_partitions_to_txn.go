package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AddPartitionsToTxn v0-v3: v4 (KIP-890's batched verification by
// brokers) is not offered, so clients use the classic protocol. Every
// partition is marked transactional (txnPartTable) before the coordinator
// hears of it, so a reader that learns of the mark works out its last
// stable offset before any of the transaction's records can exist. With
// store transactions (storetxns.go) the partitions join the store's
// transaction before the answer, so the records that follow go in it.
func init() { register(24, 0, 3, handleAddPartitionsToTxn) }

func handleAddPartitionsToTxn(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AddPartitionsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	var parts []txnPart
	code := int16(0)
	// As Kafka: WRITE on the transactional id, then on every topic; a
	// topic refused fails the others with OPERATION_NOT_ATTEMPTED.
	denied := map[string]bool{}
	if !r.allowed(authz.Write, authz.TransactionalID, req.TransactionalID) {
		code = kerr.TransactionalIDAuthorizationFailed.Code
	} else {
		for _, t := range req.Topics {
			if !r.allowedTopic(authz.Write, t.Topic) {
				denied[t.Topic] = true
			}
		}
	}
	if len(denied) > 0 {
		return addPartitionsRefused(req, resp, denied), nil
	}
	for _, t := range req.Topics {
		if code != 0 {
			break
		}
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
	mark := markMarkers
	if h.storeTxns != nil {
		mark = markStoreTxn
	}
	if code == 0 {
		for _, p := range parts {
			if _, ok := h.txnParts.Get(p.Name); ok {
				continue
			}
			if err := h.txnParts.Put(r.ctx, p.Name, mark); err != nil {
				code = errorCode(err)
				break
			}
		}
	}
	cmd := &txnCmd{Op: "add-partitions", ProducerID: req.ProducerID, Epoch: req.ProducerEpoch, Parts: parts}
	if code == 0 && h.storeTxns != nil && len(parts) > 0 {
		var err error
		if cmd.StoreTxn, err = h.storeTxnFor(r.ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch); err != nil {
			code = errorCode(err)
		}
	}
	if code == 0 {
		a := h.txn(r.ctx, req.TransactionalID, cmd)
		code = a.Code
		if code == 0 && h.storeTxns != nil && len(parts) > 0 {
			code = h.addStoreParts(r.ctx, a.StoreTxn, parts)
		}
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

// addPartitionsRefused answers TOPIC_AUTHORIZATION_FAILED for the topics
// denied and OPERATION_NOT_ATTEMPTED for the rest.
func addPartitionsRefused(req *kmsg.AddPartitionsToTxnRequest, resp *kmsg.AddPartitionsToTxnResponse, denied map[string]bool) *kmsg.AddPartitionsToTxnResponse {
	for _, t := range req.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		code := kerr.OperationNotAttempted.Code
		if denied[t.Topic] {
			code = kerr.TopicAuthorizationFailed.Code
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
