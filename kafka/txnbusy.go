package kafka

import (
	"context"
	"sync"
	"time"
)

// A transaction's records may take the store longer to write than the
// transaction's timeout: Pulsar's transaction buffer takes one entry at a
// time (docs/transactions.md), and a Kafka Streams app catching up after
// a restart sends large transactions with a 10 s timeout. Kafka's
// coordinator would not abort those (Kafka writes them at once), so
// while this gateway still writes records of a transaction it tells the
// coordinator so when it starts and every txnAliveEvery after; the timeout
// then counts from the last such word (txnState.Alive), which is never
// older than txnAliveEvery plus a log append while the writes last (so
// timeouts down to about a second hold). A producer that went away writes
// nothing, so its transaction still times out.
const txnAliveEvery = 250 * time.Millisecond

// txnBusy counts, per transactional id, the batches this gateway is
// writing for it.
type txnBusy struct {
	mu   sync.Mutex
	n    map[string]*busyTxn
	kick chan struct{} // a transaction became busy: say so now
}

type busyTxn struct {
	pid     int64
	epoch   int16
	writing int
}

// track counts one batch of a transaction from before send is called (it
// may block while the store takes the batch) until its result is read.
func (b *txnBusy) track(id string, pid int64, epoch int16, send func() <-chan sendResult) <-chan sendResult {
	b.mu.Lock()
	if b.n == nil {
		b.n = map[string]*busyTxn{}
	}
	t := b.n[id]
	fresh := t == nil || t.pid != pid || t.epoch != epoch
	if fresh {
		t = &busyTxn{pid: pid, epoch: epoch, writing: t.count()}
		b.n[id] = t
	}
	t.writing++
	b.mu.Unlock()
	if fresh {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	done := send()
	out := make(chan sendResult, 1)
	go func() {
		res := <-done
		b.mu.Lock()
		if t.writing--; t.writing == 0 && b.n[id] == t {
			delete(b.n, id)
		}
		b.mu.Unlock()
		out <- res
	}()
	return out
}

func (t *busyTxn) count() int {
	if t == nil {
		return 0
	}
	return t.writing
}

// busy lists the transactions being written now.
func (b *txnBusy) busy() map[string]busyTxn {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]busyTxn, len(b.n))
	for id, t := range b.n {
		out[id] = *t
	}
	return out
}

// keepTxnsAlive tells the coordinator, every txnAliveEvery, which
// transactions this gateway is still writing.
func (h *Handler) keepTxnsAlive(quit <-chan struct{}) {
	t := time.NewTicker(txnAliveEvery)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		case <-h.txnBusy.kick:
		}
		for id, b := range h.txnBusy.busy() {
			ctx, cancel := context.WithTimeout(context.Background(), txnAliveEvery)
			h.txns.do(ctx, &groupCmd{Kind: "txn", Group: id, Txn: &txnCmd{Op: "alive", ProducerID: b.pid, Epoch: b.epoch}})
			cancel()
		}
	}
}
