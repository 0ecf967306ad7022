package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeTransactions v0 (kafka-transactions.sh describe), as of a tick
// appended to each id's log now.
func init() { register(65, 0, 0, handleDescribeTransactions) }

func handleDescribeTransactions(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	for _, id := range req.TransactionalIDs {
		rs := kmsg.NewDescribeTransactionsResponseTransactionState()
		rs.TransactionalID = id
		if !r.allowed(authz.Describe, authz.TransactionalID, id) {
			rs.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			resp.TransactionStates = append(resp.TransactionStates, rs)
			continue
		}
		t, err := h.txnView(r.ctx, id)
		switch {
		case err != nil:
			rs.ErrorCode = kerr.CoordinatorNotAvailable.Code
		case t == nil || t.ProducerID < 0:
			rs.ErrorCode = kerr.TransactionalIDNotFound.Code
		default:
			rs.State, rs.TimeoutMillis, rs.ProducerID, rs.ProducerEpoch = t.Phase.String(), t.TimeoutMs, t.ProducerID, t.Epoch
			rs.StartTimestamp = -1
			if t.Phase == txnOngoing || t.Phase == txnPrepareCommit || t.Phase == txnPrepareAbort {
				rs.StartTimestamp = t.Started
			}
			for _, p := range t.Parts {
				n := len(rs.Topics)
				if n == 0 || rs.Topics[n-1].Topic != p.Topic {
					rt := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
					rt.Topic = p.Topic
					rs.Topics = append(rs.Topics, rt)
					n++
				}
				rs.Topics[n-1].Partitions = append(rs.Topics[n-1].Partitions, p.Partition)
			}
		}
		resp.TransactionStates = append(resp.TransactionStates, rs)
	}
	return resp, nil
}
