package amqp

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// consumer is one basic.consume: a bridge consumer on the queue's Shared subscription and
// a goroutine delivering its messages while the prefetch window has room.
type consumer struct {
	ch     *channel
	tag    string
	queue  string
	noAck  bool
	args   wire.Table // basic.consume's arguments (the management API shows them)
	bc     bridge.Consumer
	stats  *queueStats
	pol    policy
	credit chan struct{} // one token per delivery the window allows; nil: unlimited
	quit   chan struct{}
	exited chan struct{}
	once   sync.Once
	// unflushed: run wrote deliveries without flushing them; it flushes before it waits.
	unflushed bool
	prio      *prioBuffer // priority queues only (priority.go)
	gather    int         // ready messages at start, for the first priority ordering
	rq        int         // receiver queue size of bc
	// Single active consumer queues (sac.go): bc is opened once the registration sacKey is
	// first, which first signals; until then run waits and bc is nil (set under Server.mu).
	sacKey string
	first  <-chan struct{}
	// exclKey: this exclusive consumer's claim in the topology table (exclusive.go).
	exclKey string

	// under ch.mu
	outstanding int  // deliveries not yet settled
	cancelled   bool // basic.cancel: release the bridge consumer once nothing is outstanding
}

func (ch *channel) basicQos(m *wire.BasicQos) error {
	if m.PrefetchSize != 0 {
		return wire.NewError(wire.NotImplemented, "prefetch_size!=0 (%d)", m.PrefetchSize).WithMethod(m)
	}
	ch.mu.Lock()
	if m.Global {
		// A limit shared by the channel's consumers, existing ones included. A new window
		// starts full: deliveries outstanding under the old one return their tokens there.
		ch.global = nil
		if n := int(m.PrefetchCount); n > 0 {
			ch.global = make(chan struct{}, n)
			for range n {
				ch.global <- struct{}{}
			}
		}
	} else {
		ch.prefetch = int(m.PrefetchCount)
	}
	ch.mu.Unlock()
	return ch.send(&wire.BasicQosOk{})
}

func (ch *channel) basicConsume(m *wire.BasicConsume) error {
	c := ch.c
	if m.Queue == replyTo {
		return ch.replyConsume(m)
	}
	name, err := ch.queueName(m, m.Queue)
	if err != nil {
		return err
	}
	if err := ch.permit(m, authz.Read, authz.Topic, name); err != nil {
		return err
	}
	q, err := ch.lookupQueue(m, name)
	if err != nil {
		return err
	}
	tag := m.ConsumerTag
	if tag == "" {
		tag = "amq.ctag-" + randomID()
	}
	ch.mu.Lock()
	_, dup := ch.consumers[tag]
	prefetch := ch.prefetch
	ch.mu.Unlock()
	if dup {
		return wire.NewError(wire.NotAllowed, "attempt to reuse consumer tag '%s'", tag).WithMethod(m)
	}
	topic := c.topic(name)
	stats := c.s.stats(topic)
	pol := policyOf(name, q)
	if pol.sac && m.Exclusive {
		// RabbitMQ refuses an exclusive consumer on a single-active-consumer queue.
		return wire.NewError(wire.AccessRefused, "queue '%s' in vhost '%s' in exclusive use", name, c.vhost).WithMethod(m)
	}
	{
		// Consumers on other gateways count too.
		ctx, cancel := ch.timeout()
		busy := c.exclusiveConsumerElsewhere(ctx, name)
		if !busy && m.Exclusive {
			_, n := c.queueCounts(ctx, name)
			busy = n > 0
		}
		cancel()
		if busy {
			return wire.NewError(wire.AccessRefused, "queue '%s' in vhost '%s' in exclusive use", name, c.vhost).WithMethod(m)
		}
	}
	c.s.mu.Lock()
	if stats.exclusive || (m.Exclusive && stats.consumers > 0) {
		c.s.mu.Unlock()
		return wire.NewError(wire.AccessRefused, "queue '%s' in vhost '%s' in exclusive use", name, c.vhost).WithMethod(m)
	}
	stats.consumers++
	stats.exclusive = m.Exclusive
	stats.everConsumed = true
	c.s.mu.Unlock()

	// The receiver queue is the prefetch window: messages held for this consumer are
	// messages other consumers cannot get.
	rq := 100
	if prefetch > 0 && !m.NoAck {
		rq = prefetch
	}
	gather := 0
	if pol.maxPriority > 0 {
		rq = priorityWindow
		ctx, cancel := ch.timeout()
		n, _ := c.queueCounts(ctx, name)
		cancel()
		gather = int(n)
	}
	cs := &consumer{ch: ch, tag: tag, queue: name, noAck: m.NoAck, args: m.Arguments, stats: stats, pol: pol, rq: rq,
		quit: make(chan struct{}), exited: make(chan struct{}), gather: gather}
	if pol.maxPriority > 0 {
		cs.prio = newPrioBuffer(pol.maxPriority)
	}
	ctx, cancel := ch.timeout()
	defer cancel()
	if m.Exclusive {
		if cs.exclKey, err = c.claimExclusiveConsumer(ctx, name, tag); err != nil {
			c.s.consumerGone(c, name, topic, stats)
			return internal(m, err)
		}
	}
	if pol.sac {
		if cs.sacKey, cs.first, err = c.s.sac.register(ctx, c.vhost, name); err != nil {
			c.s.consumerGone(c, name, topic, stats)
			return internal(m, err)
		}
	} else if err := cs.attach(ctx); err != nil {
		cs.releaseExclusiveConsumer()
		c.s.consumerGone(c, name, topic, stats)
		return internal(m, err)
	}
	if prefetch > 0 && !m.NoAck {
		cs.credit = make(chan struct{}, prefetch)
		for range prefetch {
			cs.credit <- struct{}{}
		}
	}
	ch.mu.Lock()
	ch.consumers[tag] = cs
	ch.mu.Unlock()
	c.s.mu.Lock()
	if c.s.consumers[topic] == nil {
		c.s.consumers[topic] = map[*consumer]bool{}
	}
	c.s.consumers[topic][cs] = true
	c.s.mu.Unlock()
	// consume-ok goes out before the first delivery.
	if err := ch.reply(m.NoWait, &wire.BasicConsumeOk{ConsumerTag: tag}); err != nil {
		close(cs.exited) // never runs; the channel's close releases it
		return err
	}
	go cs.run()
	return nil
}

