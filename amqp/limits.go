package amqp

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// queueLength counts a length-limited queue's messages on this gateway, so that a publish
// decides without a backend round trip (RabbitMQ decides in the queue process). It starts
// from the subscription's backlog when the queue is first published to here, then follows
// what this gateway publishes, delivers, acks and drops. Ready = count - unacked, as
// RabbitMQ counts limits on ready messages only. Messages published or consumed through
// other gateways are seen only when a full queue refreshes its count from the backend (at
// most once a second), which can only lower it.
type queueLength struct {
	count        atomic.Int64 // messages in the subscription: ready and unacknowledged
	bytes        atomic.Int64 // their body bytes
	unackedBytes atomic.Int64 // body bytes of deliveries not yet settled

	mu       sync.Mutex // serialises admissions and trims
	checked  time.Time  // last refresh from the backend
	trimming chan struct{}

	// Shared backends (followLength): other gateways publish and consume too.
	admitted  atomic.Int64           // publishes this gateway counted
	lastAdmit atomic.Int64           // when the last one was, unix ns
	trimBy    atomic.Pointer[conn]   // the connection that published last: trims run for it
	pol       atomic.Pointer[policy] // the queue's policy as of the last publish
	// under mu: the queue's end and this gateway's admissions at the last refresh
	seenEnd, seenOwn, carry int64
	based                   bool // seenEnd was read
}

// Across gateways (a shared backend) each gateway that publishes to a length-limited queue
// re-reads its count from the backend every lengthRefresh while it publishes (and for
// lengthIdle after), so that publishes and consumption through other gateways count; and a
// drop-head trim drops only messages older than the newest x-max-length by index, so
// gateways trimming at once drop the same messages, not twice as many.
const (
	lengthRefresh = 250 * time.Millisecond
	lengthIdle    = 2 * time.Second
)

// length returns the queue's counter, loading it on first use.
func (s *Server) length(ctx context.Context, topic string, stats *queueStats) *queueLength {
	if l := stats.length.Load(); l != nil {
		return l
	}
	stats.loadMu.Lock()
	defer stats.loadMu.Unlock()
	if l := stats.length.Load(); l != nil {
		return l
	}
	l := &queueLength{checked: time.Now()}
	if s.opts.Backend.Shared() {
		// The end first: what others publish between the two reads counts twice (until
		// the backlog next lowers it), not never.
		if rng, err := s.opts.Backend.Admin().IndexRange(ctx, topic); err == nil {
			l.seenEnd, l.based = rng.Next, true
		}
	}
	if backlog, ok := s.backlog(ctx, topic); ok && backlog > 0 {
		l.count.Store(backlog)
		l.bytes.Store(s.backlogBytes(ctx, topic, backlog))
	}
	stats.length.Store(l)
	if s.opts.Backend.Shared() {
		go s.followLength(topic, stats, l)
	}
	return l
}

// followLength keeps l true to the backend while this gateway publishes to the queue.
func (s *Server) followLength(topic string, stats *queueStats, l *queueLength) {
	t := time.NewTicker(lengthRefresh)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		s.mu.Lock()
		current := s.queues[topic] == stats && stats.length.Load() == l
		s.mu.Unlock()
		if !current {
			return // deleted
		}
		if time.Since(time.Unix(0, l.lastAdmit.Load())) > lengthIdle {
			continue
		}
		s.refreshLength(topic, stats, l)
	}
}

// refreshLength adds to the count what other gateways published since the last refresh:
// how far the queue's end moved, less what this gateway admitted (a publish admitted while
// the end was read may land on either side: carry puts it right at the next refresh). What
// they consumed lowers it when the backlog shows less (at most once a second: the
// backlog is several admin calls, and lags this gateway's own acks, so it only lowers).
// A drop-head queue found over its limit is trimmed.
func (s *Server) refreshLength(topic string, stats *queueStats, l *queueLength) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*lengthRefresh)
	defer cancel()
	s.flushProducer(ctx, topic)
	own := l.admitted.Load()
	rng, err := s.opts.Backend.Admin().IndexRange(ctx, topic)
	if err != nil {
		return
	}
	l.mu.Lock()
	if l.based {
		others := rng.Next - l.seenEnd - (own - l.seenOwn) + l.carry
		l.carry = min(others, 0)
		if others > 0 {
			n := l.count.Load()
			avg := int64(0)
			if n > 0 {
				avg = l.bytes.Load() / n
			}
			l.count.Add(others)
			l.bytes.Add(others * avg)
		}
	}
	l.seenEnd, l.seenOwn, l.based = rng.Next, own, true
	lower := time.Since(l.checked) > time.Second
	l.mu.Unlock()
	if lower {
		before := l.admitted.Load()
		if backlog, ok := s.backlog(ctx, topic); ok {
			l.mu.Lock()
			if n := backlog + l.admitted.Load() - before; n < l.count.Load() {
				if c := l.count.Load(); c > 0 {
					l.bytes.Store(l.bytes.Load() * n / c)
				}
				l.count.Store(n)
			}
			l.checked = time.Now()
			l.mu.Unlock()
		}
	}
	l.mu.Lock()
	p, c := l.pol.Load(), l.trimBy.Load()
	over := p != nil && c != nil && !p.rejects() && l.over(*p, stats)
	l.mu.Unlock()
	if over {
		s.trim(c, topic, *p, stats)
	}
}

