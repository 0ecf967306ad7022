package pulsar

import (
	"context"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// tailer is one reader at the tail of a partition that learns each entry's
// index as it passes. It exists because a send receipt carries no index.
// Most receipts need no tailer (see producer.resolve): when a receipt's
// entry directly follows the producer's previous entry in the same ledger,
// nobody wrote between them and its index is the previous last index plus
// the receipt's batch size. Otherwise (first receipt, new ledger, another
// producer's entries in between) an admin probe answers, and a producer that
// needs more than a few probes a minute on a partition starts the tailer
// there: its callback then waits for its receipt AND for the tailer to have
// seen the receipt's entry, and reports entry's first index + batch
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
	recentMax = 8192
	// tailQueue is the tail reader's flow window in messages: wide enough
	// that the broker never waits for permits while producers are busy.
	tailQueue     = 20000
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
		ReceiverQueueSize:       tailQueue,
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
	lastPos := pos{-1, -1}
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
		id := m.ID()
		if cur := (pos{id.LedgerID(), id.EntryID()}); cur == lastPos {
			continue // another message of the entry just seen
		} else {
			lastPos = cur
		}
		e, ok := entryOf(m)
		if !ok {
			lastPos = pos{-1, -1}
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

// lookup returns the entry at p when the tailer has seen it.
func (t *tailer) lookup(p pos) (entryInfo, bool) {
	t.mu.Lock()
	e, ok := t.recent[p]
	t.mu.Unlock()
	return e, ok
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
