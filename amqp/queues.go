package amqp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// queueArgs are the x-arguments RabbitMQ compares on redeclare (declare_args()); others
// are ignored.
var queueArgs = []string{"x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
	"x-max-length", "x-max-length-bytes", "x-overflow", "x-max-priority", "x-queue-type", "x-queue-mode",
	"x-single-active-consumer"}

// implementedArgs are the queue arguments that take effect here.
var implementedArgs = map[string]bool{"x-queue-type": true, "x-message-ttl": true, "x-single-active-consumer": true,
	"x-dead-letter-exchange": true, "x-dead-letter-routing-key": true, "x-max-length": true,
	"x-max-length-bytes": true, "x-overflow": true, "x-expires": true, "x-max-priority": true}

// topic is the Pulsar topic of a queue of this connection's vhost: never partitioned, so a
// queue keeps one order.
func (c *conn) topic(queue string) string {
	return "persistent://" + c.namespace + "/" + queue
}

// queueName resolves an empty name to the channel's last declared queue.
func (ch *channel) queueName(m wire.Method, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	if ch.lastQueue == "" {
		return "", wire.NewError(wire.NotFound, "no previously declared queue").WithMethod(m)
	}
	return ch.lastQueue, nil
}

// lookupQueue finds a queue this connection may use: 404 when missing, 405 when another
// connection's exclusive queue.
func (ch *channel) lookupQueue(m wire.Method, name string) (queueRec, error) {
	c := ch.c
	q, ok := c.s.topo.queue(c.vhost, name)
	if !ok {
		return q, wire.NewError(wire.NotFound, "no queue '%s' in vhost '%s'", name, c.vhost).WithMethod(m)
	}
	if q.Exclusive && q.Owner != c.owner() {
		ctx, cancel := ch.timeout()
		gone := c.s.dropOrphan(ctx, c.vhost, name, q)
		cancel()
		if gone {
			return q, wire.NewError(wire.NotFound, "no queue '%s' in vhost '%s'", name, c.vhost).WithMethod(m)
		}
		return q, wire.NewError(wire.ResourceLocked, "cannot obtain exclusive access to locked queue '%s' in vhost '%s'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.", name, c.vhost).WithMethod(m)
	}
	return q, nil
}