// backlog is the subscription's backlog once this gateway's sends are durable.
func (s *Server) backlog(ctx context.Context, topic string) (int64, bool) {
	s.flushProducer(ctx, topic)
	subs, err := s.opts.Backend.Admin().Subscriptions(ctx, topic)
	if err != nil {
		return 0, false
	}
	for _, sub := range subs {
		if sub.Name == s.opts.Subscription {
			return sub.Backlog, true
		}
	}
	return 0, true
}

// backlogBytes sums the bodies of the last n messages of a topic: the backlog when the
// queue was consumed in order, which is the common case. The bridge reports no byte count
// (see doc.go).
func (s *Server) backlogBytes(ctx context.Context, topic string, n int64) int64 {
	rng, err := s.opts.Backend.Admin().IndexRange(ctx, topic)
	if err != nil {
		return 0
	}
	r, err := s.opts.Backend.CreateReader(ctx, bridge.ReaderOptions{Topic: topic, Start: bridge.StartAtIndex(max(rng.Next-n, rng.First))})
	if err != nil {
		return 0
	}
	defer r.Close()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var sum int64
	for i := int64(0); i < n; i++ {
		m, err := r.Next(rctx)
		if err != nil {
			s.log.Warn("x-max-length-bytes: backlog bytes not fully counted", zap.String("topic", topic), zap.Error(err))
			break
		}
		sum += int64(len(m.Value))
	}
	return sum
}

func (l *queueLength) ready(stats *queueStats) (n, bytes int64) {
	return l.count.Load() - stats.unacked.Load(), l.bytes.Load() - l.unackedBytes.Load()
}

// over: the queue holds more ready messages or bytes than its limits allow.
func (l *queueLength) over(p policy, stats *queueStats) bool {
	n, b := l.ready(stats)
	return p.maxLen >= 0 && n > p.maxLen || p.maxBytes >= 0 && b > p.maxBytes
}

// admit counts a publish of size bytes into the queue: false when the queue is full and
// refuses it (x-overflow reject-publish*); trim when a drop-head queue is now over its limit.
func (s *Server) admit(ctx context.Context, c *conn, topic string, p policy, stats *queueStats, size int) (ok, trim bool) {
	l := s.length(ctx, topic, stats)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pol.Store(&p)
	l.trimBy.Store(c)
	l.lastAdmit.Store(time.Now().UnixNano())
	full := func() bool {
		n, b := l.ready(stats)
		return p.maxLen >= 0 && n+1 > p.maxLen || p.maxBytes >= 0 && b+int64(size) > p.maxBytes
	}
	if p.rejects() && full() && time.Since(l.checked) > time.Second {
		// Another gateway may have consumed meanwhile.
		if backlog, ok := s.backlog(ctx, topic); ok && backlog < l.count.Load() {
			if c := l.count.Load(); c > 0 {
				l.bytes.Store(l.bytes.Load() * backlog / c)
			}
			l.count.Store(backlog)
		}
		l.checked = time.Now()
	}
	if p.rejects() && full() {
		return false, false
	}
	l.admitted.Add(1)
	l.count.Add(1)
	l.bytes.Add(int64(size))
	return true, !p.rejects() && l.over(p, stats)
}

