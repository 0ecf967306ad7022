package embedded

import (
	"errors"
	"hash/fnv"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// readBatch is how many messages a dispatcher reads from the store at once,
// rounded up to whole groups.
const readBatch = 256

// maxDeferred bounds Key_Shared messages held back for a full consumer
// before the dispatcher stops reading ahead.
const maxDeferred = 1000

// blockedPoll is how often a dispatcher retries consumers whose queues were
// full, should their wake-up (consumer.taken) not come.
const blockedPoll = 5 * time.Millisecond

// subscription is one subscription on one partition: its cursor (what is
// acknowledged), what is out with consumers, and the dispatcher that hands
// messages to consumers by the subscription's type.
type subscription struct {
	p       *partition
	name    string
	typ     bridge.SubscriptionType
	durable bool

	// epoch changes when queued deliveries become void (seek, failover
	// switch); consumers drop deliveries of an older epoch.
	epoch atomic.Uint64
	wakeC chan struct{}
	// running: a dispatcher goroutine runs. It ends when it has nothing to
	// do (an idle subscription holds no goroutine) and wake starts one.
	running atomic.Bool

	mu        sync.Mutex
	ackedUpTo int64               // every index below is acknowledged
	acked     map[int64]struct{}  // acknowledged indexes >= ackedUpTo
	readPos   int64               // next index to read for a first delivery
	ahead     []*bridge.Message   // read from readPos on, not yet offered
	pending   map[int64]*consumer // delivered and not yet acknowledged
	redeliver map[int64]struct{}  // to deliver again, before new messages
	counts    map[int64]int       // redelivery counts
	consumers []*consumer         // in order of attachment
	stopped   bool
	dirty     bool // cursor changed since last written
}

func newSubscription(p *partition, name string, typ bridge.SubscriptionType, durable bool) *subscription {
	return &subscription{p: p, name: name, typ: typ, durable: durable,
		wakeC: make(chan struct{}, 1), acked: map[int64]struct{}{},
		pending: map[int64]*consumer{}, redeliver: map[int64]struct{}{}, counts: map[int64]int{}}
}

func (s *subscription) restore(c *cursor) {
	s.ackedUpTo = c.AckedUpTo
	s.readPos = c.AckedUpTo
	for _, i := range c.Acked {
		s.acked[i] = struct{}{}
	}
}

// snapshot is the cursor to store. s.mu is held.
func (s *subscription) snapshotLocked() *cursor {
	c := &cursor{Type: int(s.typ), AckedUpTo: s.ackedUpTo}
	for i := range s.acked {
		c.Acked = append(c.Acked, i)
	}
	sort.Slice(c.Acked, func(a, b int) bool { return c.Acked[a] < c.Acked[b] })
	return c
}

// wake has the dispatcher look again, starting it if it ended. The token
// goes first: a dispatcher that is ending looks for it after it cleared
// running (dispatchLoop).
func (s *subscription) wake() {
	select {
	case s.wakeC <- struct{}{}:
	default:
	}
	if s.running.CompareAndSwap(false, true) {
		go s.dispatchLoop()
	}
}

// attach adds a consumer, checking the subscription type's rules.
func (s *subscription) attach(c *consumer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return bridge.ErrClosed
	}
	if len(s.consumers) > 0 {
		if s.typ != c.opts.Type || s.typ == bridge.Exclusive {
			return bridge.ErrConsumerBusy
		}
	} else if s.typ != c.opts.Type {
		s.typ = c.opts.Type
		// Through markDirtyLocked, never by setting dirty: a dirty
		// subscription the flusher was not told of is never written again,
		// and every later ack would be lost at a restart.
		s.markDirtyLocked()
	}
	before := s.failoverActiveLocked()
	s.consumers = append(s.consumers, c)
	s.membershipChangedLocked(before)
	s.wake()
	return nil
}

