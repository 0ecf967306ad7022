package amqp

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to): an RPC client consumes, no-ack, from
// the pseudo-queue amq.rabbitmq.reply-to; its requests published with that reply_to carry
// a routable name amq.rabbitmq.reply-to.<gateway>.<channel> instead; a reply published to
// the default exchange with that routing key goes straight to the client, through no queue.
//
// Across gateways (a shared backend: many gateways on one Pulsar), with no protocol between
// gateways. <gateway> is the gateway's presence id (bridge.Presence). A reply whose
// name carries this gateway's token is handed to its channel in memory, as before. Any other
// reply goes to the reply topic of the gateway its name names, __pgw-amqp-reply-<token> in
// the namespace of vhost "/" (Options.Namespace), routing key as the message key and the
// properties as a queue's messages carry them (props.go). Each gateway reads its own reply
// topic, once it has a reply consumer, with a reader from the topic's start (it made the
// topic, under a token nobody had before), and hands each reply to the channel its name
// names, or drops it when that channel's consumer is gone, as RabbitMQ drops a reply to a
// client that left. Replies cross vhosts as they do in memory (and in RabbitMQ, which
// finds the channel from the name alone).
//
// Why a topic per gateway and a reader, not a subscription per channel or a state table of
// names: a reply consumer costs nothing in the backend (RPC clients that connect for one
// call stay cheap: no topic, no write per consumer), and the reader leaves nothing behind.
// Why a reader (a non-durable cursor) rather than a durable subscription acknowledged as
// replies are handled: both let Pulsar drop what was read (no backlog: under the
// namespace's retention, as a queue's acknowledged messages), but a durable subscription
// would keep a dead gateway's topic, and what repliers still send it, forever; without
// one, Pulsar's inactive-topic deletion (brokerDeleteInactiveTopicsEnabled, on by
// default) removes the topic of a gateway that crashed; and, where that is off, every
// gateway deletes, every replySweep, the reply topics of gateways the store has said are
// gone for a whole sweep (sweepReplyTopics). A gateway that stops cleanly deletes its reply topic
// itself (Server.Close).
//
// Under a retention policy that keeps read messages (infinite retention), the topic keeps
// the replies sent through other gateways until this gateway stops.
//
// Each channel gets remote replies through a buffer of its own (replyBuffer), written out by
// a goroutine while it has some: a client that does not read its socket delays only its
// own replies, and past the buffer its replies are dropped (at most once, as RabbitMQ's).
const (
	replyTo          = "amq.rabbitmq.reply-to"
	replyTopicPrefix = "__pgw-amqp-reply-"
	replyGWLen       = 16 // hex characters of a gateway's token: a presence id
	replySweep       = 5 * time.Minute
	replyBuffer      = 4096 // remote replies waiting for one channel's socket
	replyOpenWait    = 30 * time.Second
)

func isReplyTo(name string) bool { return name == replyTo || strings.HasPrefix(name, replyTo+".") }

// replyGateway is the token of the gateway a reply name belongs to, "" when the name has
// none (not one this gateway's kind hands out).
func replyGateway(name string) string {
	rest, ok := strings.CutPrefix(name, replyTo+".")
	if !ok {
		return ""
	}
	gw, _, ok := strings.Cut(rest, ".")
	if !ok || len(gw) != replyGWLen {
		return ""
	}
	if _, err := hex.DecodeString(gw); err != nil {
		return ""
	}
	return gw
}

// replyTopic is the reply topic of the gateway with token gw.
func (s *Server) replyTopic(gw string) string {
	return "persistent://" + s.opts.Namespace + "/" + replyTopicPrefix + gw
}

// remoteReply says whether a reply to name goes through the backend to another gateway.
func (s *Server) remoteReply(name string) (gw string, ok bool) {
	gw = replyGateway(name)
	return gw, gw != "" && gw != s.replyGW && s.opts.Backend.Shared()
}

// queuedReply is a reply from another gateway waiting for its channel's socket.
type queuedReply struct {
	key  string
	p    wire.Properties
	body []byte
}

