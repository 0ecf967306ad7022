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
	ready  chan struct{} // closed once p or err is set
	p      bridge.Producer
	err    error
	active int       // callers between get and release; guarded by producers.mu
	last   time.Time // last release; guarded by producers.mu
}

func newProducers(b bridge.Backend) *producers {
	return &producers{backend: b, byTopic: map[string]*producerEntry{}}
}

// get returns topic's producer, opening it once, and a release to call once
// the send is queued. A failed open is not cached: the next publish retries.
func (ps *producers) get(ctx context.Context, topic string) (bridge.Producer, func(), error) {
	ps.mu.Lock()
	e, ok := ps.byTopic[topic]
	if !ok {
		e = &producerEntry{ready: make(chan struct{})}
		ps.byTopic[topic] = e
	}
	e.active++
	ps.mu.Unlock()
	release := func() {
		ps.mu.Lock()
		e.active--
		e.last = time.Now()
		ps.mu.Unlock()
	}
	if !ok {
		e.p, e.err = ps.backend.CreateProducer(ctx, bridge.ProducerOptions{
			Topic:            topic,
			BatchingMaxDelay: time.Millisecond,
			MaxPending:       1000,
		})
		if e.err != nil {
			ps.mu.Lock()
			delete(ps.byTopic, topic)
			ps.mu.Unlock()
		}
		close(e.ready)
	}
	select {
	case <-e.ready:
		if e.err != nil {
			release()
			return nil, nil, e.err
		}
		return e.p, release, nil
	case <-ctx.Done():
		release()
		return nil, nil, ctx.Err()
	}
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
	defer ps.mu.Unlock()
	var errs []error
	for t, e := range ps.byTopic {
		<-e.ready
		if e.p != nil {
			errs = append(errs, e.p.Close())
		}
		delete(ps.byTopic, t)
	}
	return errors.Join(errs...)
}
