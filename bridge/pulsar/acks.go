package pulsar

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// ackBook keeps what the broker does not tell a client:
//   - partial: acks of some messages of a batched entry (the broker keeps
//     them as batch-index acks but counts backlog in entries and shows no
//     partial acks in its stats), so Subscriptions reports messages;
//   - redeliveries: the broker counts redeliveries only on Shared and
//     Key_Shared subscriptions; for Exclusive and Failover this backend
//     counts nacks and consumer closes itself.
//
// Both are this process's knowledge only: another gateway sees the broker's
// view (partial batches count as unacked, single-active redelivery counts
// start at 0). Both are bounded by what is in flight.
//
// Hot path (one Ack per message): one lock, a cached per-subscription book
// (no subKey hashing when a consumer acks on the same partition again), one
// map lookup by position and a bit set per partially acked entry.
type ackBook struct {
	mu   sync.Mutex
	subs map[subKey]*subAcks
	// nRedelivered counts keys over all redelivered maps: at 0 (every
	// Shared/Key_Shared subscription, and single-active ones without nacks
	// or closes) count needs no lock.
	nRedelivered atomic.Int64
	// load returns the saved partial acks of a subscription this process
	// has not touched yet (see ackstore.go); nil: none saved.
	load func(subKey) map[pos]*batchAcks
}

// subAcks is one subscription on one partition. Never removed from
// ackBook.subs (reset clears it in place), so consumers may cache it.
type subAcks struct {
	partial     map[pos]*batchAcks
	lastP       pos        // cache: partial[lastP] is last (nil: no cache)
	last        *batchAcks // (acks mostly walk an entry in order)
	redelivered map[msgKey]int
	dirty       bool // partial changed since it was last saved
}

// batchAcks is the set of acked batch indexes of one entry of n messages.
type batchAcks struct {
	n, acked int32
	neg      bool // msgSet: the entry is one non-batched message (batch index -1)
	bits     []uint64
}

func newBatchAcks(n int32) *batchAcks {
	return &batchAcks{n: n, bits: make([]uint64, (n+63)/64)}
}

// set marks bi acked; it reports whether bi was new.
func (b *batchAcks) set(bi int32) bool {
	w, m := bi/64, uint64(1)<<(uint(bi)%64)
	if b.bits[w]&m != 0 {
		return false
	}
	b.bits[w] |= m
	b.acked++
	return true
}

// unset clears bi; it reports whether bi was set.
func (b *batchAcks) unset(bi int32) bool {
	w, m := bi/64, uint64(1)<<(uint(bi)%64)
	if b.bits[w]&m == 0 {
		return false
	}
	b.bits[w] &^= m
	b.acked--
	return true
}

func (b *batchAcks) full() bool { return b.acked >= b.n }

type subKey struct{ partition, sub string }

type msgKey struct {
	pos
	batch int32
}

// ackCache is a consumer's last looked-up subAcks (its subscription name is
// fixed, so the partition name identifies it). Guarded by ackBook.mu.
type ackCache struct {
	partition string
	s         *subAcks
}

func newAckBook() *ackBook {
	return &ackBook{subs: map[subKey]*subAcks{}}
}

// subLocked returns k's book, creating it; a.mu is held.
func (a *ackBook) subLocked(c *ackCache, k subKey) *subAcks {
	if c != nil && c.s != nil && c.partition == k.partition {
		return c.s
	}
	s := a.subs[k]
	if s == nil {
		s = &subAcks{partial: map[pos]*batchAcks{}, redelivered: map[msgKey]int{}}
		if a.load != nil {
			if saved := a.load(k); saved != nil {
				s.partial = saved
			}
		}
		a.subs[k] = s
	}
	if c != nil {
		c.partition, c.s = k.partition, s
	}
	return s
}

func (a *ackBook) forgetRedelivery(s *subAcks, m msgKey) {
	if len(s.redelivered) == 0 {
		return
	}
	if _, ok := s.redelivered[m]; ok {
		delete(s.redelivered, m)
		a.nRedelivered.Add(-1)
	}
}

// acked records an individual ack of batch index bi of an entry of size n.
func (a *ackBook) acked(k subKey, p pos, bi, n int32) { a.ackedCached(nil, k, p, bi, n) }

func (a *ackBook) ackedCached(c *ackCache, k subKey, p pos, bi, n int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.subLocked(c, k)
	a.forgetRedelivery(s, msgKey{p, bi})
	if n <= 1 || bi < 0 || bi >= n {
		return
	}
	b := s.last
	if b == nil || s.lastP != p {
		if b = s.partial[p]; b == nil {
			b = newBatchAcks(n)
			s.partial[p] = b
		}
		s.lastP, s.last = p, b
	}
	if bi < b.n && b.set(bi) {
		s.dirty = true
		if b.full() {
			delete(s.partial, p)
			s.last = nil
		}
	}
}

// ackedUpTo records a cumulative ack through batch index bi of entry p.
func (a *ackBook) ackedUpTo(k subKey, p pos, bi, n int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.subLocked(nil, k)
	s.last = nil
	s.dirty = true
	for q := range s.partial {
		if less(q, p) || q == p {
			delete(s.partial, q)
		}
	}
	for q := range s.redelivered {
		if less(q.pos, p) || q.pos == p && q.batch <= bi {
			delete(s.redelivered, q)
			a.nRedelivered.Add(-1)
		}
	}
	if n > 1 && bi >= 0 && bi < n-1 {
		b := newBatchAcks(n)
		for i := int32(0); i <= bi; i++ {
			b.set(i)
		}
		s.partial[p] = b
	}
}

