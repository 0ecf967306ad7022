package mqtt

import (
	"sync"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"
	"go.uber.org/zap"
)

// ackQueue holds the PUBACKs and PUBRECs a session owes its client, in the
// order the PUBLISHes came in [MQTT-4.6.0-2]: each is written once the
// backend made its message durable (or failed it) and every earlier one is
// written. Publishes to different topics complete out of order; the queue
// puts them back in order. Its own goroutine writes, so a slow client never
// blocks the backend's callbacks.
type ackQueue struct {
	ss     *session
	mu     sync.Mutex
	q      []*inAck
	signal chan struct{}
	once   sync.Once
}

type inAck struct {
	packetID uint16
	qos      byte
	done     bool
	err      error
}

func newAckQueue(ss *session) *ackQueue {
	return &ackQueue{ss: ss, signal: make(chan struct{}, 1)}
}

// push queues an ack for a QoS 1 or 2 publish; finish it when it is durable.
func (a *ackQueue) push(packetID uint16, qos byte) *inAck {
	a.once.Do(func() { go a.run() })
	e := &inAck{packetID: packetID, qos: qos}
	a.mu.Lock()
	a.q = append(a.q, e)
	a.mu.Unlock()
	return e
}

func (a *ackQueue) finish(e *inAck, err error) {
	a.mu.Lock()
	e.done, e.err = true, err
	a.mu.Unlock()
	select {
	case a.signal <- struct{}{}:
	default:
	}
}

func (a *ackQueue) run() {
	for {
		select {
		case <-a.signal:
		case <-a.ss.ctx.Done():
			return
		}
		a.mu.Lock()
		n := 0
		for n < len(a.q) && a.q[n].done {
			n++
		}
		ready := append([]*inAck(nil), a.q[:n]...)
		a.q = a.q[n:]
		a.mu.Unlock()
		a.ss.cork.Cork()
		for _, e := range ready {
			if !a.write(e) {
				a.ss.cork.Uncork()
				return
			}
		}
		a.ss.cork.Uncork()
	}
}

// write sends one ack; false when the connection is closed for it.
func (a *ackQueue) write(e *inAck) bool {
	ss := a.ss
	code := packets.CodeSuccess
	if e.err == packets.ErrNotAuthorized && ss.version < 5 {
		// A denied publish: 3.1.1 cannot say so; Mosquitto acknowledges
		// it and drops the message.
		e.err = nil
	}
	if e.err != nil {
		if ss.version < 5 {
			// 3.1.1 has no way to refuse a publish but closing.
			ss.log.Warn("publish failed: closing the connection", zap.Error(e.err))
			ss.cl.Stop(e.err)
			return false
		}
		code = packets.ErrUnspecifiedError
		if c, ok := e.err.(packets.Code); ok {
			code = c
		}
		ss.log.Debug("publish failed", zap.Error(e.err))
	}
	ack := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Puback},
		PacketID:    e.packetID,
		ReasonCode:  code.Code,
		Created:     time.Now().Unix(),
	}
	if code.Code >= packets.ErrUnspecifiedError.Code {
		ack.Properties.ReasonString = code.Reason
	}
	if e.qos == 2 {
		ack.FixedHeader.Type = packets.Pubrec
		if e.err == nil {
			ss.cl.State.Inflight.Set(ack) // mochi answers the PUBREL from it
		}
	}
	return ss.cl.WritePacket(ack) == nil
}
