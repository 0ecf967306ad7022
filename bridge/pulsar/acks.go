package pulsar

import "sync"

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
type ackBook struct {
	mu          sync.Mutex
	partial     map[subKey]map[pos]map[int32]struct{}
	redelivered map[subKey]map[msgKey]int
}

type subKey struct{ partition, sub string }

type msgKey struct {
	pos
	batch int32
}

func newAckBook() *ackBook {
	return &ackBook{partial: map[subKey]map[pos]map[int32]struct{}{}, redelivered: map[subKey]map[msgKey]int{}}
}

// acked records an individual ack of batch index bi of an entry of size n.
func (a *ackBook) acked(k subKey, p pos, bi, n int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.redelivered[k], msgKey{p, bi})
	if n <= 1 || bi < 0 {
		return
	}
	m := a.partial[k]
	if m == nil {
		m = map[pos]map[int32]struct{}{}
		a.partial[k] = m
	}
	s := m[p]
	if s == nil {
		s = map[int32]struct{}{}
		m[p] = s
	}
	s[bi] = struct{}{}
	if int32(len(s)) >= n {
		delete(m, p)
	}
}

// ackedUpTo records a cumulative ack through batch index bi of entry p.
func (a *ackBook) ackedUpTo(k subKey, p pos, bi, n int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for q := range a.partial[k] {
		if less(q, p) || q == p {
			delete(a.partial[k], q)
		}
	}
	for q := range a.redelivered[k] {
		if less(q.pos, p) || q.pos == p && q.batch <= bi {
			delete(a.redelivered[k], q)
		}
	}
	if n > 1 && bi >= 0 && bi < n-1 {
		s := map[int32]struct{}{}
		for i := int32(0); i <= bi; i++ {
			s[i] = struct{}{}
		}
		if a.partial[k] == nil {
			a.partial[k] = map[pos]map[int32]struct{}{}
		}
		a.partial[k][p] = s
	}
}

// partialCount is how many messages are acked inside entries after mark.
func (a *ackBook) partialCount(k subKey, mark pos) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var n int64
	for q, s := range a.partial[k] {
		if less(mark, q) {
			n += int64(len(s))
		}
	}
	return n
}

// reset forgets a subscription's partial acks (its cursor moved).
func (a *ackBook) reset(k subKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.partial, k)
}

func (a *ackBook) bump(k subKey, m msgKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.redelivered[k]
	if r == nil {
		r = map[msgKey]int{}
		a.redelivered[k] = r
	}
	r[m]++
}

func (a *ackBook) count(k subKey, m msgKey) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.redelivered[k][m]
}

func less(a, b pos) bool { return a.ledger < b.ledger || a.ledger == b.ledger && a.entry < b.entry }