// detach removes a consumer; what it held unacknowledged is delivered again.
// It reports whether the subscription is left without consumers.
func (s *subscription) detach(c *consumer) (empty bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	before := s.failoverActiveLocked()
	for i, x := range s.consumers {
		if x == c {
			s.consumers = append(s.consumers[:i], s.consumers[i+1:]...)
			break
		}
	}
	for idx, holder := range s.pending {
		if holder == c {
			delete(s.pending, idx)
			s.redeliver[idx] = struct{}{}
			s.counts[idx]++
		}
	}
	s.membershipChangedLocked(before)
	s.wake()
	return len(s.consumers) == 0
}

// membershipChangedLocked: when a Failover partition's active consumer
// changes, the new one takes over everything unacknowledged, in order.
func (s *subscription) membershipChangedLocked(before *consumer) {
	if s.typ != bridge.Failover || s.failoverActiveLocked() == before {
		return
	}
	s.voidDeliveriesLocked()
}

// voidDeliveriesLocked makes everything out with consumers deliverable
// again and drops what still waits in their queues.
func (s *subscription) voidDeliveriesLocked() {
	for idx := range s.pending {
		s.redeliver[idx] = struct{}{}
	}
	s.pending = map[int64]*consumer{}
	s.epoch.Add(1)
}