// attach opens the bridge consumer on the queue's subscription: Shared, or Failover for a
// single-active-consumer queue (only its active consumer attaches; see sac.go).
func (cs *consumer) attach(ctx context.Context) error {
	c := cs.ch.c
	topic := c.topic(cs.queue)
	typ := bridge.Shared
	if cs.pol.sac {
		typ = bridge.Failover
	}
	cs.stats.waitTrim(ctx) // a head being dropped is not delivered
	bc, err := c.s.opts.Backend.Subscribe(ctx, bridge.SubscribeOptions{
		Topics: []string{topic}, Principal: c.actingAs(), Subscription: c.s.opts.Subscription, Type: typ,
		ReceiverQueueSize: cs.rq, NackRedeliveryDelay: c.s.opts.NackDelay, ConsumerName: c.id + "/" + cs.tag,
	})
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	cs.bc = bc
	c.s.mu.Unlock()
	if cs.prio != nil {
		go cs.prio.pump(bc.Chan(), cs.quit)
	}
	return nil
}

// awaitFirst waits until a single active consumer's registration is first, then attaches;
// false when the consumer was stopped meanwhile or could not attach (then cancelled).
func (cs *consumer) awaitFirst() bool {
	select {
	case <-cs.quit:
		return false
	case <-cs.first:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		select {
		case <-cs.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := cs.attach(ctx); err != nil {
		select {
		case <-cs.quit:
		default:
			cs.ch.c.s.log.Warn("single active consumer: cannot attach", zap.String("queue", cs.queue), zap.Error(err))
			cs.gone()
		}
		return false
	}
	return true
}

// run delivers messages while the window has room. Deliveries written while more messages
// are already waiting are not flushed one by one: run flushes before it would block (for
// window room or the next message), so a backlog goes out in large socket writes.
func (cs *consumer) run() {
	defer close(cs.exited)
	defer cs.flush()
	if cs.first != nil && !cs.awaitFirst() {
		return
	}
	msgs := cs.bc.Chan()
	for {
		if cs.credit != nil && !cs.take(cs.credit) {
			return
		}
		var token chan struct{}
		if !cs.noAck {
			cs.ch.mu.Lock()
			token = cs.ch.global
			cs.ch.mu.Unlock()
		}
		if token != nil && !cs.take(token) {
			return
		}
		var msg *bridge.Message
		var ok bool
		if cs.prio != nil {
			var gone bool
			if msg, ok, gone = cs.nextByPriority(); gone {
				cs.gone()
			}
			if !ok {
				giveBack(token)
				return
			}
		} else {
			select {
			case <-cs.quit:
				return
			case msg, ok = <-msgs:
			default:
				cs.flush()
				select {
				case <-cs.quit:
					return
				case msg, ok = <-msgs:
				}
			}
			if !ok {
				cs.gone()
				return
			}
		}
		if cs.pol.expired(msg, time.Now()) {
			cs.stats.gone(msg, false)
			cs.ch.c.discard(cs.pol, cs.bc, msg, "expired")
			giveBack(cs.credit) // nothing was delivered
			giveBack(token)
			continue
		}
		cs.deliver(msg, token, len(msgs) > 0)
	}
}

// take takes a window token, flushing first when it has to wait; false: the consumer quits.
func (cs *consumer) take(tokens chan struct{}) bool {
	select {
	case <-tokens:
		return true
	case <-cs.quit:
		return false
	default:
	}
	cs.flush()
	select {
	case <-tokens:
		return true
	case <-cs.quit:
		return false
	}
}

// flush sends the deliveries run wrote without flushing.
func (cs *consumer) flush() {
	if cs.unflushed {
		cs.unflushed = false
		cs.ch.c.flush()
	}
}

// deliver sends basic.deliver; the tag is numbered and conn.wmu taken under ch.mu so that
// tags reach the client in order, but the frames are written after ch.mu is released (acks
// and confirms of the channel need it meanwhile). more: another message is waiting, so
// the write may stay buffered (run flushes before it waits).
func (cs *consumer) deliver(msg *bridge.Message, token chan struct{}, more bool) {
	ch := cs.ch
	exchange, props := fromPulsar(msg)
	ch.mu.Lock()
	if ch.consumers[cs.tag] != cs {
		ch.mu.Unlock()
		giveBack(token)
		return // cancelled meanwhile: the message goes back when the bridge consumer closes
	}
	ch.nextTag++
	tag := ch.nextTag
	if !cs.noAck {
		ch.unacked[tag] = &unacked{cons: cs, bc: cs.bc, msg: msg, pol: cs.pol, stats: cs.stats, token: token}
		cs.outstanding++
		cs.stats.unacked.Add(1)
		cs.stats.took(msg)
	}
	ch.delivered(cs.stats, false, cs.noAck, msg.RedeliveryCount > 0)
	c := ch.c
	c.wwait.Add(1)
	c.wmu.Lock()
	c.wwait.Add(-1)
	ch.mu.Unlock()
	c.writeContentNoFlushLocked(ch.id, &wire.BasicDeliver{ConsumerTag: cs.tag, DeliveryTag: tag, Redelivered: msg.RedeliveryCount > 0,
		Exchange: exchange, RoutingKey: string(msg.Key)}, &props, msg.Value)
	c.s.opts.Metrics.Delivered(1, len(msg.Value))
	if more {
		cs.unflushed = true
	} else {
		c.maybeFlushLocked()
	}
	c.wmu.Unlock()
	if cs.noAck {
		cs.stats.gone(msg, false)
		cs.bc.Ack(msg.ID)
	}
}

// gone: the bridge consumer ended without basic.cancel.
func (cs *consumer) gone() { go cs.serverCancel() }

// serverCancel ends a consumer whose queue went away, telling the client when it
// understands a server-sent basic.cancel.
func (cs *consumer) serverCancel() {
	ch := cs.ch
	ch.mu.Lock()
	mine := ch.consumers[cs.tag] == cs
	if mine {
		delete(ch.consumers, cs.tag)
	}
	ch.mu.Unlock()
	if !mine {
		return
	}
	cs.stop()
	<-cs.exited
	cs.release()
	if ch.c.capable("consumer_cancel_notify") {
		ch.send(&wire.BasicCancel{ConsumerTag: cs.tag, NoWait: true})
	}
}

func (cs *consumer) stop() {
	select {
	case <-cs.quit:
	default:
		close(cs.quit)
	}
}

// release closes the bridge consumer, returning what it still holds to the queue.
func (cs *consumer) release() {
	cs.once.Do(func() {
		cs.stop()
		<-cs.exited // run sets bc
		if cs.bc != nil {
			cs.bc.Close()
		}
		c := cs.ch.c
		if cs.sacKey != "" {
			c.s.sac.unregister(cs.sacKey) // after Close: the next one gets what this one held
		}
		cs.releaseExclusiveConsumer()
		c.s.mu.Lock()
		delete(c.s.consumers[c.topic(cs.queue)], cs)
		c.s.mu.Unlock()
		c.s.consumerGone(c, cs.queue, c.topic(cs.queue), cs.stats)
	})
}

// consumerGone updates the queue's consumers; an auto-delete queue goes with its last one.
func (s *Server) consumerGone(c *conn, name, topic string, stats *queueStats) {
	s.mu.Lock()
	stats.consumers--
	stats.exclusive = false
	last := stats.consumers == 0 && stats.everConsumed
	s.mu.Unlock()
	if !last {
		return
	}
	q, ok := s.topo.queue(c.vhost, name)
	if ok {
		s.used(c.vhost, name, policyOf(name, q)) // unused from now on
	}
	if ok && q.AutoDelete {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.deleteQueue(ctx, c.vhost, topic, name)
	}
}

func (ch *channel) basicCancel(m *wire.BasicCancel) error {
	if ch.replyCancel(m.ConsumerTag, false) {
		return ch.reply(m.NoWait, &wire.BasicCancelOk{ConsumerTag: m.ConsumerTag})
	}
	ch.mu.Lock()
	cs := ch.consumers[m.ConsumerTag]
	delete(ch.consumers, m.ConsumerTag)
	releaseNow := false
	if cs != nil {
		cs.cancelled = true
		releaseNow = cs.outstanding == 0
	}
	ch.mu.Unlock()
	if cs != nil {
		cs.stop()
		<-cs.exited
		if cs.prio != nil && cs.bc != nil {
			cs.prio.requeue(cs.bc)
		}
		// RabbitMQ keeps a cancelled consumer's unacked messages with the channel; the bridge
		// consumer stays open until they are settled, since closing it would requeue them.
		if releaseNow {
			cs.release()
		}
	}
	return ch.reply(m.NoWait, &wire.BasicCancelOk{ConsumerTag: m.ConsumerTag})
}

type settleKind int

const (
	settleAck settleKind = iota
	settleRequeue
	settleDrop
)

func requeueOr(requeue bool) settleKind {
	if requeue {
		return settleRequeue
	}
	return settleDrop // dead-lettered, or dropped when the queue has no dead-letter exchange
}

// settle applies basic.ack, nack or reject to one tag or, with multiple, to every tag up
// to it (0 meaning all). On a transactional channel it takes effect at tx.commit.
func (ch *channel) settle(m wire.Method, tag uint64, multiple bool, kind settleKind) error {
	ch.mu.Lock()
	todo := ch.takeUnackedLocked(tag, multiple)
	if len(todo) == 0 && (!multiple || tag != 0) {
		ch.mu.Unlock()
		return wire.NewError(wire.PreconditionFailed, "unknown delivery tag %d", tag).WithMethod(m)
	}
	if ch.tx != nil {
		ch.tx.settles = append(ch.tx.settles, txSettle{deliveries: todo, kind: kind})
		ch.mu.Unlock()
		return nil
	}
	ch.mu.Unlock()
	ch.apply(todo, kind)
	return nil
}

// takeUnackedLocked removes the deliveries a tag (and multiple) names from the unacked ones.
func (ch *channel) takeUnackedLocked(tag uint64, multiple bool) map[uint64]*unacked {
	todo := map[uint64]*unacked{}
	if multiple {
		for t, u := range ch.unacked {
			if tag == 0 || t <= tag {
				todo[t] = u
				delete(ch.unacked, t)
			}
		}
	} else if u, ok := ch.unacked[tag]; ok {
		todo[tag] = u
		delete(ch.unacked, tag)
	}
	return todo
}

// apply acks, requeues or drops deliveries taken from the unacked ones.
func (ch *channel) apply(todo map[uint64]*unacked, kind settleKind) {
	ch.mu.Lock()
	var release []*consumer
	for _, u := range todo {
		switch kind {
		case settleRequeue:
			u.stats.returned(u.msg)
			u.bc.Nack(u.msg.ID)
		case settleDrop:
			u.stats.gone(u.msg, true)
			ch.c.discard(u.pol, u.bc, u.msg, "rejected")
		default:
			u.stats.gone(u.msg, true)
			u.bc.Ack(u.msg.ID)
			u.stats.counts.ack.Add(1)
			ch.each(func(k *counters) { k.ack.Add(1) })
		}
		u.stats.unacked.Add(-1)
		giveBack(u.token)
		if cs := u.cons; cs != nil {
			cs.outstanding--
			if !cs.cancelled {
				giveBack(cs.credit)
			}
			if cs.cancelled && cs.outstanding == 0 {
				release = append(release, cs)
			}
		}
	}
	ch.mu.Unlock()
	for _, cs := range release {
		cs.release()
	}
}

// basicRecover requeues every unacked delivery of the channel, at once even in a
// transaction (as RabbitMQ does); acks already in the transaction stay there.
func (ch *channel) basicRecover(m *wire.BasicRecover) error {
	if !m.Requeue {
		return wire.NewError(wire.NotImplemented, "requeue=false").WithMethod(m)
	}
	ch.mu.Lock()
	todo := ch.takeUnackedLocked(0, true)
	ch.mu.Unlock()
	ch.apply(todo, settleRequeue)
	return ch.send(&wire.BasicRecoverOk{})
}

// basicGet takes one ready message through a bridge consumer kept per channel and queue.
// Its receiver queue is one message deep, so it holds back little from other consumers.
func (ch *channel) basicGet(m *wire.BasicGet) error {
	c := ch.c
	name, err := ch.queueName(m, m.Queue)
	if err != nil {
		return err
	}
	if err := ch.permit(m, authz.Read, authz.Topic, name); err != nil {
		return err
	}
	q, err := ch.lookupQueue(m, name)
	if err != nil {
		return err
	}
	pol := policyOf(name, q)
	if pol.sac {
		// A getter would be one more consumer on the Failover subscription, which Pulsar
		// may make active in place of the queue's single active consumer.
		return wire.NewError(wire.PreconditionFailed, "basic.get on a queue with x-single-active-consumer is not supported by this gateway (queue '%s' in vhost '%s')", name, c.vhost).WithMethod(m)
	}
	c.s.used(c.vhost, name, pol)
	topic := c.topic(name)
	ctx, cancel := ch.timeout()
	defer cancel()
	ready, _ := c.queueCounts(ctx, name)
	ch.mu.Lock()
	bc := ch.getters[topic]
	ch.mu.Unlock()
	if ready == 0 && bc == nil {
		c.s.stats(topic).counts.getEmpty.Add(1)
		ch.each(func(k *counters) { k.getEmpty.Add(1) })
		return ch.send(&wire.BasicGetEmpty{})
	}
	if bc == nil {
		bc, err = c.s.opts.Backend.Subscribe(ctx, bridge.SubscribeOptions{
			Topics: []string{topic}, Principal: c.actingAs(), Subscription: c.s.opts.Subscription, Type: bridge.Shared,
			ReceiverQueueSize: 1, NackRedeliveryDelay: c.s.opts.NackDelay, ConsumerName: c.id + "/get",
		})
		if err != nil {
			return internal(m, err)
		}
		ch.mu.Lock()
		ch.getters[topic] = bc
		ch.mu.Unlock()
		st := c.s.stats(topic)
		c.s.mu.Lock()
		st.getters++
		c.s.mu.Unlock()
	}
	wait := 200 * time.Millisecond
	if ready == 0 {
		wait = 5 * time.Millisecond // only what the getter already holds
	}
	rctx, rcancel := context.WithTimeout(ctx, wait)
	var msg *bridge.Message
	for {
		msg, err = bc.Receive(rctx)
		if err != nil || !pol.expired(msg, time.Now()) {
			break
		}
		c.s.stats(topic).gone(msg, false)
		c.discard(pol, bc, msg, "expired")
	}
	rcancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			c.s.stats(topic).counts.getEmpty.Add(1)
			ch.each(func(k *counters) { k.getEmpty.Add(1) })
			return ch.send(&wire.BasicGetEmpty{})
		}
		return internal(m, err)
	}
	stats := c.s.stats(topic)
	exchange, props := fromPulsar(msg)
	ch.mu.Lock()
	ch.nextTag++
	tag := ch.nextTag
	if !m.NoAck {
		ch.unacked[tag] = &unacked{bc: bc, msg: msg, pol: pol, stats: stats}
		stats.unacked.Add(1)
		stats.took(msg)
	}
	ch.delivered(stats, true, m.NoAck, msg.RedeliveryCount > 0)
	left := uint32(0)
	if ready > 1 {
		left = ready - 1
	}
	err = c.sendContent(ch.id, &wire.BasicGetOk{DeliveryTag: tag, Redelivered: msg.RedeliveryCount > 0,
		Exchange: exchange, RoutingKey: string(msg.Key), MessageCount: left}, &props, msg.Value)
	ch.mu.Unlock()
	c.s.opts.Metrics.Delivered(1, len(msg.Value))
	if m.NoAck {
		stats.gone(msg, false)
		bc.Ack(msg.ID)
	}
	return err
}

// giveBack returns a token to a window (nil: none). A window replaced by a new basic.qos may
// be full already; the token is then dropped with it.
func giveBack(w chan struct{}) {
	if w == nil {
		return
	}
	select {
	case w <- struct{}{}:
	default:
	}
}

// takeBuffered empties the consumer's priority buffer (purge); nil for other queues.
func (cs *consumer) takeBuffered() []*bridge.Message {
	if cs.prio == nil {
		return nil
	}
	return cs.prio.takeAll()
}
