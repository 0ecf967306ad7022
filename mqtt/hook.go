package mqtt

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	mochi "github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server"
	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/tlsident"
)

// hook is the one mochi hook of the gateway: it keeps a session per
// connection and routes publishes, subscriptions and acks to the bridge.
type hook struct {
	mochi.HookBase
	s *Server

	mu       sync.Mutex
	byClient map[*mochi.Client]*session
	byID     map[string]*session    // the live session of each client id
	wills    map[string]*time.Timer // delayed wills, by client id
}

// live reports whether a connection holds client id: here, or on another
// gateway that is present (a claim of a gone gateway holds nothing).
func (h *hook) live(ctx context.Context, id string) bool {
	return h.here(id) || h.s.claims.claimedLive(ctx, id)
}

// here reports whether a connection of this gateway has client id.
func (h *hook) here(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byID[id] != nil
}

// connected lists the sessions of this gateway's connections.
func (h *hook) connected() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*session, 0, len(h.byID))
	for _, ss := range h.byID {
		out = append(out, ss)
	}
	return out
}

func newHook(s *Server) *hook {
	return &hook{s: s, byClient: map[*mochi.Client]*session{}, byID: map[string]*session{},
		wills: map[string]*time.Timer{}}
}

func (h *hook) ID() string { return "pulsar-gateway" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mochi.OnConnectAuthenticate,
		mochi.OnACLCheck,
		mochi.OnConnect,
		mochi.OnSessionEstablish,
		mochi.OnSessionEstablished,
		mochi.OnDisconnect,
		mochi.OnPacketRead,
		mochi.OnPacketEncode,
		mochi.OnPacketProcessed,
		mochi.OnSubscribed,
		mochi.OnUnsubscribe,
		mochi.OnPublish,
	}, []byte{b})
}

// forget drops what is left of a connection that ended without
// OnDisconnect: mochi skips it when it refuses a CONNECT.
func (h *hook) forget(cl *mochi.Client) {
	h.mu.Lock()
	ss := h.byClient[cl]
	delete(h.byClient, cl)
	if ss != nil && h.byID[cl.ID] == ss {
		delete(h.byID, cl.ID)
	}
	h.mu.Unlock()
	if ss != nil {
		ss.cancel()
	}
}

func (h *hook) session(cl *mochi.Client) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byClient[cl]
}

// OnConnectAuthenticate checks the login against the password file, when
// there is one. The refusal's reason code is set in OnPacketEncode: mochi
// answers every refusal with "bad username or password".
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	if a := h.s.opts.Auth; a != nil && a.identity {
		return h.certLogin(cl)
	}
	ok, bad := h.s.opts.Auth.login(string(pk.Connect.Username), pk.Connect.UsernameFlag, pk.Connect.Password)
	if ok {
		return true
	}
	if ss := h.session(cl); ss != nil {
		// Mosquitto (2.0.11, measured) answers a wrong password as it
		// answers no login: not authorized, 5 (MQTT 5: 0x87), telling a
		// client nothing about which users exist.
		ss.refused = packets.ErrNotAuthorized
	}
	h.s.log.Info("connection refused", zap.String("client", cl.ID), zap.String("username", string(pk.Connect.Username)),
		zap.String("remote", cl.Net.Remote), zap.Bool("bad_credentials", bad))
	return false
}

// certLogin logs a client in by its certificate's CN, which becomes the
// username the ACL sees (use_identity_as_username). The TLS handshake is
// over by the time CONNECT was read.
func (h *hook) certLogin(cl *mochi.Client) bool {
	ss := h.session(cl)
	var cn string
	if cc, ok := cl.Net.Conn.(*corkConn); ok {
		if cert, err := tlsident.PeerCertificate(context.Background(), cc.Conn); err == nil && cert != nil {
			cn = cert.Subject.CommonName
		}
	}
	if cn == "" || ss == nil {
		if ss != nil {
			ss.refused = packets.ErrNotAuthorized
		}
		h.s.log.Info("connection refused: no client certificate CN", zap.String("client", cl.ID), zap.String("remote", cl.Net.Remote))
		return false
	}
	ss.user, ss.hasUser = cn, true
	cl.Properties.Username = []byte(cn)
	return true
}

// OnACLCheck checks subscriptions (write false) against the ACL file. A
// publish is checked in OnPublish instead: mochi would close a 3.1.1
// connection for it (Mosquitto acknowledges and drops the message), and
// write its ack ahead of the ones the ack queue still owes.
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	ss := h.session(cl)
	if write || ss == nil || h.s.opts.Auth == nil {
		return true
	}
	if strings.HasPrefix(strings.ToLower(topic), "$share/") {
		if parts := strings.SplitN(topic, "/", 3); len(parts) == 3 {
			topic = parts[2] // the group is no topic
		}
	}
	if ss.allowed(topic, false) {
		return true
	}
	ss.log.Debug("subscription denied", zap.String("filter", topic))
	return false
}

