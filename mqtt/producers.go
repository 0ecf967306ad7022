package mqtt

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// producers caches one bridge producer per topic, shared by every client:
// opening one per message would cost a round trip each on Pulsar. Idle
// ones are closed (evictIdle), since devices often publish to a topic of
// their own and come and go.
type producers struct {
	backend bridge.Backend
	mu      sync.Mutex
	byTopic map[string]*producerEntry
}

type producerEntry struct {
	ready   chan struct{} // closed once p or err is set
	p       bridge.Producer
	err     error
	active  int           // senders between send and release; guarded by producers.mu
	waiting []waitingSend // arrived while opening; guarded by producers.mu
	last    time.Time     // last release; guarded by producers.mu
}

type waitingSend struct {
	msg *bridge.OutMessage
	cb  bridge.SendCallback
}

func newProducers(b bridge.Backend) *producers {
	return &producers{backend: b, byTopic: map[string]*producerEntry{}}
}

// send queues msg on topic's producer, opening it once; cb gets the
// outcome. Messages that arrive while the producer opens wait in arrival
// order and go first, so publishes of several connections (mosquitto_pub
// runs one per message) keep their order. A failed open is not cached:
// its waiting messages fail and the next publish retries.
func (ps *producers) send(ctx context.Context, topic string, msg *bridge.OutMessage, cb bridge.SendCallback) {
	ps.mu.Lock()
	e, ok := ps.byTopic[topic]
	if ok && e.p == nil {
		e.waiting = append(e.waiting, waitingSend{msg, cb})
		ps.mu.Unlock()
		return
	}
	if !ok {
		e = &producerEntry{ready: make(chan struct{})}
		ps.byTopic[topic] = e
	}
	e.active++
	ps.mu.Unlock()
	defer ps.release(e)
	if ok {
		e.p.SendAsync(ctx, msg, cb)
		return
	}
	p, err := ps.open(ctx, topic)
	if err != nil {
		ps.mu.Lock()
		delete(ps.byTopic, topic)
		waiting := e.waiting
		e.waiting = nil
		e.err = err
		close(e.ready)
		ps.mu.Unlock()
		cb(bridge.SendResult{}, err)
		for _, w := range waiting {
			w.cb(bridge.SendResult{}, err)
		}
		return
	}
	p.SendAsync(ctx, msg, cb)
	for {
		ps.mu.Lock()
		waiting := e.waiting
		e.waiting = nil
		if len(waiting) == 0 {
			e.p = p
			close(e.ready)
			ps.mu.Unlock()
			return
		}
		ps.mu.Unlock()
		for _, w := range waiting {
			p.SendAsync(ctx, w.msg, w.cb)
		}
	}
}

func (ps *producers) release(e *producerEntry) {
	ps.mu.Lock()
	e.active--
	e.last = time.Now()
	ps.mu.Unlock()
}

// open opens a producer on topic. A backend that does not create topics
// on first use (Pulsar's admin lookup of a new topic) gets it created here,
// partitioned with one partition as the broker's auto-creation would.
func (ps *producers) open(ctx context.Context, topic string) (bridge.Producer, error) {
	o := bridge.ProducerOptions{Topic: topic, BatchingMaxDelay: time.Millisecond, MaxPending: 1000}
	p, err := ps.backend.CreateProducer(ctx, o)
	if !errors.Is(err, bridge.ErrTopicNotFound) {
		return p, err
	}
	if err := ps.backend.Admin().CreateTopic(ctx, topic, 1); err != nil && !errors.Is(err, bridge.ErrTopicExists) {
		return nil, err
	}
	return ps.backend.CreateProducer(ctx, o)
}

// evictIdle closes the producers unused for idle; Close flushes them.
func (ps *producers) evictIdle(idle time.Duration) {
	now := time.Now()
	var closing []bridge.Producer
	ps.mu.Lock()
	for t, e := range ps.byTopic {
		if e.active == 0 && e.p != nil && now.Sub(e.last) > idle {
			closing = append(closing, e.p)
			delete(ps.byTopic, t)
		}
	}
	ps.mu.Unlock()
	for _, p := range closing {
		p.Close()
	}
}

func (ps *producers) close() error {
	ps.mu.Lock()
	entries := make([]*producerEntry, 0, len(ps.byTopic))
	for t, e := range ps.byTopic {
		entries = append(entries, e)
		delete(ps.byTopic, t)
	}
	ps.mu.Unlock()
	var errs []error
	for _, e := range entries {
		<-e.ready // an opening producer finishes (and sends what waited) first
		ps.mu.Lock()
		p := e.p
		ps.mu.Unlock()
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	return errors.Join(errs...)
}
