package kafka

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// EndTxn v0-v3. The answer comes once the markers are written and the
// offsets applied: a read_committed reader asked after it sees the
// outcome, whichever gateway it asks.
func init() { register(26, 0, 3, handleEndTxn) }

func handleEndTxn(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.EndTxnRequest)
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ErrorCode = h.txn(r.ctx, req.TransactionalID, &txnCmd{Op: "end",
		ProducerID: req.ProducerID, Epoch: req.ProducerEpoch, Commit: req.Commit}).Code
	return resp, nil
}
