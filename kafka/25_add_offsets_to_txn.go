package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AddOffsetsToTxn v0-v3: the group whose offsets the transaction commits.
func init() { register(25, 0, 3, handleAddOffsetsToTxn) }

func handleAddOffsetsToTxn(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AddOffsetsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	switch {
	case !r.allowed(authz.Write, authz.TransactionalID, req.TransactionalID):
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp, nil
	case !r.allowed(authz.Read, authz.Group, req.Group):
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}
	resp.ErrorCode = h.txn(r.ctx, req.TransactionalID, &txnCmd{Op: "add-offsets",
		ProducerID: req.ProducerID, Epoch: req.ProducerEpoch, Group: req.Group}).Code
	return resp, nil
}
