package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// EndTxn v0-v3. The answer comes once the markers are written and the
// offsets applied: a read_committed reader asked after it sees the
// outcome, whichever gateway it asks.
func init() { register(26, 0, 3, handleEndTxn) }

func handleEndTxn(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.EndTxnRequest)
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	if !r.allowed(authz.Write, authz.TransactionalID, req.TransactionalID) {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp, nil
	}
	resp.ErrorCode = h.txn(r.ctx, req.TransactionalID, &txnCmd{Op: "end",
		ProducerID: req.ProducerID, Epoch: req.ProducerEpoch, Commit: req.Commit}).Code
	return resp, nil
}
