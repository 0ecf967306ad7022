package mqtt

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/txnindex"
)

// sub is one of a session's subscriptions and its bridge consumer.
type sub struct {
	rec     subRecord
	qos     atomic.Uint32 // granted; a repeated SUBSCRIBE changes it
	durable bool
	shared  bool
	fresh   bool // subscribed, not started (hook.OnPacketProcessed starts it)
	// retainAgain: subscribed again; send the retained messages again
	// [MQTT-3.3.1-9], after the SUBACK.
	retainAgain atomic.Bool
	consumer    bridge.Consumer
	ctx         context.Context
	cancel      context.CancelFunc
}

func (sb *sub) record() subRecord {
	r := sb.rec
	r.Qos = byte(sb.qos.Load())
	return r
}

// open attaches a bridge consumer for rec. A resumed subscription starts at
// the earliest message of topics it has no cursor on yet: they appeared
// while the session was away.
func (ss *session) open(rec subRecord, durable, resume bool) (*sub, error) {
	t, err := ss.s.targetOf(ss.id, rec, durable, ss.actingAs())
	if err != nil {
		return nil, err
	}
	if resume {
		t.opts.InitialPosition = bridge.Earliest
	} else if t.opts.TopicsPattern != "" {
		// A pattern subscription finds new topics after a delay (Pulsar:
		// the discovery period): start at the earliest message, so that
		// none of a new topic's is missed, and skip older messages of
		// existing topics, by time, or for a durable shared group by
		// creating its subscription at their end.
		t.opts.InitialPosition = bridge.Earliest
		if t.group != "" && durable {
			if err := ss.s.pinExisting(ss.ctx, t); err != nil {
				return nil, err
			}
		} else {
			rec.Since = time.Now().UnixNano()
		}
	}
	var c bridge.Consumer
	// A taken-over session on another gateway may hold the consumer a
	// little longer: wait for it, briefly.
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err = ss.s.backend.Subscribe(ss.ctx, t.opts)
		if err == nil || !errors.Is(err, bridge.ErrConsumerBusy) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	sb := &sub{rec: rec, durable: durable, shared: t.group != "", consumer: c}
	sb.qos.Store(uint32(rec.Qos))
	sb.ctx, sb.cancel = context.WithCancel(ss.ctx)
	return sb, nil
}

// start runs the delivery loop of sb, first sending the retained messages
// when the client just subscribed.
func (ss *session) start(sb *sub, retained bool) {
	if n, ok := sb.consumer.(bridge.Notifier); ok {
		ss.startNotified(sb, n, retained)
		return
	}
	ss.spawn(func() {
		if retained {
			ss.sendRetained(sb)
		}
		// Messages come through the consumer's channel, so that what is
		// ready goes out corked, in one write, and the cork comes off
		// once nothing more is waiting (a write per message was most of
		// a single subscriber's cost). Not Receive with a done context to
		// poll: Pulsar's Receive may then nack what it was indexing,
		// which comes back out of order.
		ch := sb.consumer.Chan()
		for {
			var m *bridge.Message
			select {
			case m = <-ch:
			case <-sb.ctx.Done():
				return
			}
			if m == nil {
				return // the consumer closed
			}
			ss.cork.Cork()
			ok := ss.deliverOne(sb, m)
			for ok {
				if m = poll(ch); m == nil {
					break
				}
				ok = ss.deliverOne(sb, m)
			}
			ss.cork.Uncork()
			if !ok {
				return // unacknowledged: the backend delivers it again
			}
		}
	})
}

// startNotified delivers from a consumer that calls back when messages
// wait (the embedded backend's): a goroutine runs only while there are
// messages to deliver (or it waits for the client's window), so an idle
// device's subscription parks none (issue 18: a parked delivery loop, and
// the backend's goroutine feeding its channel, were 4 KiB of stacks each
// device). One delivery goroutine at most runs at a time, in order.
func (ss *session) startNotified(sb *sub, n bridge.Notifier, retained bool) {
	// running: a delivery goroutine runs or is starting; again: messages
	// came while it ran, and it must look once more before it ends.
	var running, again, dead atomic.Bool
	running.Store(true) // the first run, below
	var run func()
	run = func() {
		for {
			again.Store(false)
			ss.cork.Cork()
			ok, closed := true, false
			for ok {
				var m *bridge.Message
				if m, closed = n.TryReceive(); m == nil {
					break
				}
				ok = ss.deliverOne(sb, m)
			}
			ss.cork.Uncork()
			if !ok || closed {
				dead.Store(true) // unacknowledged: the backend delivers it again
				return
			}
			running.Store(false)
			// A ready call that saw running set started none: look again.
			if !again.Load() || !running.CompareAndSwap(false, true) {
				return
			}
		}
	}
	// ready runs under the backend's locks: it only starts a goroutine.
	n.Notify(func() {
		again.Store(true)
		if !dead.Load() && running.CompareAndSwap(false, true) {
			go ss.spawn(run)
		}
	})
	ss.spawn(func() {
		if retained {
			ss.sendRetained(sb)
		}
		run()
	})
}

// poll takes a message that is ready, or nil. A buffered channel (the
// embedded backend's) holds a run of messages to take without a goroutine
// switch each. Through an unbuffered one (Pulsar's), the goroutine that
// feeds it may not be back at its send yet, readied on this thread's run
// queue by the previous receive: let it run once before calling the run
// over, rather than write a message per system call.
func poll(ch <-chan *bridge.Message) *bridge.Message {
	select {
	case m := <-ch:
		return m
	default:
	}
	if cap(ch) > 0 {
		return nil
	}
	runtime.Gosched()
	select {
	case m := <-ch:
		return m
	default:
		return nil
	}
}