func (h *hook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	ss := newSession(h.s, cl, pk)
	h.mu.Lock()
	h.byClient[cl] = ss
	h.mu.Unlock()
	h.s.track(cl)
	return nil
}

// OnSessionEstablish takes the session over from an earlier connection of
// the same client id, before mochi would copy that connection's state:
// the backend, not mochi, holds what it had not delivered.
func (h *hook) OnSessionEstablish(cl *mochi.Client, pk packets.Packet) {
	ss := h.session(cl)
	if ss == nil {
		return
	}
	h.mu.Lock()
	old := h.byID[cl.ID]
	h.byID[cl.ID] = ss
	if w := h.wills[cl.ID]; w != nil && w.Stop() { // back within the will delay
		delete(h.wills, cl.ID)
	}
	h.mu.Unlock()
	inherited := false
	if old != nil && old != ss {
		old.takenOver.Store(true)
		old.stop()
		if inherited = !ss.cleanStart && old.persistent; inherited {
			ss.in2 = old.in2
			ss.inherit(old.leftover())
		}
		old.cl.ClearInflights()
		for f := range old.cl.State.Subscriptions.GetAll() {
			old.cl.State.Subscriptions.Delete(f)
		}
	}
	h.s.claims.take(ss.ctx, ss)
	ss.establish(inherited)
}

func (h *hook) OnSessionEstablished(cl *mochi.Client, pk packets.Packet) {
	if ss := h.session(cl); ss != nil {
		ss.resume()
	}
}

func (h *hook) OnDisconnect(cl *mochi.Client, err error, expire bool) {
	ss := h.session(cl)
	if ss == nil {
		return
	}
	ss.stop()
	if err != nil && ss.will != nil && !ss.draining.Load() {
		h.sendWill(ss)
	}
	ss.end()
	h.s.claims.release(context.Background(), ss)
	h.mu.Lock()
	delete(h.byClient, cl)
	if h.byID[cl.ID] == ss {
		delete(h.byID, cl.ID)
	}
	h.mu.Unlock()
}

// OnPacketRead sees the client's acks of what the gateway sent, whatever
// mochi's inflight map says (it shares packet ids across directions).
func (h *hook) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	h.s.countRead(&pk)
	switch pk.FixedHeader.Type {
	case packets.Puback, packets.Pubcomp, packets.Pubrec, packets.Pubrel, packets.Disconnect:
	default:
		return pk, nil
	}
	ss := h.session(cl)
	if ss == nil {
		return pk, nil
	}
	switch pk.FixedHeader.Type {
	case packets.Puback, packets.Pubcomp:
		ss.complete(pk.PacketID)
	case packets.Pubrec:
		if pk.ReasonCode >= packets.ErrUnspecifiedError.Code {
			ss.complete(pk.PacketID) // refused: the flow ends here
		} else {
			ss.cork.corkReader() // mochi answers with a PUBREL
			ss.received(pk.PacketID)
		}
	case packets.Pubrel:
		ss.cork.corkReader() // mochi answers with a PUBCOMP
		ss.released(pk.PacketID)
	case packets.Disconnect:
		// MQTT 5 may change the session expiry on DISCONNECT; mochi thinks
		// it is 0 (newSession), so take the change here. From 0 it is a
		// protocol error [MQTT-3.14.2-2]: left to mochi, which sees a 0
		// and answers DISCONNECT 0x82.
		if pk.Properties.SessionExpiryIntervalFlag && ss.version == 5 && ss.expiry > 0 {
			ss.expiry = pk.Properties.SessionExpiryInterval
			ss.persistent = ss.expiry > 0
			pk.Properties.SessionExpiryIntervalFlag = false
		}
	}
	return pk, nil
}

// OnPacketEncode sets CONNACK's session present from the backend's
// session record, which mochi does not know of, and a refusal's reason
// code. It also keeps user properties on PUBLISH when the client asked for
// no problem information: that request covers other packets only
// [MQTT-3.1.2-29]; mochi drops them.
func (h *hook) OnPacketEncode(cl *mochi.Client, pk packets.Packet) packets.Packet {
	h.s.countSent(&pk)
	if pk.FixedHeader.Type == packets.Publish {
		pk.Mods.DisallowProblemInfo = false
		return pk
	}
	if pk.FixedHeader.Type != packets.Connack {
		return pk
	}
	ss := h.session(cl)
	if ss == nil {
		return pk
	}
	if ss.refused.Code != 0 {
		pk.ReasonCode = ss.refused.Code
		pk.Properties.ReasonString = ss.refused.Reason
		if ss.version < 5 { // 3.1.1's return code 5
			pk.ReasonCode = packets.Err3NotAuthorized.Code
		}
		return pk
	}
	if pk.ReasonCode < packets.ErrUnspecifiedError.Code {
		pk.SessionPresent = ss.present
	}
	return pk
}

