package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
)

// The transaction coordinator: txns.go's state machine behind the
// coordinator logs, the jobs its answers hand out, and the sweep that
// aborts transactions past their timeout.
const (
	txnTable     = "kafka-txns"
	txnLogPrefix = "__pgw-kafka-txn-"
	// A prepared transaction whose ender did not complete it in this long
	// is completed by the sweep of any gateway.
	txnStuckAfter = 10 * time.Second
	txnSweepEvery = 2 * time.Second
	// txnPartTable marks every partition a transaction ever wrote to, so
	// that a reader knows to work out its last stable offset (txnindex.go).
	txnPartTable = "kafka-txn-partitions"
)

// txn runs a coordinator command for a transactional id, and the job its
// answer carries; a job's failure answers the retriable
// COORDINATOR_NOT_AVAILABLE, and the transaction stays prepared for the
// client's retry or the sweep.
func (h *Handler) txn(ctx context.Context, id string, cmd *txnCmd) txnAnswer {
	resp, err := h.txns.do(ctx, &groupCmd{Kind: "txn", Group: id, Txn: cmd})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return txnAnswer{Code: kerr.RequestTimedOut.Code}
		}
		return txnAnswer{Code: kerr.CoordinatorNotAvailable.Code}
	}
	a := resp.(txnAnswer)
	if a.Job != nil {
		if err := h.endTxn(ctx, id, a.Job); err != nil {
			h.log.Debug("ending a transaction", zap.String("transactional.id", id), zap.Error(err))
			if a.Code == 0 {
				a.Code = kerr.CoordinatorNotAvailable.Code
			}
		}
		a.Job = nil
	}
	return a
}

// endTxn ends a prepared transaction's records (in the store, or by
// writing its markers) and, when it commits, applies its offsets, then
// completes it.
func (h *Handler) endTxn(ctx context.Context, id string, j *txnJob) error {
	if err := h.endRecords(ctx, j); err != nil {
		return err
	}
	if j.Commit {
		for group, offs := range j.Offsets {
			for _, o := range offs {
				if err := h.offsets.commit(ctx, group, o.Topic, o.Partition,
					committed{offset: o.Offset, leaderEpoch: o.LeaderEpoch, metadata: o.Metadata}); err != nil {
					return err
				}
				if h.mirror != nil {
					h.mirror.Note(group, o.Topic, int(o.Partition), o.Offset)
				}
			}
		}
	}
	_, err := h.txns.do(ctx, &groupCmd{Kind: "txn", Group: id,
		Txn: &txnCmd{Op: "complete", ProducerID: j.ProducerID, Epoch: j.Epoch}})
	return err
}

// sweepTxns aborts, every txnSweepEvery, the transactions past their
// timeout and completes the prepared ones left behind, as the snapshots
// show them; the log decides, so gateways sweeping at once do no harm.
func (h *Handler) sweepTxns(quit <-chan struct{}) {
	t := time.NewTicker(txnSweepEvery)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		now := time.Now().UnixMilli()
		var due []string
		h.eachTxn(func(id string, t *txnState) {
			switch t.Phase {
			case txnOngoing:
				if now >= t.timesOutAt() {
					due = append(due, id)
				}
			case txnPrepareCommit, txnPrepareAbort:
				if now-t.Updated >= txnStuckAfter.Milliseconds() {
					due = append(due, id)
				}
			}
		})
		for _, id := range due {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			h.txn(ctx, id, &txnCmd{Op: "timeout"})
			cancel()
		}
	}
}

// eachTxn calls f with every transactional id's state as its last snapshot
// (shared by every gateway) has it.
func (h *Handler) eachTxn(f func(id string, t *txnState)) {
	h.txns.snaps.Range("", func(id string, v []byte) bool {
		var s snapshot
		if json.Unmarshal(v, &s) == nil && s.Group != nil && s.Group.Txn != nil {
			f(id, s.Group.Txn)
		}
		return true
	})
}

// txnView is a transactional id's state as this gateway's copy of its log
// has it after a tick appended now; nil if it has none.
func (h *Handler) txnView(ctx context.Context, id string) (*txnState, error) {
	if _, err := h.txns.do(ctx, &groupCmd{Kind: "tick", Group: id}); err != nil {
		return nil, err
	}
	return h.txnPeek(ctx, id)
}

// txnPeek is the state as this gateway's copy has it, without a tick: the
// log is opened (and caught up to its snapshot) if it is not followed yet.
func (h *Handler) txnPeek(ctx context.Context, id string) (*txnState, error) {
	l, err := h.txns.open(ctx, id)
	if err != nil {
		return nil, err
	}
	defer h.txns.release(l)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.g.Txn == nil {
		return nil, nil
	}
	c := *l.g.Txn
	return &c, nil
}

// txnWriteAllowed checks a transactional batch against its transaction:
// the producer's current epoch, the transaction open, the partition added.
// This gateway's copy of the log is asked first; a refusal is confirmed
// against the log as of now, as the AddPartitionsToTxn may have gone
// through another gateway a moment ago.
func (h *Handler) txnWriteAllowed(ctx context.Context, id, partition string, b *recordbatch.Batch) (int16, *bridge.TxnID) {
	code := int16(0)
	for _, look := range []func(context.Context, string) (*txnState, error){h.txnPeek, h.txnView} {
		t, err := look(ctx, id)
		switch {
		case err != nil:
			code = kerr.CoordinatorNotAvailable.Code
		case t == nil || t.ProducerID != b.ProducerID:
			code = kerr.InvalidProducerIDMapping.Code
		case t.Epoch != b.ProducerEpoch:
			code = kerr.InvalidProducerEpoch.Code
		case t.Phase != txnOngoing || !slices.ContainsFunc(t.Parts, func(p txnPart) bool { return p.Name == partition }):
			code = kerr.InvalidTxnState.Code
		case h.storeTxns != nil && t.StoreTxn == nil:
			// Added through a gateway writing markers: a configuration
			// the gateways do not share.
			code = kerr.InvalidTxnState.Code
		default:
			return 0, t.StoreTxn
		}
	}
	return code, nil
}

// unstableOffsets lists a group's partitions with offsets in a transaction
// not yet ended, as the shared snapshots show them (KIP-447: a consumer
// asking with require_stable waits for them).
func (h *Handler) unstableOffsets(group string) map[partKey]bool {
	var out map[partKey]bool
	h.eachTxn(func(_ string, t *txnState) {
		if t.Phase != txnOngoing && t.Phase != txnPrepareCommit {
			return
		}
		for _, o := range t.Offsets[group] {
			if out == nil {
				out = map[partKey]bool{}
			}
			out[partKey{o.Topic, o.Partition}] = true
		}
	})
	return out
}