// replyConsume starts the channel's reply consumer.
func (ch *channel) replyConsume(m *wire.BasicConsume) error {
	if !m.NoAck {
		return wire.NewError(wire.PreconditionFailed, "reply consumer cannot acknowledge").WithMethod(m)
	}
	tag := m.ConsumerTag
	if tag == "" {
		tag = "amq.ctag-" + randomID()
	}
	ch.mu.Lock()
	_, dup := ch.consumers[tag]
	if dup || ch.replyTag == tag {
		ch.mu.Unlock()
		return wire.NewError(wire.NotAllowed, "attempt to reuse consumer tag '%s'", tag).WithMethod(m)
	}
	if ch.replyTag != "" {
		ch.mu.Unlock()
		return wire.NewError(wire.PreconditionFailed, "reply consumer already set").WithMethod(m)
	}
	s := ch.c.s
	ch.replyTag, ch.replyKey = tag, replyTo+"."+s.replyGW+"."+randomID()
	key := ch.replyKey
	ch.mu.Unlock()
	s.mu.Lock()
	s.replies[key] = ch
	s.mu.Unlock()
	if s.opts.Backend.Shared() {
		// Read the reply topic before the name can reach a replier. Without it, replies
		// through this gateway still arrive; the next reply consumer tries again.
		ctx, cancel := ch.timeout()
		err := s.openReplies(ctx)
		cancel()
		if err != nil {
			ch.c.log.Warn("direct reply-to: replies published through other gateways will not arrive", zap.Error(err))
		}
	}
	return ch.reply(m.NoWait, &wire.BasicConsumeOk{ConsumerTag: tag})
}

// replyCancel ends the reply consumer if tag is it (all: whatever its tag, on close).
func (ch *channel) replyCancel(tag string, all bool) bool {
	ch.mu.Lock()
	if ch.replyTag == "" || (!all && tag != ch.replyTag) {
		ch.mu.Unlock()
		return false
	}
	key := ch.replyKey
	ch.replyTag, ch.replyKey = "", ""
	ch.replyQueue = nil
	ch.mu.Unlock()
	s := ch.c.s
	s.mu.Lock()
	if s.replies[key] == ch {
		delete(s.replies, key)
	}
	s.mu.Unlock()
	return true
}

// stampReplyTo gives a request's reply_to the channel's routable reply name.
func (ch *channel) stampReplyTo(m wire.Method, p *wire.Properties) error {
	if p.ReplyTo != replyTo {
		return nil
	}
	ch.mu.Lock()
	key := ch.replyKey
	ch.mu.Unlock()
	if key == "" {
		return wire.NewError(wire.PreconditionFailed, "fast reply consumer does not exist").WithMethod(m)
	}
	p.ReplyTo = key
	return nil
}

// sendReply delivers a reply to the channel consuming key: in memory when it is this
// gateway's, else through the reply topic of the gateway that handed key out. A reply whose
// client is gone is dropped, as in RabbitMQ: never returned, never nacked (the reply
// counts as routed, mandatory or not: RabbitMQ's direct-reply-to.md). done runs once the
// reply is delivered, dropped, or handed to the backend (failed there too: logged, acked).
func (s *Server) sendReply(ctx context.Context, key string, p *wire.Properties, body []byte, done func(error)) {
	gw, remote := s.remoteReply(key)
	if !remote {
		s.localReply(key, p, body)
		done(nil)
		return
	}
	s.producers.SendAsync(ctx, producerOptions(s.replyTopic(gw)), toPulsar("", key, p, body), func(_ bridge.SendResult, err error) {
		if err != nil {
			s.log.Warn("direct reply-to: reply to another gateway dropped", zap.String("key", key), zap.Error(err))
		}
		done(nil)
	})
}

// localReply hands a reply to this gateway's channel consuming key.
func (s *Server) localReply(key string, p *wire.Properties, body []byte) {
	s.mu.Lock()
	ch := s.replies[key]
	s.mu.Unlock()
	if ch == nil {
		s.log.Debug("direct reply-to: no consumer; reply dropped", zap.String("key", key))
		return
	}
	ch.deliverReply(key, p, body)
}

