package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Kafka transactions held in the store's own transactions
// (bridge.Transactions; on Pulsar, the broker's coordinator and
// transaction buffer): the store keeps a transaction's records from every
// reader until it commits, and never delivers them if it aborts, so native
// Pulsar consumers and MQTT subscribers get what read_committed gets. The
// Kafka coordinator (txns.go) stays the one Kafka clients talk to; it
// begins a store transaction with a transaction's first partition and ends
// it where it would write markers. docs/transactions.md.

// storeTxnGrace is how much longer than the Kafka transaction's timeout the
// store keeps it before aborting it by itself: the sweep aborts it first,
// and completes a prepared one within txnStuckAfter.
const storeTxnGrace = time.Minute

// Marks of txnPartTable: what a partition's transactions were written as.
var (
	markMarkers  = []byte{1} // records tagged and markers (txnindex)
	markStoreTxn = []byte{2} // records in store transactions
)

// storeMode picks where transactions live: the store's own when the backend
// has them, unless mode says markers.
func storeMode(ctx context.Context, b bridge.Backend, mode string) (bridge.Transactions, error) {
	ts, ok := b.(bridge.Transactions)
	if mode == "markers" {
		return nil, nil
	}
	if bridge.ActingAs(b, "-") != "" {
		// A store transaction's records go over the gateway's own
		// connections, not as the client: markers then (every gateway on
		// the store must act as its clients alike).
		if mode == "store" {
			return nil, errors.New("kafka: transactions: store writes as the gateway, not as each client: use markers with pulsar.act_as_clients")
		}
		return nil, nil
	}
	if ok {
		avail, err := ts.TxnsAvailable(ctx)
		if err != nil {
			return nil, err
		}
		if avail {
			return ts, nil
		}
	}
	if mode == "store" {
		return nil, errors.New("kafka: transactions: store, but the backend has no transactions (Pulsar: transactionCoordinatorEnabled=false)")
	}
	return nil, nil
}

// storeTxnFor begins a store transaction for an AddPartitionsToTxn when the
// transaction, as this gateway sees it, has none yet; nil when it has one
// or when the command will be refused anyway. The coordinator keeps the
// first it hears of; one begun for nothing the store aborts after its ttl.
func (h *Handler) storeTxnFor(ctx context.Context, id string, pid int64, epoch int16) (*bridge.TxnID, error) {
	t, err := h.txnPeek(ctx, id)
	if err != nil {
		return nil, err
	}
	if t == nil || t.ProducerID != pid || t.Epoch != epoch || (t.Phase == txnOngoing && t.StoreTxn != nil) {
		return nil, nil
	}
	tid, err := h.storeTxns.BeginTxn(ctx, time.Duration(t.TimeoutMs)*time.Millisecond+storeTxnGrace)
	if err != nil {
		return nil, err
	}
	return &tid, nil
}

// addStoreParts adds partitions to the store transaction the coordinator
// answered with, before the client may produce to them.
func (h *Handler) addStoreParts(ctx context.Context, tid *bridge.TxnID, parts []txnPart) int16 {
	if tid == nil {
		// Begun elsewhere a moment ago, or the peek was stale: the
		// client's retry begins one.
		return kerr.CoordinatorNotAvailable.Code
	}
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = p.Name
	}
	err := h.storeTxns.AddTxnPartitions(ctx, *tid, names)
	if errors.Is(err, bridge.ErrTxnUnknown) {
		return kerr.InvalidTxnState.Code // the store gave up on it
	}
	if err != nil {
		return errorCode(err)
	}
	return 0
}

// endRecords ends a prepared transaction's records: in the store, or by
// writing markers.
func (h *Handler) endRecords(ctx context.Context, j *txnJob) error {
	if j.StoreTxn == nil {
		if len(j.Parts) == 0 {
			return nil
		}
		return h.writeMarkers(ctx, j)
	}
	err := h.storeTxns.EndTxn(ctx, *j.StoreTxn, j.Commit)
	if errors.Is(err, bridge.ErrTxnUnknown) {
		// A retry of an end that went through, or (an abort) one the
		// store timed out.
		if j.Commit {
			h.log.Warn("the store no longer knows a transaction being committed; taking it as committed",
				zap.Int64("producer.id", j.ProducerID), zap.String("store.txn", fmt.Sprint(*j.StoreTxn)))
		}
		err = nil
	}
	if err != nil {
		return err
	}
	for _, p := range j.Parts {
		h.extents.forget(p.Name) // its readable end moved
	}
	return nil
}

// indexRange is a partition's stored range as Kafka readers see it. With
// store transactions, a partition that had one ends where a reader can
// read now: before an open transaction, past no aborted record or marker
// (which the store does not deliver, so no reader could reach the end).
func (h *Handler) indexRange(ctx context.Context, partition string) (bridge.IndexRange, error) {
	rng, err := h.b.Admin().IndexRange(ctx, partition)
	if err != nil || !h.readableEndApplies(partition) {
		return rng, err
	}
	end, err := h.storeTxns.ReadableEnd(ctx, partition)
	if err != nil {
		return rng, err
	}
	rng.Next = max(min(end, rng.Next), rng.First)
	return rng, nil
}

// readableEndApplies: the partition's end is its readable end, not its
// last stored record (store transactions, and the partition had one).
func (h *Handler) readableEndApplies(partition string) bool {
	if h.storeTxns == nil {
		return false
	}
	_, marked := h.txnParts.Get(partition)
	return marked
}
