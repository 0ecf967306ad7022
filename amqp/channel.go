package amqp

import (
	"context"
	"sync"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// channel is one AMQP channel. Commands run on the connection's reader goroutine; consumer
// goroutines and confirm callbacks share the delivery and confirm state under mu.
type channel struct {
	c   *conn
	id  uint16
	asm wire.Assembler
	ctx context.Context // cancelled when the channel closes
	end context.CancelFunc

	// closing: channel.close was sent; commands are dropped until close-ok.
	closing   bool
	lastQueue string // the queue an empty name means (RabbitMQ's "last declared queue")

	counts counters // message_stats of the management API (snapshot.go)

	mu        sync.Mutex
	consumers map[string]*consumer
	nextTag   uint64
	unacked   map[uint64]*unacked
	prefetch  int                        // basic.qos for consumers created afterwards
	global    chan struct{}              // basic.qos global: tokens shared by the channel's consumers; nil: no limit
	getters   map[string]bridge.Consumer // basic.get consumers, by topic
	confirms  *confirms                  // nil until confirm.select
	tx        *tx                        // nil until tx.select (tx.go)
	replyTag  string                     // the direct reply-to consumer, if any (replyto.go)
	replyKey  string                     // its routable name
	// replies from other gateways waiting for the socket, and whether a goroutine writes
	// them out (replyto.go)
	replyQueue   []queuedReply
	replyWriting bool
}

// unacked is a delivery the client must still ack, nack or reject.
type unacked struct {
	cons  *consumer       // nil for basic.get
	bc    bridge.Consumer // where the ack goes
	msg   *bridge.Message // kept for dead-lettering
	pol   policy
	stats *queueStats
	token chan struct{} // the global window the delivery took a token from, if any
}

func newChannel(c *conn, id uint16) *channel {
	ctx, end := context.WithCancel(context.Background())
	return &channel{c: c, id: id, asm: wire.Assembler{MaxBody: c.s.opts.MaxBody}, ctx: ctx, end: end,
		consumers: map[string]*consumer{}, unacked: map[uint64]*unacked{}, getters: map[string]bridge.Consumer{}}
}

func (ch *channel) send(m wire.Method) error { return ch.c.send(ch.id, m) }

// reply sends m unless the request asked for no-wait.
func (ch *channel) reply(noWait bool, m wire.Method) error {
	if noWait {
		return nil
	}
	return ch.send(m)
}

// handle runs one command. A returned *wire.Error closes the channel or the connection by
// its scope; any other error ends the connection.
func (ch *channel) handle(cmd *wire.Command) error {
	switch m := cmd.Method.(type) {
	case *wire.ChannelClose:
		ch.shutdown()
		ch.c.forget(ch.id)
		return ch.send(&wire.ChannelCloseOk{})
	case *wire.ChannelOpen:
		return wire.NewError(wire.ChannelError, "second 'channel.open' seen").WithMethod(m)
	case *wire.ChannelFlow:
		if !m.Active {
			return wire.NewError(wire.NotImplemented, "active=false").WithMethod(m)
		}
		return ch.send(&wire.ChannelFlowOk{Active: true})
	case *wire.ExchangeDeclare:
		return ch.exchangeDeclare(m)
	case *wire.ExchangeDelete:
		return ch.exchangeDelete(m)
	case *wire.ExchangeBind:
		return ch.exchangeBind(m, m.Destination, m.Source, m.RoutingKey, m.Arguments, true, m.NoWait)
	case *wire.ExchangeUnbind:
		return ch.exchangeBind(m, m.Destination, m.Source, m.RoutingKey, m.Arguments, false, m.NoWait)
	case *wire.QueueDeclare:
		return ch.queueDeclare(m)
	case *wire.QueueBind:
		return ch.queueBind(m)
	case *wire.QueueUnbind:
		return ch.queueUnbind(m)
	case *wire.QueuePurge:
		return ch.queuePurge(m)
	case *wire.QueueDelete:
		return ch.queueDelete(m)
	case *wire.BasicQos:
		return ch.basicQos(m)
	case *wire.BasicConsume:
		return ch.basicConsume(m)
	case *wire.BasicCancel:
		return ch.basicCancel(m)
	case *wire.BasicPublish:
		return ch.basicPublish(m, &cmd.Header.Properties, cmd.Body)
	case *wire.BasicGet:
		return ch.basicGet(m)
	case *wire.BasicAck:
		return ch.settle(m, m.DeliveryTag, m.Multiple, settleAck)
	case *wire.BasicNack:
		return ch.settle(m, m.DeliveryTag, m.Multiple, requeueOr(m.Requeue))
	case *wire.BasicReject:
		return ch.settle(m, m.DeliveryTag, false, requeueOr(m.Requeue))
	case *wire.BasicRecover:
		return ch.basicRecover(m)
	case *wire.BasicRecoverAsync:
		return ch.basicRecover(&wire.BasicRecover{Requeue: m.Requeue})
	case *wire.ConfirmSelect:
		if ch.tx != nil {
			return wire.NewError(wire.PreconditionFailed, "cannot switch from tx to confirm mode").WithMethod(m)
		}
		ch.mu.Lock()
		if ch.confirms == nil {
			ch.confirms = &confirms{}
		}
		ch.mu.Unlock()
		return ch.reply(m.NoWait, &wire.ConfirmSelectOk{})
	case *wire.TxSelect:
		return ch.txSelect(m)
	case *wire.TxCommit:
		return ch.txCommit(m)
	case *wire.TxRollback:
		return ch.txRollback(m)
	}
	if !cmd.Method.ToServer() {
		return wire.NewError(wire.CommandInvalid, "%s is not a client method", cmd.Method.Name()).WithMethod(cmd.Method)
	}
	return wire.NewError(wire.NotImplemented, "%s is not implemented", cmd.Method.Name()).WithMethod(cmd.Method)
}

// handleClosing: after our channel.close, only close-ok ends the channel. A client close
// that crossed ours is answered with close-ok, but the channel stays closing: the client
// got our close too and its close-ok is still to come (RabbitMQ's rabbit_channel does the
// same); freeing the number now would read that close-ok as a method on an unopened channel.
func (ch *channel) handleClosing(m wire.Method) error {
	switch m.(type) {
	case *wire.ChannelCloseOk:
		ch.c.forget(ch.id)
	case *wire.ChannelClose:
		return ch.send(&wire.ChannelCloseOk{})
	}
	return nil
}

// closeWith closes the channel on a soft error: stop its consumers (their unacked messages
// go back to the queue), send channel.close and wait for close-ok.
func (ch *channel) closeWith(e *wire.Error) {
	ch.shutdown()
	ch.closing = true
	ch.asm = wire.Assembler{MaxBody: ch.c.s.opts.MaxBody}
	ch.c.log.Debug("channel error: " + e.Error())
	ch.send(&wire.ChannelClose{ReplyCode: e.Code, ReplyText: e.ReplyText(), ClassID: e.ClassID, MethodID: e.MethodID})
}

// shutdown releases the channel's consumers. Closing a bridge consumer hands its
// unacknowledged messages to other consumers, which is AMQP's requeue on close.
func (ch *channel) shutdown() {
	ch.end()
	ch.replyCancel("", true)
	if ch.tx != nil {
		// Uncommitted publishes are dropped; uncommitted acks are undone, so their
		// messages go back to the queue below like every unacked one.
		ch.untakeSettles(ch.takeTx())
	}
	ch.mu.Lock()
	cons := ch.consumers
	getters := ch.getters
	ch.consumers, ch.getters = map[string]*consumer{}, map[string]bridge.Consumer{}
	for _, u := range ch.unacked {
		u.stats.unacked.Add(-1)
		u.stats.returned(u.msg)
		if u.cons != nil && u.cons.cancelled {
			cons[u.cons.tag+"\x00cancelled"] = u.cons // cancelled, holding unacked deliveries
		}
	}
	ch.unacked = map[uint64]*unacked{}
	ch.confirms = nil
	ch.mu.Unlock()
	for _, cs := range cons {
		cs.stop()
		cs.release()
	}
	for topic, g := range getters {
		g.Close()
		st := ch.c.s.stats(topic)
		ch.c.s.mu.Lock()
		st.getters--
		ch.c.s.mu.Unlock()
	}
}

// timeout bounds one backend call made for a command.
func (ch *channel) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(ch.ctx, 30*time.Second)
}
