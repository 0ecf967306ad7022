package kafka

import (
	"math"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId v0-v4. Without a transactional id it serves idempotent
// producers (the default of Java >= 3.0 and librdkafka when asked); v3 lets
// a producer bump its own epoch after a sequence error (KIP-360). With one
// it goes to the transaction coordinator (txns.go), which bumps the id's
// epoch, fencing the previous producer, and aborts a transaction it left.
func init() { register(22, 0, 4, handleInitProducerID) }

func handleInitProducerID(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	// As Kafka since KIP-679: a transactional producer needs WRITE on its
	// id; an idempotent one IDEMPOTENT_WRITE on the cluster or WRITE on
	// some topic.
	switch {
	case req.TransactionalID != nil && !r.allowed(authz.Write, authz.TransactionalID, *req.TransactionalID):
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp, nil
	case req.TransactionalID == nil && !r.allowedCluster(authz.IdempotentWrite) && !r.c.h.opts.Authz.AllowedAny(r.who, authz.Write, authz.Topic):
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	if req.TransactionalID != nil {
		if req.TransactionTimeoutMillis <= 0 || req.TransactionTimeoutMillis > maxTxnTimeoutMs {
			resp.ErrorCode = kerr.InvalidTransactionTimeout.Code
			return resp, nil
		}
		a := h.txn(r.ctx, *req.TransactionalID, &txnCmd{Op: "init", ProducerID: req.ProducerID,
			Epoch: req.ProducerEpoch, NewPID: h.pids.newID(), TimeoutMs: req.TransactionTimeoutMillis})
		resp.ErrorCode = a.Code
		if a.Code == 0 {
			resp.ProducerID, resp.ProducerEpoch = a.ProducerID, a.Epoch
		}
		return resp, nil
	}
	if req.ProducerID >= 0 && req.ProducerEpoch >= 0 && req.ProducerEpoch < math.MaxInt16-1 {
		resp.ProducerID, resp.ProducerEpoch = req.ProducerID, req.ProducerEpoch+1
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = h.pids.newID(), 0
	return resp, nil
}
