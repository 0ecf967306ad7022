package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TxnOffsetCommit v0-v3: offsets the transaction commits when it commits.
// v3 (KIP-447) names the member, checked against the group as a commit is.
func init() { register(28, 0, 3, handleTxnOffsetCommit) }

func handleTxnOffsetCommit(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.TxnOffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	code := int16(0)
	// As Kafka: READ on the group, WRITE on the transactional id; then the
	// partitions of topics without READ are refused and the others
	// committed.
	denied := map[string]bool{}
	refused := false // the whole request, for the group or the id
	switch {
	case !r.allowed(authz.Read, authz.Group, req.Group):
		code, refused = kerr.GroupAuthorizationFailed.Code, true
	case !r.allowed(authz.Write, authz.TransactionalID, req.TransactionalID):
		code, refused = kerr.TransactionalIDAuthorizationFailed.Code, true
	default:
		for _, t := range req.Topics {
			if !r.allowedTopic(authz.Read, t.Topic) {
				denied[t.Topic] = true
			}
		}
	}
	if code == 0 && req.Version >= 3 {
		code = h.commitAllowed(r.ctx, req.Group, req.MemberID, req.InstanceID, req.Generation)
	}
	if code == 0 {
		var offs []txnOffset
		for _, t := range req.Topics {
			if denied[t.Topic] {
				continue
			}
			for _, p := range t.Partitions {
				o := txnOffset{Topic: t.Topic, Partition: p.Partition, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch}
				if p.Metadata != nil {
					o.Metadata = *p.Metadata
				}
				offs = append(offs, o)
			}
		}
		if len(offs) > 0 {
			code = h.txn(r.ctx, req.TransactionalID, &txnCmd{Op: "offsets",
				ProducerID: req.ProducerID, Epoch: req.ProducerEpoch, Group: req.Group, Offsets: offs}).Code
		}
	}
	for _, t := range req.Topics {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			if !refused && denied[t.Topic] {
				rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