func (ch *channel) queueDeclare(m *wire.QueueDeclare) error {
	c := ch.c
	if isReplyTo(m.Queue) {
		return ch.replyDeclare(m)
	}
	name := m.Queue
	clientNamed := name != ""
	if name == "" && !m.Passive {
		name = "amq.gen-" + randomID()
	} else if name == "" {
		var err error
		if name, err = ch.queueName(m, ""); err != nil {
			return err
		}
	}
	if len(name) > 255 {
		return wire.NewError(wire.PreconditionFailed, "queue name too long").WithMethod(m)
	}
	// RabbitMQ checks configure on the name, existing or not, generated too.
	op := authz.Create
	if m.Passive {
		op = authz.Describe
	}
	if err := ch.permit(m, op, authz.Topic, name); err != nil {
		return err
	}
	q, exists := c.s.topo.queue(c.vhost, name)
	if exists && !m.Passive && q.Exclusive && q.Owner != c.owner() {
		ctx, cancel := ch.timeout()
		exists = !c.s.dropOrphan(ctx, c.vhost, name, q)
		cancel()
	}
	if m.Passive {
		if !exists {
			return wire.NewError(wire.NotFound, "no queue '%s' in vhost '%s'", name, c.vhost).WithMethod(m)
		}
		if _, err := ch.lookupQueue(m, name); err != nil {
			return err
		}
		return ch.declareOk(m, name)
	}
	if err := checkQueueArgs(m, name, c.vhost, m.Arguments); err != nil {
		return err
	}
	if m.Exclusive {
		m.Durable = false // durable and exclusive is transient exclusive (errata §30)
	}
	want := queueRec{Durable: m.Durable, Exclusive: m.Exclusive, AutoDelete: m.AutoDelete, Args: encodeArgs(m.Arguments)}
	if want.Exclusive {
		want.Owner = c.owner()
	}
	if exists {
		if _, err := ch.lookupQueue(m, name); err != nil {
			return err
		}
		if q.Exclusive != want.Exclusive {
			return wire.NewError(wire.ResourceLocked, "cannot obtain exclusive access to locked queue '%s' in vhost '%s'", name, c.vhost).WithMethod(m)
		}
		if arg := queueMismatch(q, want); arg != "" {
			return wire.NewError(wire.PreconditionFailed, "inequivalent arg '%s' for queue '%s' in vhost '%s'", arg, name, c.vhost).WithMethod(m)
		}
		return ch.declareOk(m, name)
	}
	if clientNamed && strings.HasPrefix(name, "amq.") {
		return wire.NewError(wire.AccessRefused, "queue name '%s' contains reserved prefix 'amq.*'", name).WithMethod(m)
	}
	if dlx, ok := m.Arguments["x-dead-letter-exchange"].(string); ok {
		// A new queue dead-lettering somewhere: read it, write there (RabbitMQ's check).
		if err := ch.permit(m, authz.Read, authz.Topic, name); err != nil {
			return err
		}
		key, hasKey := m.Arguments["x-dead-letter-routing-key"].(string)
		if err := ch.permitRouteVia(m, dlx, key, hasKey); err != nil {
			return err
		}
	}
	for _, a := range queueArgs {
		if _, ok := m.Arguments[a]; ok && !implementedArgs[a] {
			// Accepted, as RabbitMQ would, so that apps setting them (Celery's x-expires)
			// still run; but said loudly, since the behaviour is not there yet.
			c.log.Warn("queue argument not implemented yet; ignored", zap.String("queue", name), zap.String("argument", a))
		}
	}
	ctx, cancel := ch.timeout()
	defer cancel()
	if err := ch.createTopic(ctx, name); err != nil {
		return internal(m, err)
	}
	if err := c.s.topo.putQueue(ctx, c.vhost, name, want); err != nil {
		return internal(m, err)
	}
	return ch.declareOk(m, name)
}

// createTopic creates a queue's topic and subscription. A topic that exists (written by
// Kafka or Pulsar clients, say) becomes a queue from its end, as a new queue starts empty.
func (ch *channel) createTopic(ctx context.Context, name string) error {
	adm := ch.c.s.opts.Backend.Admin()
	topic := ch.c.topic(name)
	start := int64(0)
	if err := adm.CreateTopic(ctx, topic, 0); errors.Is(err, bridge.ErrTopicExists) {
		start = -1
	} else if err != nil {
		return err
	}
	err := adm.CreateSubscription(ctx, topic, ch.c.s.opts.Subscription, start)
	if errors.Is(err, bridge.ErrSubscriptionExists) {
		return nil
	}
	return err
}

func queueMismatch(have, want queueRec) string {
	switch {
	case have.Durable != want.Durable:
		return "durable"
	case have.AutoDelete != want.AutoDelete:
		return "auto_delete"
	}
	for _, a := range queueArgs {
		if !bytes.Equal(knownArgs(have.Args, a), knownArgs(want.Args, a)) {
			return a
		}
	}
	return ""
}

func (ch *channel) declareOk(m *wire.QueueDeclare, name string) error {
	ch.lastQueue = name
	if q, ok := ch.c.s.topo.queue(ch.c.vhost, name); ok {
		ch.c.s.used(ch.c.vhost, name, policyOf(name, q))
	}
	if m.NoWait {
		return nil
	}
	ctx, cancel := ch.timeout()
	defer cancel()
	ready, consumers := ch.c.queueCounts(ctx, name)
	return ch.send(&wire.QueueDeclareOk{Queue: name, MessageCount: ready, ConsumerCount: consumers})
}

