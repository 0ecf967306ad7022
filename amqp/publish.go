package amqp

import (
	"cmp"
	"errors"
	"strings"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// basicPublish routes a message through its exchange and writes it to every queue it
// reaches. With confirms, the ack waits for every one of those writes to be durable.
func (ch *channel) basicPublish(m *wire.BasicPublish, p *wire.Properties, body []byte) error {
	c := ch.c
	c.published.Store(true)
	ch.each(func(k *counters) { k.publish.Add(1) })
	c.s.exchangeCounts(c.vhost, m.Exchange).in.Add(1)
	if c.s.blocked.Load() {
		c.waitUnblocked()
	}
	if m.Immediate {
		return wire.NewError(wire.NotImplemented, "immediate=true").WithMethod(m)
	}
	if err := ch.permitPublish(m, m.Exchange, m.RoutingKey); err != nil {
		return err
	}
	x, ok := c.s.topo.exchange(c.vhost, m.Exchange)
	if !ok {
		return wire.NewError(wire.NotFound, "no exchange '%s' in vhost '%s'", m.Exchange, c.vhost).WithMethod(m)
	}
	if x.Internal {
		return wire.NewError(wire.AccessRefused, "cannot publish to internal exchange '%s' in vhost '%s'", m.Exchange, c.vhost).WithMethod(m)
	}
	if err := ch.stampReplyTo(m, p); err != nil {
		return err
	}
	var queues []string
	direct := m.Exchange == "" && strings.HasPrefix(m.RoutingKey, replyTo+".")
	if !direct {
		queues = c.s.topo.route(c.vhost, m.Exchange, x, m.RoutingKey, p.Headers)
	}

	if ch.tx != nil {
		// Routed now (a missing exchange fails the publish, not the commit), written at
		// tx.commit (tx.go).
		ch.tx.publishes = append(ch.tx.publishes, txPublish{exchange: m.Exchange, key: m.RoutingKey,
			mandatory: m.Mandatory, props: p, body: body, queues: queues, direct: direct})
		return nil
	}
	ch.mu.Lock()
	var done func(error)
	if ch.confirms != nil {
		pub := ch.confirms.add(len(queues))
		done = func(err error) { ch.settled(pub, err) }
	}
	ch.mu.Unlock()
	if err := ch.write(m.Exchange, m.RoutingKey, m.Mandatory, p, body, queues, direct, done); err != nil {
		// Pulsar refused the client's own principal (act_as_clients): as
		// RabbitMQ refuses a publish it may not make.
		return wire.NewError(wire.AccessRefused, "write access to a queue of exchange '%s' in vhost '%s' refused for user '%s' by the store",
			cmp.Or(m.Exchange, "amq.default"), c.vhost, c.user).WithMethod(m)
	}
	return nil
}

// write sends a routed message to its queues. done, if not nil, runs once per queue write
// with its outcome (nil: durable), or once with nil when the message reached no queue.
// It returns bridge.ErrForbidden when the store refused the client's principal a queue's
// producer (act_as_clients).
func (ch *channel) write(exchange, key string, mandatory bool, p *wire.Properties, body []byte, queues []string, direct bool, done func(error)) (forbidden error) {
	c := ch.c
	tracked := done != nil
	if !tracked {
		done = func(error) {}
	}
	if direct {
		c.s.sendReply(ch.ctx, key, p, body, done)
		return nil
	}
	if len(queues) > 0 {
		c.s.exchangeCounts(c.vhost, exchange).out.Add(1)
	}
	if len(queues) == 0 {
		if mandatory {
			ch.each(func(k *counters) { k.returnUnroutable.Add(1) })
		} else {
			ch.each(func(k *counters) { k.dropUnroutable.Add(1) })
		}
		if mandatory {
			// Sent before the confirm, as RabbitMQ does.
			c.sendContent(ch.id, &wire.BasicReturn{ReplyCode: wire.NoRoute, ReplyText: "NO_ROUTE", Exchange: exchange, RoutingKey: key}, p, body)
		}
		done(nil)
		return nil
	}
	if _, ok := p.Headers["BCC"]; ok {
		// BCC routes but is not delivered (RabbitMQ's sender-selected distribution).
		h := make(wire.Table, len(p.Headers))
		for k, v := range p.Headers {
			h[k] = v
		}
		delete(h, "BCC")
		p.Headers = h
	}
	out := toPulsar(exchange, key, p, body)
	arrived := time.Now()
	for _, q := range queues {
		topic := c.topic(q)
		pol, stats, _ := c.s.policy(c, q)
		trim := false
		if pol.limited() {
			var ok bool
			ok, trim = c.s.admit(ch.ctx, c, topic, pol, stats, len(body))
			if !ok {
				ch.refused(pol, exchange, key, p, body)
				done(errQueueFull)
				continue
			}
		}
		prod, err := c.s.producer(ch.ctx, topic, c.actingAs())
		if err != nil {
			c.s.sendFailed(pol, stats, len(body))
			if errors.Is(err, bridge.ErrForbidden) {
				forbidden = err
			} else if !tracked {
				c.log.Warn("publish dropped: " + err.Error())
			}
			done(err)
			continue
		}
		stats.counts.publish.Add(1)
		prod.SendAsync(ch.ctx, out, func(_ bridge.SendResult, err error) {
			if err != nil {
				c.s.sendFailed(pol, stats, len(body))
			} else {
				c.s.opts.Metrics.Produced(1, len(body), arrived)
			}
			done(err)
		})
		if trim {
			// After the send: a trim on a shared backend keeps the newest by index,
			// counting this one.
			c.s.trim(c, topic, pol, stats)
		}
	}
	return forbidden
}

// errQueueFull nacks a publish a reject-publish queue refused.
var errQueueFull = errors.New("queue full (x-overflow reject-publish)")

// sendFailed takes back the count of a publish that did not reach a limited queue.
func (s *Server) sendFailed(p policy, stats *queueStats, size int) {
	if l := stats.length.Load(); l != nil && p.limited() {
		l.admitted.Add(-1)
		l.count.Add(-1)
		l.bytes.Add(-int64(size))
	}
}

// confirms is a channel's publisher-confirm state: publishes numbered from 1, settled in
// order so that one ack with multiple=true can cover a run of them.
type confirms struct {
	seq     uint64
	pending []*pending // unsettled or settled but waiting for an earlier one, in seq order
}

type pending struct {
	seq    uint64
	left   int // queue writes still outstanding
	failed bool
}

func (cf *confirms) add(writes int) *pending {
	cf.seq++
	p := &pending{seq: cf.seq, left: writes}
	cf.pending = append(cf.pending, p)
	return p
}

// settled records one write of a publish (or a publish that reached no queue) and sends
// the acks and nacks that are now due, in order: a run of acks as one multiple ack.
func (ch *channel) settled(p *pending, err error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if err != nil {
		ch.c.log.Debug("publish failed: " + err.Error())
		p.failed = true
	}
	if p.left > 0 {
		p.left--
	}
	cf := ch.confirms
	if cf == nil {
		return // the channel closed meanwhile
	}
	var ackUpTo uint64
	acks := 0
	flush := func() {
		if acks > 0 {
			ch.send(&wire.BasicAck{DeliveryTag: ackUpTo, Multiple: acks > 1})
			acks = 0
		}
	}
	for len(cf.pending) > 0 && cf.pending[0].left == 0 {
		head := cf.pending[0]
		cf.pending = cf.pending[1:]
		if head.failed {
			flush()
			ch.send(&wire.BasicNack{DeliveryTag: head.seq})
			continue
		}
		ackUpTo = head.seq
		ch.each(func(k *counters) { k.confirm.Add(1) })
		acks++
	}
	flush()
}