// deliverOne delivers a message of sb's consumer; false when the session
// cannot go on.
func (ss *session) deliverOne(sb *sub, m *bridge.Message) bool {
	if sb.rec.Since != 0 && publishedBefore(m.PublishTime, sb.rec.Since) ||
		sb.rec.NoLocal && m.Properties[propClient] == ss.id || // [MQTT-3.8.3-3]
		m.Properties[bridge.TxnMarkerProperty] != "" {
		// Published before the subscription, or by this client, or a
		// Kafka transaction's marker, which holds no message.
		sb.consumer.Ack(m.ID)
		return true
	}
	if m.Properties[bridge.TxnRecordProperty] != "" {
		switch ss.s.kafkaTxnOutcome(sb.ctx, m, ss.cork.Flush) {
		case txnindex.Aborted:
			sb.consumer.Ack(m.ID)
			return true
		case txnindex.Pending: // the subscription ended while it waited
			return false
		}
	}
	qos := min(byte(sb.qos.Load()), messageQos(m))
	retain := sb.rec.RetainAsPub && m.Properties[propRetain] == "1"
	return ss.deliver(sb, sb.consumer, m, mqttTopic(m), qos, retain) == nil
}

// sendRetained sends the retained messages matching a new subscription
// [MQTT-3.8.4-4]; shared subscriptions get none (MQTT 5, 4.8.2).
func (ss *session) sendRetained(sb *sub) {
	if sb.shared || sb.rec.RetainHandling == 2 {
		return
	}
	type rm struct {
		topic string
		m     *bridge.Message
	}
	var msgs []rm
	ss.s.retained.matching(sb.rec.Filter, func(topic string, m *bridge.Message) {
		msgs = append(msgs, rm{topic, m})
	})
	for _, r := range msgs {
		qos := min(byte(sb.qos.Load()), messageQos(r.m))
		if ss.deliver(sb, nil, r.m, r.topic, qos, true) != nil {
			return
		}
	}
}

// deliver writes one message to the client. QoS 0 is acknowledged to the
// backend once written; QoS 1 and 2 take a window slot until the client's
// ack (complete).
func (ss *session) deliver(sb *sub, c bridge.Consumer, m *bridge.Message, topic string, qos byte, retain bool) error {
	left, expired := expiryLeft(m, time.Now())
	if expired { // [MQTT-3.3.2-5]
		if c != nil {
			if err := c.Ack(m.ID); err != nil {
				ss.log.Debug("acknowledging an expired message", zap.Error(err))
			}
		}
		return nil
	}
	if qos > 0 {
		select {
		case ss.window <- struct{}{}:
		default:
			// The client must see what it is to acknowledge, and the
			// answers to its acknowledgements (a QoS 2 PUBREL) while we
			// wait, or the window never frees.
			done := ss.cork.Wait()
			select {
			case ss.window <- struct{}{}:
			case <-sb.ctx.Done():
				done()
				return sb.ctx.Err()
			}
			done()
		}
	}
	pk := publishPacket(m, topic, qos, ss.version)
	pk.FixedHeader.Retain = retain
	if ss.version == 5 {
		pk.Properties.MessageExpiryInterval = left // what is left of it [MQTT-3.3.2-6]
	}
	if sb.rec.Identifier > 0 && ss.version == 5 {
		pk.Properties.SubscriptionIdentifier = []int{sb.rec.Identifier}
	}
	if qos > 0 {
		p := pendingAck{consumer: c, id: m.ID}
		if qos == 2 && c != nil {
			p.key = m.Topic + " " + m.ID.String()
		}
		ss.mu.Lock()
		if id, ok := ss.reuseIDLocked(p.key); ok {
			pk.PacketID, pk.FixedHeader.Dup = id, true
		} else {
			pk.PacketID = ss.nextIDLocked()
		}
		ss.pending[pk.PacketID] = p
		ss.mu.Unlock()
		ss.cl.State.Inflight.Set(pk) // mochi answers PUBREC with PUBREL from it
	}
	if err := ss.cl.WritePacket(pk); err != nil {
		if qos > 0 {
			ss.mu.Lock()
			delete(ss.pending, pk.PacketID)
			ss.mu.Unlock()
			ss.cl.State.Inflight.Delete(pk.PacketID)
			<-ss.window
		}
		if !errors.Is(err, packets.ErrPacketTooLarge) {
			return err
		}
		// The client cannot take it: drop it rather than stall [MQTT-3.1.2-25].
		ss.log.Debug("message larger than the client's maximum packet size", zap.String("topic", topic))
		qos = 0
	}
	if qos == 0 && c != nil {
		if err := c.Ack(m.ID); err != nil {
			ss.log.Debug("acknowledging a delivered message", zap.Error(err))
		}
	}
	return nil
}

// publishedBefore tells whether a message published at pub predates a
// subscription made at since (Unix ns). Pulsar stamps publish times in whole
// milliseconds: such a time is compared by millisecond, so a message of the
// subscription's own millisecond is delivered (an old one at worst, never
// a lost new one). The embedded backend's nanosecond times compare exactly.
func publishedBefore(pub time.Time, since int64) bool {
	if pub.UnixNano()%int64(time.Millisecond) == 0 {
		return pub.UnixMilli() < since/int64(time.Millisecond)
	}
	return pub.UnixNano() < since
}