// queueCounts are RabbitMQ's message_count (ready messages: backlog less what is delivered
// and unacknowledged here) and consumer_count (of the subscription, every gateway).
func (c *conn) queueCounts(ctx context.Context, name string) (ready, consumers uint32) {
	topic := c.topic(name)
	stats := c.s.stats(topic)
	if l := stats.length.Load(); l != nil && c.s.opts.Backend.Shared() {
		// Other gateways publish and trim too: count from the backend, trim if over.
		c.s.refreshLength(topic, stats, l)
	}
	stats.waitTrim(ctx)
	// Count what was published here before: publishes are asynchronous, counts are not.
	c.s.flushProducer(ctx, topic)
	subs, err := c.s.opts.Backend.Admin().Subscriptions(ctx, topic)
	if err != nil {
		return 0, 0
	}
	for _, s := range subs {
		if s.Name != c.s.opts.Subscription {
			continue
		}
		n := s.Backlog - stats.unacked.Load()
		if l := stats.length.Load(); l != nil {
			// A length-limited queue's own count is exact on this gateway, while the
			// backend's may not show the latest drops yet.
			n, _ = l.ready(stats)
		}
		return uint32(max(n, 0)), c.consumerCount(name, c.s.withoutGetters(stats, s.Consumers))
	}
	return 0, c.consumerCount(name, 0)
}

// withoutGetters takes this gateway's basic.get consumers (consume.go) out of the
// subscription's consumer count: RabbitMQ counts basic.consume consumers only. Those of
// other gateways still count (they are not in the shared state).
func (s *Server) withoutGetters(stats *queueStats, attached int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(attached-stats.getters, 0)
}

// consumerCount is attached, the consumers on the queue's subscription, except on a single
// active consumer queue: there only the active one attaches, and all registered count.
func (c *conn) consumerCount(name string, attached int) uint32 {
	if q, ok := c.s.topo.queue(c.vhost, name); ok && policyOf(name, q).sac {
		return uint32(c.s.sac.registered(c.vhost, name))
	}
	return uint32(attached)
}

func (ch *channel) queueBind(m *wire.QueueBind) error {
	return ch.binding(m, m.Queue, m.Exchange, m.RoutingKey, m.Arguments, true, m.NoWait)
}

func (ch *channel) queueUnbind(m *wire.QueueUnbind) error {
	return ch.binding(m, m.Queue, m.Exchange, m.RoutingKey, m.Arguments, false, false)
}

func (ch *channel) binding(m wire.Method, queue, exchange, key string, args wire.Table, bind, noWait bool) error {
	c := ch.c
	if queue == "" && key == "" {
		key = ch.lastQueue // RabbitMQ: both empty mean the last declared queue, by its name
	}
	queue, err := ch.queueName(m, queue)
	if err != nil {
		return err
	}
	// As RabbitMQ's binding_action: write on the queue, then the default exchange, then read
	// on the exchange.
	if err := ch.permit(m, authz.Write, authz.Topic, queue); err != nil {
		return err
	}
	if exchange == "" {
		return wire.NewError(wire.AccessRefused, "operation not permitted on the default exchange").WithMethod(m)
	}
	if err := ch.permit(m, authz.Read, authz.Exchange, exchange); err != nil {
		return err
	}
	if isReplyTo(queue) {
		return wire.NewError(wire.AccessRefused, "access to queue '%s' in vhost '%s' refused", queue, c.vhost).WithMethod(m)
	}
	if _, err := ch.lookupQueue(m, queue); err != nil {
		return err
	}
	x, ok := c.s.topo.exchange(c.vhost, exchange)
	if !ok {
		return wire.NewError(wire.NotFound, "no exchange '%s' in vhost '%s'", exchange, c.vhost).WithMethod(m)
	}
	if x.Type == "headers" {
		if mode, ok := args["x-match"]; ok {
			switch mode {
			case "all", "any", "all-with-x", "any-with-x":
			default:
				return wire.NewError(wire.PreconditionFailed, "Invalid x-match field value %v; expected all, any, all-with-x, or any-with-x", mode).WithMethod(m)
			}
		}
	}
	ctx, cancel := ch.timeout()
	defer cancel()
	b := bindingRec{Exchange: exchange, Queue: queue, Key: key, Args: encodeArgs(args)}
	if bind {
		if err := c.s.topo.bind(ctx, c.vhost, b); err != nil {
			return internal(m, err)
		}
		return ch.reply(noWait, &wire.QueueBindOk{})
	}
	if err := c.s.topo.unbind(ctx, c.vhost, b); err != nil {
		return internal(m, err)
	}
	return ch.send(&wire.QueueUnbindOk{})
}

