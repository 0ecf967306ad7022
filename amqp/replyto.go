package amqp

import (
	"strings"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to): an RPC client consumes, no-ack, from
// the pseudo-queue amq.rabbitmq.reply-to; its requests published with that reply_to carry
// a routable name amq.rabbitmq.reply-to.<token> instead; a reply published to the default
// exchange with that routing key goes straight to the client, through no queue. The names
// live in this gateway's memory: a reply must be published through the gateway the client
// is connected to (one gateway, or a load balancer that keeps an RPC pair on one).
const replyTo = "amq.rabbitmq.reply-to"

func isReplyTo(name string) bool { return name == replyTo || strings.HasPrefix(name, replyTo+".") }

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
	ch.replyTag, ch.replyKey = tag, replyTo+"."+randomID()
	key := ch.replyKey
	ch.mu.Unlock()
	s := ch.c.s
	s.mu.Lock()
	s.replies[key] = ch
	s.mu.Unlock()
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

// sendReply delivers a reply to the channel consuming key. A reply whose client is gone is
// dropped, as in RabbitMQ (never returned).
func (s *Server) sendReply(key string, p *wire.Properties, body []byte) {
	s.mu.Lock()
	ch := s.replies[key]
	s.mu.Unlock()
	if ch == nil {
		s.log.Debug("direct reply-to: no consumer; reply dropped", zap.String("key", key))
		return
	}
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

// replyDeclare answers queue.declare of the pseudo-queue (always there) or of a reply name
// (there while its consumer is), as RabbitMQ does.
func (ch *channel) replyDeclare(m *wire.QueueDeclare) error {
	if m.Queue != replyTo {
		s := ch.c.s
		s.mu.Lock()
		_, ok := s.replies[m.Queue]
		s.mu.Unlock()
		if !ok {
			return wire.NewError(wire.NotFound, "no queue '%s' in vhost '%s'", m.Queue, ch.c.vhost).WithMethod(m)
		}
	}
	return ch.reply(m.NoWait, &wire.QueueDeclareOk{Queue: m.Queue, MessageCount: 0, ConsumerCount: 1})
}