// partialCount is how many messages are acked inside entries after mark
// that are not inside one of the deleted ranges (from, to].
func (a *ackBook) partialCount(k subKey, mark pos, deleted [][2]pos) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.subLocked(nil, k)
	var n int64
next:
	for q, b := range s.partial {
		if !less(mark, q) {
			continue
		}
		for _, r := range deleted {
			if less(r[0], q) && !less(r[1], q) {
				continue next
			}
		}
		n += int64(b.acked)
	}
	return n
}

func (a *ackBook) setLoader(f func(subKey) map[pos]*batchAcks) {
	a.mu.Lock()
	a.load = f
	a.mu.Unlock()
}

// snapshot encodes k's partial acks and clears its dirty mark.
func (a *ackBook) snapshot(k subKey) ([]byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.subs[k]
	if s == nil || !s.dirty {
		return nil, false
	}
	s.dirty = false
	return encodePartial(s.partial), true
}

func (a *ackBook) markDirty(k subKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.subs[k]; s != nil {
		s.dirty = true
	}
}

// dirtyKeys lists the partitions of subscription sub with unsaved changes.
func (a *ackBook) dirtyKeys(sub string) []subKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ks []subKey
	for k, s := range a.subs {
		if k.sub == sub && s.dirty {
			ks = append(ks, k)
		}
	}
	return ks
}

// reset forgets a subscription's partial acks (its cursor moved).
func (a *ackBook) reset(k subKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.subLocked(nil, k)
	clear(s.partial)
	s.last = nil
	s.dirty = true
}

func (a *ackBook) bump(k subKey, m msgKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.subLocked(nil, k)
	if _, ok := s.redelivered[m]; !ok {
		a.nRedelivered.Add(1)
	}
	s.redelivered[m]++
}

func (a *ackBook) count(k subKey, m msgKey) int {
	if a.nRedelivered.Load() == 0 {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.subs[k]; s != nil {
		return s.redelivered[m]
	}
	return 0
}

func less(a, b pos) bool { return a.ledger < b.ledger || a.ledger == b.ledger && a.entry < b.entry }

// msgSet is a set of messages kept as one bit set per entry, with the last
// entry touched cached (receives and acks mostly walk an entry in order).
// Not synchronized.
type msgSet struct {
	m     map[pos]*batchAcks // batchAcks.acked counts members here
	lastP pos
	last  *batchAcks
}

func newMsgSet() *msgSet { return &msgSet{m: map[pos]*batchAcks{}} }

// slot maps a batch index to a bit: a non-batched message (bi < 0) is bit 0
// of a one-bit entry.
func slot(bi, n int32) (int32, int32) {
	if bi < 0 {
		return 0, 1
	}
	return bi, max(n, bi+1)
}

func (s *msgSet) entry(p pos) *batchAcks {
	if s.last != nil && s.lastP == p {
		return s.last
	}
	b := s.m[p]
	if b != nil {
		s.setLast(p, b)
	}
	return b
}

// setLast caches b. An emptied entry stays while it is the cached one (a
// receive-ack-receive loop would otherwise reallocate it per message) and
// goes when the cache moves on.
func (s *msgSet) setLast(p pos, b *batchAcks) {
	if s.last != nil && s.last.acked == 0 && s.lastP != p {
		delete(s.m, s.lastP)
	}
	s.lastP, s.last = p, b
}

// add inserts message bi of entry p (an entry of n messages).
func (s *msgSet) add(p pos, bi, n int32) {
	i, n := slot(bi, n)
	b := s.entry(p)
	if b == nil || i >= b.n {
		if b != nil { // batch size grew (should not happen): keep the members
			nb := newBatchAcks(n)
			copy(nb.bits, b.bits)
			nb.acked = b.acked
			b = nb
		} else {
			b = newBatchAcks(n)
		}
		b.neg = bi < 0
		s.m[p] = b
		s.setLast(p, b)
	}
	b.set(i)
}

// remove deletes message bi of entry p.
func (s *msgSet) remove(p pos, bi int32) {
	b := s.entry(p)
	if b == nil {
		return
	}
	i := max(bi, 0)
	if i >= b.n || !b.unset(i) || b.acked > 0 || s.last == b {
		return
	}
	delete(s.m, p)
}

// removeUpTo deletes every message up to and including bi of entry p.
func (s *msgSet) removeUpTo(p pos, bi int32) {
	for q, b := range s.m {
		switch {
		case less(q, p):
			delete(s.m, q)
		case q == p:
			for i := int32(0); i <= bi && i < b.n; i++ {
				b.unset(i)
			}
			if b.acked == 0 {
				delete(s.m, q)
			}
		}
	}
	s.last = nil
}

// each calls f with every member.
func (s *msgSet) each(f func(msgKey)) {
	for p, b := range s.m {
		for w, word := range b.bits {
			for word != 0 {
				i := int32(w*64 + bits.TrailingZeros64(word))
				word &= word - 1
				if b.neg {
					i = -1
				}
				f(msgKey{p, i})
			}
		}
	}
}