// deliverReply writes a reply to the channel's reply consumer, if it is still key's.
func (ch *channel) deliverReply(key string, p *wire.Properties, body []byte) {
	ch.mu.Lock()
	if ch.replyKey != key {
		ch.mu.Unlock()
		return
	}
	ch.nextTag++
	tag, ctag := ch.nextTag, ch.replyTag
	c := ch.c
	c.wwait.Add(1)
	c.wmu.Lock()
	c.wwait.Add(-1)
	ch.mu.Unlock()
	c.writeContentLocked(ch.id, &wire.BasicDeliver{ConsumerTag: ctag, DeliveryTag: tag, RoutingKey: key}, p, body)
	c.wmu.Unlock()
}

// queueReply hands a reply that came through the backend to the channel consuming key,
// without waiting for its socket.
func (s *Server) queueReply(key string, p wire.Properties, body []byte) {
	s.mu.Lock()
	ch := s.replies[key]
	s.mu.Unlock()
	if ch == nil {
		s.log.Debug("direct reply-to: no consumer; reply from another gateway dropped", zap.String("key", key))
		return
	}
	ch.mu.Lock()
	if ch.replyKey != key {
		ch.mu.Unlock()
		return
	}
	if len(ch.replyQueue) >= replyBuffer {
		ch.mu.Unlock()
		s.log.Debug("direct reply-to: client too slow; reply dropped", zap.String("key", key))
		return
	}
	ch.replyQueue = append(ch.replyQueue, queuedReply{key: key, p: p, body: body})
	start := !ch.replyWriting
	ch.replyWriting = true
	ch.mu.Unlock()
	if start {
		go ch.writeReplies()
	}
}

// writeReplies writes out the channel's queued replies, until none is left.
func (ch *channel) writeReplies() {
	for {
		ch.mu.Lock()
		if len(ch.replyQueue) == 0 {
			ch.replyQueue = nil
			ch.replyWriting = false
			ch.mu.Unlock()
			return
		}
		r := ch.replyQueue[0]
		ch.replyQueue[0] = queuedReply{}
		ch.replyQueue = ch.replyQueue[1:]
		ch.mu.Unlock()
		ch.deliverReply(r.key, &r.p, r.body)
	}
}

// replyInbox is this gateway's reader of its reply topic.
type replyInbox struct {
	ready  chan struct{} // closed once open (or failed: err)
	err    error
	r      bridge.Reader
	cancel context.CancelFunc
	done   chan struct{} // closed when the read loop ends
}

// openReplies starts reading this gateway's reply topic, once, and waits until it reads.
func (s *Server) openReplies(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return bridge.ErrClosed
	}
	in := s.inbox
	if in == nil {
		in = &replyInbox{ready: make(chan struct{})}
		s.inbox = in
		go s.startReplies(in)
	}
	s.mu.Unlock()
	select {
	case <-in.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	if in.err != nil {
		s.mu.Lock()
		if s.inbox == in {
			s.inbox = nil // the next reply consumer tries again
		}
		s.mu.Unlock()
		return in.err
	}
	return nil
}

func (s *Server) startReplies(in *replyInbox) {
	defer close(in.ready)
	ctx, cancel := context.WithTimeout(context.Background(), replyOpenWait)
	defer cancel()
	b := s.opts.Backend
	topic := s.replyTopic(s.replyGW)
	// Made here, not by a replier's producer: on a broker that auto-creates partitioned
	// topics, a reader could not read it.
	if err := b.Admin().CreateTopic(ctx, topic, 0); err != nil && !errors.Is(err, bridge.ErrTopicExists) {
		in.err = err
		return
	}
	r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: topic, Start: bridge.StartEarliest()})
	if err != nil {
		in.err = err
		return
	}
	in.r = r
	rctx, rcancel := context.WithCancel(context.Background())
	in.cancel, in.done = rcancel, make(chan struct{})
	go s.readReplies(rctx, in)
}