// OnSubscribed opens the bridge subscriptions before SUBACK goes out, so a
// failure becomes that filter's SUBACK code (reasonCodes is the SUBACK's).
func (h *hook) OnSubscribed(cl *mochi.Client, pk packets.Packet, reasonCodes []byte) {
	ss := h.session(cl)
	if ss == nil {
		return
	}
	for i, f := range pk.Filters {
		if reasonCodes[i] >= packets.ErrUnspecifiedError.Code {
			continue
		}
		rec := subRecord{Filter: f.Filter, Qos: reasonCodes[i], RetainAsPub: f.RetainAsPublished,
			NoLocal: f.NoLocal, RetainHandling: f.RetainHandling, Identifier: f.Identifier}
		ss.mu.Lock()
		existing := ss.subs[f.Filter]
		ss.mu.Unlock()
		if existing != nil { // a repeated SUBSCRIBE replaces the QoS [MQTT-3.8.4-3]
			existing.qos.Store(uint32(rec.Qos))
			existing.retainAgain.Store(rec.RetainHandling == 0)
			continue
		}
		sb, err := ss.open(rec, ss.persistent, false)
		if err != nil {
			ss.log.Warn("subscribing", zap.String("filter", f.Filter), zap.Error(err))
			reasonCodes[i] = packets.ErrUnspecifiedError.Code
			if errors.Is(err, bridge.ErrForbidden) && ss.version == 5 {
				reasonCodes[i] = packets.ErrNotAuthorized.Code // the store refused the client's principal
			}
			continue
		}
		sb.fresh = true
		if !ss.add(f.Filter, sb) {
			reasonCodes[i] = packets.ErrUnspecifiedError.Code
		}
	}
	ss.save()
}

// OnPacketProcessed starts delivery on new subscriptions once SUBACK is
// out, so retained messages follow it.
func (h *hook) OnPacketProcessed(cl *mochi.Client, pk packets.Packet, err error) {
	if pk.FixedHeader.Type != packets.Subscribe {
		return
	}
	ss := h.session(cl)
	if ss == nil {
		return
	}
	for _, f := range pk.Filters {
		ss.mu.Lock()
		sb := ss.subs[f.Filter]
		started := sb == nil || !sb.fresh
		if sb != nil {
			sb.fresh = false
		}
		ss.mu.Unlock()
		if !started {
			ss.start(sb, true)
		} else if sb != nil && sb.retainAgain.Swap(false) {
			ss.spawn(func() { ss.sendRetained(sb) })
		}
	}
}

// OnUnsubscribe closes the bridge subscriptions; a durable one is deleted,
// unless it is a shared group's.
func (h *hook) OnUnsubscribe(cl *mochi.Client, pk packets.Packet) packets.Packet {
	ss := h.session(cl)
	if ss == nil {
		return pk
	}
	for _, f := range pk.Filters {
		ss.mu.Lock()
		sb := ss.subs[f.Filter]
		delete(ss.subs, f.Filter)
		ss.mu.Unlock()
		if sb == nil {
			continue
		}
		sb.cancel()
		if sb.durable && !sb.shared {
			if err := sb.consumer.Unsubscribe(); err != nil {
				ss.log.Warn("unsubscribing", zap.String("filter", f.Filter), zap.Error(err))
			}
		} else {
			sb.consumer.Close()
		}
	}
	ss.save()
	return pk
}

// OnPublish sends a client's publish to the backend instead of mochi's
// subscribers; the ack follows from the send callback (inbound.go).
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	ss := h.session(cl)
	if ss == nil {
		return pk, packets.ErrRejectPacket
	}
	if !ss.allowed(pk.TopicName, true) {
		ss.log.Debug("publish denied", zap.String("topic", pk.TopicName))
		if pk.FixedHeader.Qos > 0 {
			q := ss.acks()
			q.finish(q.push(pk.PacketID, pk.FixedHeader.Qos), packets.ErrNotAuthorized)
		}
		return pk, packets.ErrRejectPacket
	}
	var q *ackQueue
	var e *inAck
	if pk.FixedHeader.Qos > 0 {
		q = ss.acks()
		e = q.push(pk.PacketID, pk.FixedHeader.Qos)
	}
	var m *in2
	if pk.FixedHeader.Qos == 2 {
		var first bool
		if m, first = ss.in2.begin(pk.PacketID, func(err error) { q.finish(e, err) }); !first {
			// Sent again (DUP) before its PUBREL: stored once already.
			return pk, packets.ErrRejectPacket
		}
	}
	// Not the session's context: a client may leave right after a QoS 0
	// publish (mosquitto_pub does), and what it sent must still go out,
	// in order (a cancelled send fails or is retried behind later ones).
	// The callback copies what it needs: capturing pk would move the
	// packet (most of a kilobyte) to the heap on every publish.
	id, topic := pk.PacketID, pk.TopicName
	h.s.publish(context.Background(), &pk, ss.actingAs(), func(err error) {
		if m != nil {
			ss.in2.finish(id, m, err)
		}
		if e != nil {
			q.finish(e, err)
		} else if err != nil {
			ss.log.Debug("QoS 0 publish failed", zap.String("topic", topic), zap.Error(err))
		}
	})
	return pk, packets.ErrRejectPacket
}
