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
}

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
	if backlog, ok := s.backlog(ctx, topic); ok && backlog > 0 {
		l.count.Store(backlog)
		l.bytes.Store(s.backlogBytes(ctx, topic, backlog))
	}
	stats.length.Store(l)
	return l
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
func (s *Server) admit(ctx context.Context, topic string, p policy, stats *queueStats, size int) (ok, trim bool) {
	l := s.length(ctx, topic, stats)
	l.mu.Lock()
	defer l.mu.Unlock()
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
