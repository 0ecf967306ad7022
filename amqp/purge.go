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
func (s *Server) purge(ctx context.Context, c *conn, queue, topic string, sac bool, ready int64) (int64, error) {
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
	var bcs []bridge.Consumer
	for cs := range s.consumers[topic] {
		if cs.bc != nil { // nil: a single active consumer still waiting
			local, bcs = append(local, cs), append(bcs, cs.bc)
		}
	}
	s.mu.Unlock()
	for i, cs := range local {
		bc := bcs[i]
		for _, m := range cs.takeBuffered() {
			drop(bc, m)
		}
	drain:
		for n < ready {
			// The consumer's run loop may take a message meanwhile: then it is delivered.
			select {
			case m, ok := <-bc.Chan():
				if !ok {
					break drain
				}
				drop(bc, m)
			case <-time.After(10 * time.Millisecond):
				break drain
			}
		}
	}
	defer func() { s.awaitBacklog(ctx, topic, before-n) }()
	if n >= ready {
		return n, nil
	}
	typ := bridge.Shared
	if sac {
		// Only with no consumer registered: another consumer on the Failover subscription
		// could take the active one's place. The active consumer gets what is left.
		if s.sac.registered(c.vhost, queue) > 0 {
			return n, nil
		}
		typ = bridge.Failover
	}
	bc, err := s.opts.Backend.Subscribe(ctx, bridge.SubscribeOptions{
		Topics: []string{topic}, Subscription: s.opts.Subscription, Type: typ,
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