// failoverActiveLocked is the consumer that owns this partition: consumers
// sorted by name, partition number modulo their count (Pulsar's rule).
func (s *subscription) failoverActiveLocked() *consumer {
	if s.typ != bridge.Failover || len(s.consumers) == 0 {
		return nil
	}
	sorted := append([]*consumer(nil), s.consumers...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	n := s.p.num
	if n < 0 {
		n = 0
	}
	return sorted[n%len(sorted)]
}

// keyOwnerLocked maps a key to a consumer by consistent hashing over
// consumer names, so a key keeps its consumer while membership is stable.
func (s *subscription) keyOwnerLocked(key []byte) *consumer {
	kh := hash32(key)
	var best *consumer
	var bestDist uint32
	for _, c := range s.consumers {
		for _, point := range c.ringPoints {
			if d := point - kh; best == nil || d < bestDist {
				best, bestDist = c, d
			}
		}
	}
	return best
}

// dispatchLoop runs while the subscription has something to hand out or
// consumers whose full queues hold it back; wake starts it again.
func (s *subscription) dispatchLoop() {
	var timer *time.Timer // only while blocked
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		blocked, alive := s.dispatch()
		if !alive || !blocked {
			// Nothing to do: end, unless a wake came in the meantime
			// (its waker saw running still set and started none).
			s.running.Store(false)
			select {
			case <-s.wakeC:
				if s.running.CompareAndSwap(false, true) {
					continue
				}
			default:
			}
			return
		}
		// Held back by a full queue: look again when woken, or soon.
		if timer == nil {
			timer = time.NewTimer(blockedPoll)
		} else {
			timer.Reset(blockedPoll)
		}
		select {
		case <-s.wakeC:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// dispatch hands out what it can: redeliveries first, in index order, then
// new messages. It reports whether a consumer's full queue held it back and
// whether the loop should go on.
func (s *subscription) dispatch() (blocked, alive bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || len(s.consumers) == 0 {
		s.ahead = nil // an idle subscription holds no messages
		return false, false
	}
	if len(s.redeliver) > 0 && s.redeliverLocked() {
		blocked = true
		if s.typ != bridge.KeyShared {
			return true, true // redeliveries go first and in order
		}
	}
	for {
		if err := s.readAheadLocked(); err != nil {
			s.logReadError(s.readPos, err)
			return true, true
		}
		if len(s.ahead) == 0 {
			return blocked, true
		}
		for len(s.ahead) > 0 {
			if s.typ == bridge.KeyShared && len(s.redeliver) >= maxDeferred {
				return true, true
			}
			m := s.ahead[0]
			if !s.isAckedLocked(m.Index) && !s.offerLocked(m) {
				if s.typ != bridge.KeyShared {
					return true, true // readPos stays: this message goes first next time
				}
				s.redeliver[m.Index] = struct{}{} // held back for its key's consumer
				blocked = true
			}
			s.ahead[0] = nil
			s.ahead = s.ahead[1:]
			s.readPos = m.Index + 1
		}
	}
}

// redeliverLocked offers what is to be delivered again, in index order, and
// reports whether a full queue held one back. Only Key_Shared goes on past
// that one (other keys may have room).
func (s *subscription) redeliverLocked() (blocked bool) {
	idxs := make([]int64, 0, len(s.redeliver))
	for i := range s.redeliver {
		idxs = append(idxs, i)
	}
	sort.Slice(idxs, func(a, b int) bool { return idxs[a] < idxs[b] })
	var f *finder // one for the pass: neighbours share a group
	defer func() {
		if f != nil {
			f.close()
		}
	}()
	for _, idx := range idxs {
		if s.isAckedLocked(idx) {
			delete(s.redeliver, idx)
			delete(s.counts, idx)
			continue
		}
		var m *bridge.Message
		var err error
		if f == nil {
			f, err = s.p.newFinder(s.p.written.Load())
		}
		if err == nil {
			m, err = f.get(idx)
		}
		if err != nil {
			// compacted away: nothing to deliver; closing: redelivered after
			// the restart, as the cursor never moved past it
			if !errors.Is(err, errGone) && !errors.Is(err, bridge.ErrClosed) {
				s.logReadError(idx, err)
			}
			delete(s.redeliver, idx)
			continue
		}
		if s.offerLocked(m) {
			delete(s.redeliver, idx)
			continue
		}
		blocked = true
		if s.typ != bridge.KeyShared {
			return true
		}
	}
	return blocked
}

// readAheadLocked drops read-ahead messages the cursor has moved past and,
// when none is left, reads the next groups from readPos.
func (s *subscription) readAheadLocked() error {
	for len(s.ahead) > 0 && s.ahead[0].Index < s.readPos {
		s.ahead[0] = nil
		s.ahead = s.ahead[1:]
	}
	if len(s.ahead) > 0 {
		return nil
	}
	msgs, err := s.p.readWritten(s.readPos, readBatch)
	if err != nil {
		return err
	}
	s.ahead = msgs
	return nil
}

func (s *subscription) isAckedLocked(idx int64) bool {
	if idx < s.ackedUpTo {
		return true
	}
	_, ok := s.acked[idx]
	return ok
}

// offerLocked gives a message to the consumer the type picks, if its queue
// has room.
func (s *subscription) offerLocked(m *bridge.Message) bool {
	m.RedeliveryCount = s.counts[m.Index]
	d := delivery{msg: m, sub: s, epoch: s.epoch.Load()}
	try := func(c *consumer) bool {
		if c.offer(d) {
			s.pending[m.Index] = c
			return true
		}
		return false
	}
	switch s.typ {
	case bridge.Exclusive:
		return try(s.consumers[0])
	case bridge.Failover:
		return try(s.failoverActiveLocked())
	case bridge.KeyShared:
		return try(s.keyOwnerLocked(m.Key))
	default: // Shared: round robin over consumers with room
		n := len(s.consumers)
		for i := 0; i < n; i++ {
			c := s.consumers[0]
			s.consumers = append(s.consumers[1:], c)
			if try(c) {
				return true
			}
		}
		return false
	}
}

// ack acknowledges one index.
func (s *subscription) ack(idx int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isAckedLocked(idx) {
		return
	}
	delete(s.pending, idx)
	delete(s.redeliver, idx)
	delete(s.counts, idx)
	if idx == s.ackedUpTo {
		s.ackedUpTo++ // acks in order, the common case, skip the set
	} else {
		s.acked[idx] = struct{}{}
	}
	s.compactLocked()
	s.markDirtyLocked()
}

// compactLocked folds acknowledged indexes at the cursor into ackedUpTo.
func (s *subscription) compactLocked() {
	for {
		if _, ok := s.acked[s.ackedUpTo]; !ok {
			return
		}
		delete(s.acked, s.ackedUpTo)
		s.ackedUpTo++
	}
}

// ackCumulative acknowledges every index up to and including idx.
func (s *subscription) ackCumulative(idx int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if idx < s.ackedUpTo {
		return
	}
	s.moveCursorLocked(idx + 1)
	s.compactLocked()
	s.markDirtyLocked()
}

// moveCursorLocked sets ackedUpTo and forgets acks and deliveries below it.
func (s *subscription) moveCursorLocked(upTo int64) {
	s.ackedUpTo = upTo
	for i := range s.acked {
		if i < upTo {
			delete(s.acked, i)
		}
	}
	if s.readPos < upTo {
		s.readPos = upTo
	}
	for i := range s.pending {
		if i < upTo {
			delete(s.pending, i)
		}
	}
	for i := range s.redeliver {
		if i < upTo {
			delete(s.redeliver, i)
			delete(s.counts, i)
		}
	}
}

// nack delivers idx again after delay.
func (s *subscription) nack(idx int64, delay time.Duration) {
	s.mu.Lock()
	if _, out := s.pending[idx]; !out {
		s.mu.Unlock()
		return
	}
	delete(s.pending, idx)
	s.mu.Unlock()
	time.AfterFunc(delay, func() {
		s.mu.Lock()
		if !s.isAckedLocked(idx) && !s.stopped {
			s.redeliver[idx] = struct{}{}
			s.counts[idx]++
		}
		s.mu.Unlock()
		s.wake()
	})
}

// reset moves the cursor so that idx is the next message delivered, and
// makes every later message unacknowledged again (Pulsar's seek).
func (s *subscription) reset(idx int64) {
	s.mu.Lock()
	first, written := s.p.first.Load(), s.p.written.Load()
	if idx < first {
		idx = first
	}
	if idx > written {
		idx = written
	}
	// Everything from idx on is read again from the log.
	s.ackedUpTo, s.readPos, s.ahead = idx, idx, nil
	s.acked = map[int64]struct{}{}
	s.pending = map[int64]*consumer{}
	s.redeliver = map[int64]struct{}{}
	s.counts = map[int64]int{}
	s.epoch.Add(1)
	s.markDirtyLocked()
	s.mu.Unlock()
	s.wake()
}

// backlog is how many stored messages are not acknowledged.
func (s *subscription) backlog() int64 {
	_, durable, _ := s.p.extent()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := durable - s.ackedUpTo
	for i := range s.acked {
		if i < durable {
			n--
		}
	}
	if n < 0 {
		n = 0
	}
	return n
}

// subType is the type, which the first consumer of an idle subscription sets.
func (s *subscription) subType() bridge.SubscriptionType {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.typ
}

func (s *subscription) consumerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.consumers)
}

func (s *subscription) markDirtyLocked() {
	if s.durable && !s.dirty {
		s.dirty = true
		s.p.b.cursors.mark(s)
	}
}

// stop ends the dispatcher and detaches consumers (partition deleted or
// backend closed).
func (s *subscription) stop() {
	s.mu.Lock()
	s.stopped = true
	consumers := append([]*consumer(nil), s.consumers...)
	s.mu.Unlock()
	s.wake()
	for _, c := range consumers {
		c.forget(s)
	}
}

// ringPointsFor places a consumer on the Key_Shared hash ring.
func ringPointsFor(name string) []uint32 {
	pts := make([]uint32, 100)
	for i := range pts {
		pts[i] = hash32([]byte(name + "#" + strconv.Itoa(i)))
	}
	return pts
}

// hash32 is FNV-1a followed by a finalizing mix: FNV alone leaves short,
// similar strings ("k1", "k2", "consumer-3#7") bunched on the ring, so one
// consumer could get no keys at all.
func hash32(b []byte) uint32 {
	h := fnv.New32a()
	h.Write(b)
	x := h.Sum32()
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	return x
}

func (s *subscription) logReadError(idx int64, err error) {
	s.p.b.log.Error("subscription cannot read the log", zap.String("subscription", s.name),
		zap.String("partition", s.p.name), zap.Int64("index", idx), zap.Error(err))
}