func (ch *channel) queuePurge(m *wire.QueuePurge) error {
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
	ctx, cancel := ch.timeout()
	defer cancel()
	ready, _ := c.queueCounts(ctx, name)
	n, err := c.s.purge(ctx, c, name, c.topic(name), policyOf(name, q).sac, int64(ready))
	if err != nil {
		return internal(m, err)
	}
	return ch.reply(m.NoWait, &wire.QueuePurgeOk{MessageCount: uint32(n)})
}

func (ch *channel) queueDelete(m *wire.QueueDelete) error {
	c := ch.c
	name, err := ch.queueName(m, m.Queue)
	if err != nil {
		return err
	}
	if err := ch.permit(m, authz.Delete, authz.Topic, name); err != nil {
		return err
	}
	if _, ok := c.s.topo.queue(c.vhost, name); !ok {
		return ch.reply(m.NoWait, &wire.QueueDeleteOk{}) // RabbitMQ: deleting a missing queue is fine
	}
	if _, err := ch.lookupQueue(m, name); err != nil {
		return err
	}
	ctx, cancel := ch.timeout()
	defer cancel()
	ready, consumers := c.queueCounts(ctx, name)
	if m.IfUnused && consumers > 0 {
		return wire.NewError(wire.PreconditionFailed, "queue '%s' in vhost '%s' in use", name, c.vhost).WithMethod(m)
	}
	if m.IfEmpty && ready > 0 {
		return wire.NewError(wire.PreconditionFailed, "queue '%s' in vhost '%s' is not empty", name, c.vhost).WithMethod(m)
	}
	if err := c.s.deleteQueue(ctx, c.vhost, c.topic(name), name); err != nil {
		return internal(m, err)
	}
	return ch.reply(m.NoWait, &wire.QueueDeleteOk{MessageCount: ready})
}

// deleteQueue removes a queue's record, bindings and topic. Its consumers see their bridge
// consumer end and are cancelled.
func (s *Server) deleteQueue(ctx context.Context, vhost, topic, name string) error {
	if err := s.topo.deleteQueue(ctx, vhost, name); err != nil {
		return err
	}
	s.dropProducer(topic)
	if err := s.opts.Backend.Admin().DeleteTopic(ctx, topic); err != nil && !errors.Is(err, bridge.ErrTopicNotFound) {
		return err
	}
	s.mu.Lock()
	if q := s.queues[topic]; q != nil {
		q.exp.reset()
	}
	delete(s.queues, topic)
	s.mu.Unlock()
	s.forgetUse(ctx, vhost, name)
	return nil
}

// dropExclusive deletes the exclusive queues of a closing connection.
func (s *Server) dropExclusive(c *conn) {
	var names []string
	s.topo.st.Range("q/"+esc(c.vhost)+"/", func(k string, v []byte) bool {
		if strings.Contains(string(v), `"owner":"`+c.owner()+`"`) {
			names = append(names, k)
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10e9)
	defer cancel()
	for _, k := range names {
		name, err := unesc(k[strings.LastIndexByte(k, '/')+1:])
		if err != nil {
			continue
		}
		if q, ok := s.topo.queue(c.vhost, name); ok && q.Exclusive && q.Owner == c.owner() {
			s.deleteQueue(ctx, c.vhost, c.topic(name), name)
		}
	}
}

func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
