package kafka

import (
	"slices"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListTransactions v0-v1 (kafka-transactions.sh list), from the
// snapshots every gateway shares: each id as of its last change of state.
func init() { register(66, 0, 1, handleListTransactions) }

func handleListTransactions(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	known := map[string]bool{}
	for p := range txnEmpty.all() {
		known[p.String()] = true
	}
	for _, f := range req.StateFilters {
		if !known[f] {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, f)
		}
	}
	now := time.Now().UnixMilli()
	h.eachTxn(func(id string, t *txnState) {
		if t.ProducerID < 0 || !r.allowed(authz.Describe, authz.TransactionalID, id) {
			return
		}
		switch {
		case len(req.StateFilters) > 0 && !slices.Contains(req.StateFilters, t.Phase.String()):
		case len(req.ProducerIDFilters) > 0 && !slices.Contains(req.ProducerIDFilters, t.ProducerID):
		case req.DurationFilterMillis >= 0 && req.Version >= 1 && (t.Phase != txnOngoing || now-t.Started < req.DurationFilterMillis):
		default:
			st := kmsg.NewListTransactionsResponseTransactionState()
			st.TransactionalID, st.ProducerID, st.TransactionState = id, t.ProducerID, t.Phase.String()
			resp.TransactionStates = append(resp.TransactionStates, st)
		}
	})
	return resp, nil
}