// trim drops messages from the head of a drop-head queue until it is within its limits,
// dead-lettering them (reason maxlen) when it has a dead-letter exchange. It takes them
// through a short-lived consumer, so the head is the oldest message no consumer holds.
func (s *Server) trim(c *conn, topic string, p policy, stats *queueStats) {
	l := stats.length.Load()
	l.mu.Lock()
	if l.trimming != nil {
		l.mu.Unlock()
		return // the running trim sees the new count
	}
	done := make(chan struct{})
	l.trimming = done
	l.mu.Unlock()
	go func() {
		defer close(done)
		for s.trimOnce(c, topic, p, stats) {
			// A publish counted after the last check but before the trim ended: go on.
			l.mu.Lock()
			if !l.over(p, stats) {
				l.trimming = nil
				l.mu.Unlock()
				return
			}
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.trimming = nil
		l.mu.Unlock()
	}()
}

// trimOnce drops head messages while the queue is over its limits; false when it could not
// (the rest is held by consumers, which deliver it, or the backend failed).
func (s *Server) trimOnce(c *conn, topic string, p policy, stats *queueStats) bool {
	l := stats.length.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var bc bridge.Consumer
	var settling sync.WaitGroup
	defer func() {
		if bc != nil {
			settling.Wait() // closing earlier would hand the dropped messages back
			bc.Close()
		}
	}()
	// On a shared backend keep the newest p.maxLen by index (see lengthRefresh).
	byIndex := s.opts.Backend.Shared() && p.maxLen >= 0
	keepFrom := int64(-1)
	newest := func() bool { // keepFrom as of now; false: the backend failed
		s.flushProducer(ctx, topic) // the end must hold this gateway's publishes
		rng, err := s.opts.Backend.Admin().IndexRange(ctx, topic)
		keepFrom = rng.Next - p.maxLen
		return err == nil
	}
	if byIndex && !newest() {
		return false
	}
	for l.over(p, stats) {
		if bc == nil {
			var err error
			bc, err = s.opts.Backend.Subscribe(ctx, bridge.SubscribeOptions{
				Topics: []string{topic}, Subscription: s.opts.Subscription, Type: bridge.Shared,
				ReceiverQueueSize: 1, NackRedeliveryDelay: s.opts.NackDelay, ConsumerName: c.id + "/trim",
			})
			if err != nil {
				s.log.Warn("x-max-length: cannot trim", zap.String("topic", topic), zap.Error(err))
				return false
			}
		}
		rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		m, err := bc.Receive(rctx)
		rcancel()
		if err != nil {
			return false
		}
		if byIndex && m.Index >= keepFrom && (!newest() || m.Index >= keepFrom) {
			// Among the newest: our count is ahead of the queue (another gateway
			// trimmed or consumed meanwhile); the next refresh corrects it. Closing
			// the trim consumer hands the message back (a nack just before the close
			// would make the client log a failed redelivery).
			return false
		}
		stats.gone(m, false)
		settling.Add(1)
		c.discardThen(p, bc, m, "maxlen", settling.Done)
	}
	return true
}

// waitTrim waits for a running trim of the queue, so that counts and deliveries after a
// publish see the queue as RabbitMQ would, trimmed.
func (stats *queueStats) waitTrim(ctx context.Context) {
	l := stats.length.Load()
	if l == nil {
		return
	}
	l.mu.Lock()
	done := l.trimming
	l.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// took: a delivery of m awaits its ack. returned: it went back to the queue. gone: m left
// the queue (acked, dropped or dead-lettered); wasUnacked when it was a delivery.
func (stats *queueStats) took(m *bridge.Message) {
	if l := stats.length.Load(); l != nil {
		l.unackedBytes.Add(int64(len(m.Value)))
	}
}

func (stats *queueStats) returned(m *bridge.Message) {
	if l := stats.length.Load(); l != nil {
		l.unackedBytes.Add(-int64(len(m.Value)))
	}
}

func (stats *queueStats) gone(m *bridge.Message, wasUnacked bool) {
	if l := stats.length.Load(); l != nil {
		l.count.Add(-1)
		l.bytes.Add(-int64(len(m.Value)))
		if wasUnacked {
			l.unackedBytes.Add(-int64(len(m.Value)))
		}
	}
}

// refused handles a message a full reject-publish* queue refuses: reject-publish-dlx
// dead-letters it (reason maxlen); either way the publisher's confirm is a nack.
func (ch *channel) refused(p policy, exchange, key string, props *wire.Properties, body []byte) {
	ch.c.log.Debug("queue full: publish refused", zap.String("queue", p.queue), zap.String("overflow", p.overflow))
	if p.overflow == "reject-publish-dlx" && p.hasDLX {
		ch.c.deadLetter(p, exchange, key, *props, body, "maxlen", func(error) {})
	}
}