// readReplies hands every reply of this gateway's reply topic to its channel.
func (s *Server) readReplies(ctx context.Context, in *replyInbox) {
	defer close(in.done)
	for {
		m, err := in.r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, bridge.ErrClosed) {
				return
			}
			s.log.Debug("direct reply-to: reading the reply topic", zap.Error(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		_, p := fromPulsar(m)
		s.queueReply(string(m.Key), p, m.Value)
	}
}

// closeReplies stops reading the reply topic and deletes it (Server.Close).
func (s *Server) closeReplies(in *replyInbox) {
	select {
	case <-in.ready:
	case <-time.After(5 * time.Second):
		return // still opening; Pulsar's inactive-topic deletion will do
	}
	if in.err != nil {
		return
	}
	in.cancel()
	<-in.done
	in.r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.opts.Backend.Admin().DeleteTopic(ctx, s.replyTopic(s.replyGW)); err != nil && !errors.Is(err, bridge.ErrTopicNotFound) {
		s.log.Warn("direct reply-to: deleting the reply topic", zap.Error(err))
	}
}

// replyDeclare answers queue.declare of the pseudo-queue (always there) or of a reply name
// (there while its consumer is), as RabbitMQ does. Another gateway's consumers are not
// seen from here: its reply name is there while that gateway's reply topic is.
func (ch *channel) replyDeclare(m *wire.QueueDeclare) error {
	if m.Queue != replyTo {
		s := ch.c.s
		var ok bool
		if gw, remote := s.remoteReply(m.Queue); remote {
			ctx, cancel := ch.timeout()
			_, err := s.opts.Backend.Admin().Topic(ctx, s.replyTopic(gw))
			cancel()
			ok = !errors.Is(err, bridge.ErrTopicNotFound) // unsure (the admin API is away): there
		} else {
			s.mu.Lock()
			_, ok = s.replies[m.Queue]
			s.mu.Unlock()
		}
		if !ok {
			return wire.NewError(wire.NotFound, "no queue '%s' in vhost '%s'", m.Queue, ch.c.vhost).WithMethod(m)
		}
	}
	return ch.reply(m.NoWait, &wire.QueueDeclareOk{Queue: m.Queue, MessageCount: 0, ConsumerCount: 1})
}

// sweepReplyTopics deletes, every replySweep, the reply topics of gateways that are gone
// (crashed: a clean stop deletes its own) and were gone at the sweep before: by then other
// gateways' producers to them have closed for idleness, instead of retrying against a
// deleted topic.
func (s *Server) sweepReplyTopics() {
	every := replySweep
	if s.opts.replySweep > 0 {
		every = s.opts.replySweep
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var gone map[string]bool
	for {
		gone = s.dropGoneReplyTopics(gone)
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
	}
}

// dropGoneReplyTopics deletes the reply topics of gone gateways that were gone already
// (before) and returns those gone now.
func (s *Server) dropGoneReplyTopics(before map[string]bool) map[string]bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topics, err := s.opts.Backend.Admin().ListTopics(ctx, s.opts.Namespace)
	if err != nil {
		s.log.Debug("direct reply-to: listing reply topics", zap.Error(err))
		return before
	}
	prefix := "persistent://" + s.opts.Namespace + "/" + replyTopicPrefix
	gone := map[string]bool{}
	for _, ti := range topics {
		gw, ok := strings.CutPrefix(ti.Name, prefix)
		if !ok || gw == s.replyGW {
			continue
		}
		if !s.gatewayGone(ctx, gw) {
			continue
		}
		if !before[ti.Name] {
			gone[ti.Name] = true // deleted at the next sweep
			continue
		}
		if err := s.opts.Backend.Admin().DeleteTopic(ctx, ti.Name); err != nil && !errors.Is(err, bridge.ErrTopicNotFound) {
			s.log.Debug("direct reply-to: deleting a gone gateway's reply topic", zap.String("topic", ti.Name), zap.Error(err))
			gone[ti.Name] = true
		}
	}
	return gone
}
