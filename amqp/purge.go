package amqp

import (
	"context"
	"errors"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// purge removes up to ready messages that are ready: those buffered by this gateway's
// consumers of the queue and not yet delivered, then those no consumer holds, through a
// short-lived consumer. Deliveries awaiting an ack stay, as in RabbitMQ: they are acked or
// requeued later as usual (the bridge's ClearBacklog would drop them too). Messages buffered
// by consumers on other gateways are not reached; they are delivered.
func (s *Server) purge(ctx context.Context, c *conn, topic string, ready int64) (int64, error) {
	stats := s.stats(topic)
	before, _ := s.backlog(ctx, topic)
	var n int64
	drop := func(bc bridge.Consumer, m *bridge.Message) {
		stats.gone(m, false)
		bc.Ack(m.ID)
		n++
	}
	s.mu.Lock()
	var local []*consumer
	for cs := range s.consumers[topic] {
		local = append(local, cs)
	}
	s.mu.Unlock()
	for _, cs := range local {
		for _, m := range cs.takeBuffered() {
			drop(cs.bc, m)
		}
	drain:
		for n < ready {
			// The consumer's run loop may take a message meanwhile: then it is delivered.
			select {
			case m, ok := <-cs.bc.Chan():
				if !ok {
					break drain
				}
				drop(cs.bc, m)
			case <-time.After(10 * time.Millisecond):
				break drain
			}
		}
	}
	defer func() { s.awaitBacklog(ctx, topic, before-n) }()
	if n >= ready {
		return n, nil
	}
	bc, err := s.opts.Backend.Subscribe(ctx, bridge.SubscribeOptions{
		Topics: []string{topic}, Subscription: s.opts.Subscription, Type: bridge.Shared,
		ReceiverQueueSize: int(min(ready-n, 1000)), NackRedeliveryDelay: s.opts.NackDelay, ConsumerName: c.id + "/purge",
	})
	if errors.Is(err, bridge.ErrTopicNotFound) {
		return n, nil
	}
	if err != nil {
		return n, err
	}
	defer bc.Close()
	for n < ready {
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		m, err := bc.Receive(rctx)
		cancel()
		if err != nil {
			break // the rest is held by consumers elsewhere
		}
		drop(bc, m)
	}
	return n, nil
}

// awaitBacklog waits (a while) until the backend's backlog shows acks just made, so that a
// count right after purge-ok agrees with it: acks reach the broker asynchronously.
func (s *Server) awaitBacklog(ctx context.Context, topic string, target int64) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		n, ok := s.backlog(ctx, topic)
		if !ok || n <= target || time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
