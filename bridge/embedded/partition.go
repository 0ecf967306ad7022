package embedded

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// partition is one ordered log: a partition of a partitioned topic, or a
// non-partitioned topic. Indexes are assigned in send order under mu and
// become readable once the committer made them durable; subscriptions see
// them a little earlier, once written (see written).
type partition struct {
	b     *Backend
	name  string
	topic string
	num   int // -1: not partitioned
	id    uint64

	// The readable extent is atomic so that readers and dispatchers, which
	// hold their own locks, never need mu (see locksordering.txt).
	first   atomic.Int64 // first stored index
	durable atomic.Int64 // indexes below this are durable and readable
	// written: indexes below this are in the store, perhaps not yet synced
	// to disk. Subscriptions deliver up to here, so a subscriber does not
	// wait for the fsync. A crash may then lose a message a subscriber saw,
	// but that message's producer was not yet acknowledged (it sends it
	// again: a duplicate), and no acknowledgement of it can outlive it: a
	// cursor is stored after the message in the same write-ahead log, so a
	// recovered log holding the cursor holds the message. Readers (Kafka
	// fetches, Pulsar readers), whose clients keep positions of their own
	// across a restart, stay at durable: a lost index could be reused.
	written atomic.Int64
	growMu  sync.Mutex
	grown   chan struct{} // closed and replaced when durable advances

	// maintMu serialises what rewrites stored groups below durable:
	// compaction, retention and DeleteBefore.
	maintMu     sync.Mutex
	compactedAt atomic.Int64 // durable when compaction last ran (maintain.go)

	mu          sync.Mutex
	next        int64     // next index to assign
	lastPublish time.Time // publish times never go backwards within a partition
	subs        map[string]*subscription
	deleted     bool
}

func newPartition(b *Backend, name, topic string, num int, id uint64) *partition {
	return &partition{b: b, name: name, topic: topic, num: num, id: id,
		grown: make(chan struct{}), subs: map[string]*subscription{}}
}

// extent returns the readable range and a channel closed when it grows.
func (p *partition) extent() (first, durable int64, grown <-chan struct{}) {
	p.growMu.Lock()
	grown = p.grown
	p.growMu.Unlock()
	// Read after taking the channel: growth after this point closes it.
	return p.first.Load(), p.durable.Load(), grown
}

// publishTime hands out non-decreasing publish times. p.mu is held.
func (p *partition) publishTimeLocked() time.Time {
	now := time.Now()
	if now.Before(p.lastPublish) {
		now = p.lastPublish
	}
	p.lastPublish = now
	return now
}

// advanceWritten marks indexes below next as written and wakes the
// subscriptions.
func (p *partition) advanceWritten(next int64) {
	for {
		w := p.written.Load()
		if next <= w {
			return
		}
		if p.written.CompareAndSwap(w, next) {
			break
		}
	}
	p.wakeSubs()
}

// advance marks indexes below next as durable and wakes readers.
func (p *partition) advance(next int64) {
	p.growMu.Lock()
	if next <= p.durable.Load() {
		p.growMu.Unlock()
		return
	}
	p.durable.Store(next)
	close(p.grown)
	p.grown = make(chan struct{})
	p.growMu.Unlock()
	p.advanceWritten(next)
}

func (p *partition) wakeSubs() {
	p.mu.Lock()
	subs := p.subsLocked()
	p.mu.Unlock()
	for _, s := range subs {
		s.wake()
	}
}

func (p *partition) subsLocked() []*subscription {
	out := make([]*subscription, 0, len(p.subs))
	for _, s := range p.subs {
		out = append(out, s)
	}
	return out
}

// shutdown stops the partition's subscriptions (backend close or delete).
func (p *partition) shutdown() {
	p.mu.Lock()
	subs := p.subsLocked()
	p.mu.Unlock()
	for _, s := range subs {
		s.stop()
	}
}

// messageID is the embedded backend's position: the partition and index.
type messageID struct {
	topic string
	part  int
	index int64
}

func (id messageID) Index() int64   { return id.index }
func (id messageID) Partition() int { return id.part }
func (id messageID) String() string { return fmt.Sprintf("%s:%d", id.topic, id.index) }

// subscribe returns the partition's subscription of that name, creating it
// at the initial position when it does not exist.
func (p *partition) subscribe(opts bridge.SubscribeOptions, pos bridge.InitialPosition) (*subscription, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deleted {
		return nil, fmt.Errorf("%w: %s", bridge.ErrTopicNotFound, p.name)
	}
	if s, ok := p.subs[opts.Subscription]; ok {
		return s, nil
	}
	// Latest is what is written: a subscriber already saw the rest. A durable
	// cursor written at start, synced, makes those messages durable too.
	start := p.written.Load()
	if pos == bridge.Earliest {
		start = p.first.Load()
	}
	return p.addSubscriptionLocked(opts.Subscription, opts.Type, !opts.NonDurable, start)
}

// addSubscriptionLocked creates a subscription whose first message is start.
// A durable one is written at once, so it outlives a restart even before
// its first acknowledgement.
func (p *partition) addSubscriptionLocked(name string, typ bridge.SubscriptionType, durable bool, start int64) (*subscription, error) {
	s := newSubscription(p, name, typ, durable)
	s.ackedUpTo, s.readPos = start, start
	if durable {
		c := &cursor{Type: int(typ), AckedUpTo: start}
		if err := p.b.set(cursorKey(p.id, name), appendCursor(nil, c)); err != nil {
			return nil, err
		}
	}
	p.subs[name] = s
	return s, nil
}

// dropIfIdle removes a non-durable subscription, or one whose creation
// failed half way, once no consumer is attached.
func (p *partition) dropIfIdle(s *subscription) {
	if s.consumerCount() > 0 || s.durable {
		return
	}
	p.mu.Lock()
	if p.subs[s.name] == s {
		delete(p.subs, s.name)
	}
	p.mu.Unlock()
	s.stop()
}

// deleteSubscription removes a subscription and its stored cursor.
func (p *partition) deleteSubscription(name string, force bool) error {
	p.mu.Lock()
	s, ok := p.subs[name]
	if !ok {
		p.mu.Unlock()
		return fmt.Errorf("%w: %s on %s", bridge.ErrSubscriptionNotFound, name, p.name)
	}
	if !force && s.consumerCount() > 0 {
		p.mu.Unlock()
		return fmt.Errorf("%w: %s on %s", bridge.ErrSubscriptionBusy, name, p.name)
	}
	delete(p.subs, name)
	p.mu.Unlock()
	s.stop()
	p.b.cursors.forget(s)
	return p.b.del(cursorKey(p.id, name))
}

// subscription finds a subscription by name.
func (p *partition) subscription(name string) (*subscription, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.subs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s on %s", bridge.ErrSubscriptionNotFound, name, p.name)
	}
	return s, nil
}
