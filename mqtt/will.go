package mqtt

import (
	"context"
	"math"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"
	"go.uber.org/zap"
)

// sendWill publishes a will now, or after MQTT 5's will delay unless the
// client comes back first; the delay ends with the session (3.1.3.2.2).
// A delayed will does not survive a gateway restart.
func (h *hook) sendWill(ss *session) {
	delay := time.Duration(ss.will.WillDelayInterval) * time.Second
	if !ss.persistent {
		delay = 0
	} else if ss.expiry != math.MaxUint32 {
		delay = min(delay, time.Duration(ss.expiry)*time.Second)
	}
	if delay == 0 {
		h.s.publishWill(ss)
		return
	}
	if ss.takenOver.Load() || ss.movedTo.Load() != nil {
		return // a new connection took the session over: the client is back
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if old := h.wills[ss.id]; old != nil {
		old.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		h.mu.Lock()
		if h.wills[ss.id] == t {
			delete(h.wills, ss.id)
		}
		h.mu.Unlock()
		h.s.publishWill(ss)
	})
	h.wills[ss.id] = t
}

// publishWill publishes a session's will through the backend. It waits:
// the connection is gone, nothing else is held up.
func (s *Server) publishWill(ss *session) {
	w := ss.will
	if !ss.allowed(w.TopicName, true) {
		ss.log.Info("will not published: the ACL denies its topic", zap.String("topic", w.TopicName))
		return
	}
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: w.Qos, Retain: w.Retain},
		TopicName:   w.TopicName,
		Origin:      ss.id,
		Payload:     w.Payload,
		Properties:  packets.Properties{User: w.User, MessageExpiryInterval: ss.willExpiry},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	s.publish(ctx, &pk, ss.actingAs(), func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			ss.log.Warn("publishing the will", zap.Error(err))
		}
	case <-ctx.Done():
		ss.log.Warn("publishing the will: timed out")
	}
}

// stopWills drops the delayed wills when the gateway stops: the backend is
// closing, and the clients may well reconnect to the next gateway.
// cancelWill drops a delayed will: its client connected again.
func (h *hook) cancelWill(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.wills[id]; t != nil {
		t.Stop()
		delete(h.wills, id)
	}
}

func (h *hook) stopWills() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, t := range h.wills {
		t.Stop()
		delete(h.wills, id)
	}
}
