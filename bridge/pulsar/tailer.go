package pulsar

import (
	"context"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// tailer is one reader at the tail of a partition that learns each entry's
// index as it passes. It exists because a send receipt carries no index:
// a produce callback waits for its receipt AND for the tailer to have seen
// the receipt's entry, then reports index = entry's first index + batch
// position.
//
// Why this and not "probe the entry after each receipt" (one admin HTTP GET
// per entry): the tailer costs one extra read of what is written, streamed
// and batched like any consumer, while per-entry probes cost a round trip
// each and load the broker's admin path. Probes remain the fallback for an
// entry the tailer cannot see (written before the tailer started, or not
// seen within fallbackAfter).
//
// A tailer starts lazily, inclusive at the first receipt's entry of its
// partition, so it never needs to be running before a message is sent, and
// it is shared by every producer of this backend on that partition.
type tailer struct {
	b         *Backend
	name      string
	tn        bridge.TopicName
	partition int
	start     pos

	mu      sync.Mutex
	recent  map[pos]entryInfo // bounded: the last recentMax entries
	order   []pos
	waiters map[pos][]chan entryInfo
	refs    int

	r      pulsar.Reader
	cancel context.CancelFunc
	done   chan struct{}
}

const (
	recentMax     = 8192
	fallbackAfter = 3 * time.Second
)

// acquireTailer returns the partition's tailer, starting it at p when new.
func (b *Backend) acquireTailer(name string, partition int, p pos) (*tailer, error) {
	// No closed check: Backend.Close flushes producers, whose callbacks
	// may need a tailer, before it stops the tailers.
	b.mu.Lock()
	if t := b.tailers[name]; t != nil {
		t.refs++
		b.mu.Unlock()
		return t, nil
	}
	tn, _ := bridge.ParseTopic(name)
	t := &tailer{b: b, name: name, tn: tn, partition: partition, start: p, refs: 1,
		recent: map[pos]entryInfo{}, waiters: map[pos][]chan entryInfo{}, done: make(chan struct{})}
	b.tailers[name] = t
	b.mu.Unlock()
	r, err := b.client.CreateReader(pulsar.ReaderOptions{
		Topic:                   name,
		StartMessageID:          pulsar.NewMessageID(p.ledger, p.entry, -1, max(int32(partition), 0)),
		StartMessageIDInclusive: true,
		ReceiverQueueSize:       2000,
	})
	if err != nil {
		b.mu.Lock()
		delete(b.tailers, name)
		b.mu.Unlock()
		close(t.done)
		return nil, mapErr(err, topicScope, "tail reader of "+name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.r, t.cancel = r, cancel
	go t.run(ctx)
	return t, nil
}

// release drops a reference; the last one stops the tailer.
func (t *tailer) release() {
	b := t.b
	b.mu.Lock()
	t.refs--
	last := t.refs == 0 && b.tailers[t.name] == t
	if last {
		delete(b.tailers, t.name)
	}
	b.mu.Unlock()
	if last {
		t.stop()
	}
}

func (t *tailer) stop() {
	if t.cancel != nil {
		t.cancel()
		<-t.done
		t.r.Close()
	}
}

func (t *tailer) run(ctx context.Context) {
	defer close(t.done)
	for {
		m, err := t.r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			t.b.log.Debug("tail reader", zapTopic(t.name), zapErr(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		e, ok := entryOf(m)
		if !ok {
			continue
		}
		t.seen(e)
	}
}

// entryOf derives the entry a message belongs to from its index and batch
// position: the first message of a batch has index first(), the entry's
// last message last().
func entryOf(m pulsar.Message) (entryInfo, bool) {
	ix := m.Index()
	if ix == nil {
		return entryInfo{}, false
	}
	id := m.ID()
	e := entryInfo{pos: pos{id.LedgerID(), id.EntryID()}, last: int64(*ix), count: 1, publish: m.PublishTime()}
	if n, bi := id.BatchSize(), id.BatchIdx(); n > 1 && bi >= 0 {
		e.count = int64(n)
		e.last = int64(*ix) - int64(bi) + int64(n) - 1
	}
	return e, true
}

func (t *tailer) seen(e entryInfo) {
	t.mu.Lock()
	if _, ok := t.recent[e.pos]; !ok {
		t.recent[e.pos] = e
		t.order = append(t.order, e.pos)
		if len(t.order) > recentMax {
			delete(t.recent, t.order[0])
			t.order = t.order[1:]
		}
	}
	ws := t.waiters[e.pos]
	delete(t.waiters, e.pos)
	t.mu.Unlock()
	t.b.index.learn(t.name, e)
	for _, w := range ws {
		w <- e
	}
}

// entry returns the entry at p once the tailer saw it, falling back to an
// admin probe when p precedes the tailer's start or the wait is long.
func (t *tailer) entry(ctx context.Context, p pos) (entryInfo, error) {
	t.mu.Lock()
	if e, ok := t.recent[p]; ok {
		t.mu.Unlock()
		return e, nil
	}
	if p.ledger < t.start.ledger || p.ledger == t.start.ledger && p.entry < t.start.entry {
		t.mu.Unlock()
		return t.b.probeEntry(ctx, t.tn, p)
	}
	w := make(chan entryInfo, 1)
	t.waiters[p] = append(t.waiters[p], w)
	t.mu.Unlock()
	timer := time.NewTimer(fallbackAfter)
	defer timer.Stop()
	for {
		select {
		case e := <-w:
			return e, nil
		case <-timer.C:
			if e, err := t.b.probeEntry(ctx, t.tn, p); err == nil {
				return e, nil
			}
			timer.Reset(fallbackAfter)
		case <-ctx.Done():
			return entryInfo{}, ctx.Err()
		}
	}
}
