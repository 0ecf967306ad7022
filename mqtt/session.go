package mqtt

import (
	"context"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server"
	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// session is one connection's MQTT session: its bridge subscriptions, the
// messages sent to the client and not yet acknowledged, and the acks owed
// to the client for its own publishes.
type session struct {
	s          *Server
	cl         *mochi.Client
	cork       *corkConn // nil: every write goes out at once
	id         string
	version    byte
	persistent bool   // survives the connection (durable subscriptions)
	expiry     uint32 // MQTT 5 session expiry, seconds
	cleanStart bool   // discard what a previous connection left
	present    bool   // CONNACK's session present
	will       *mochi.Will
	willExpiry uint32                 // the will's message expiry (mochi's Will has none)
	takenOver  atomic.Bool            // by another connection of this gateway
	movedTo    atomic.Pointer[string] // taken over by this claim of another gateway
	draining   atomic.Bool            // the gateway is shutting down: no will
	user       string                 // the CONNECT's username, for the ACL
	hasUser    bool
	refused    packets.Code // why OnConnectAuthenticate refused it
	log        clientLog

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stop1  sync.Once
	window chan struct{} // a slot per QoS 1/2 message awaiting the client's ack
	// freed counts window slots that the client's acks freed and that the
	// reader gives back in one go before its next read (releaseWindow).
	freed atomic.Int32
	in    *ackQueue // created by the first QoS 1 or 2 publish (acks)
	in2   *inbound2 // shared with the next connection of a persistent session

	mu      sync.Mutex
	subs    map[string]*sub // by filter as sent
	pending map[uint16]pendingAck
	lastID  uint16
	restore []subRecord // from the session record, opened once connected
	// restored: the record held QoS 2 state, now in memory (rewrite it).
	restored  bool
	rel       map[uint16]bool   // PUBRELs a previous connection left (exactly.go)
	resendIDs map[string]uint16 // its unacknowledged QoS 2 messages' ids
}

// pendingAck is a message sent to the client, acknowledged to the backend
// when the client acknowledges it. Retained messages have no consumer.
type pendingAck struct {
	consumer bridge.Consumer
	id       bridge.MessageID
	key      string // QoS 2: the message, to reuse its packet id (exactly.go)
	released bool   // QoS 2: PUBREC came, the backend was acknowledged
}

func newSession(s *Server, cl *mochi.Client, pk packets.Packet) *session {
	ss := &session{s: s, cl: cl, id: cl.ID, version: cl.Properties.ProtocolVersion,
		subs: map[string]*sub{}, pending: map[uint16]pendingAck{}, cork: corker(cl.Net.Conn)}
	ss.log = clientLog{s.log, cl.ID}
	ss.cleanStart = pk.Connect.Clean
	ss.user, ss.hasUser = string(pk.Connect.Username), pk.Connect.UsernameFlag
	if ss.version == 5 {
		ss.expiry = cl.Properties.Props.SessionExpiryInterval
		ss.persistent = ss.expiry > 0
		cl.Properties.Props.SessionExpiryInterval = 0 // mochi keeps no session: we do
	} else {
		ss.persistent = !pk.Connect.Clean
		cl.Properties.Clean = true
	}
	if atomic.LoadUint32(&cl.Properties.Will.Flag) == 1 {
		w := cl.Properties.Will
		ss.will = &w
		ss.willExpiry = pk.Connect.WillProperties.MessageExpiryInterval
		atomic.StoreUint32(&cl.Properties.Will.Flag, 0) // we publish it, through the bridge
	}
	n := s.opts.Window
	if rm := int(cl.Properties.Props.ReceiveMaximum); ss.version == 5 && rm > 0 && rm < n {
		n = rm
	}
	ss.window = make(chan struct{}, n)
	if ss.cork != nil {
		ss.cork.ss.Store(ss)
	}
	ss.ctx, ss.cancel = context.WithCancel(context.Background())
	ss.in2 = &inbound2{}
	return ss
}

// acks is the session's ack queue. Only the connection's reader calls it,
// so it needs no lock; most connections that only subscribe never do.
func (ss *session) acks() *ackQueue {
	if ss.in == nil {
		ss.in = newAckQueue(ss)
	}
	return ss.in
}

// actingAs is the principal the session's producers and consumers act
// for in the store (bridge.ActingAs): its checked user, else ANONYMOUS.
func (ss *session) actingAs() string {
	p := authz.Anonymous
	if a := ss.s.opts.Auth; a != nil {
		p = a.principal(ss.user, ss.hasUser)
	}
	return bridge.ActingAs(ss.s.opts.Backend, strings.TrimPrefix(p, "User:"))
}

// allowed checks a publish (write) or a subscription against the ACL file
// and the gateway's rules.
func (ss *session) allowed(topic string, write bool) bool {
	a := ss.s.opts.Auth
	if a == nil {
		return true
	}
	if !a.acl.allowed(ss.user, ss.hasUser, ss.id, topic, write) {
		return false
	}
	if a.rules == nil {
		return true
	}
	host, _, err := net.SplitHostPort(ss.cl.Net.Remote)
	if err != nil {
		host = ss.cl.Net.Remote
	}
	return a.ruleAllows(authz.Who{Principal: a.principal(ss.user, ss.hasUser), Host: host}, topic, write)
}

// establish loads or discards the stored session, before CONNACK.
// Inherited: the session of a connection taken over goes on, with its QoS 2
// state, which is newer than the record's.
func (ss *session) establish(inherited bool) {
	if inherited {
		ss.present = true // recorded or not
	}
	rec, ok := ss.s.loadSession(ss.id)
	if !ok {
		return
	}
	if ss.cleanStart || rec.expired(time.Now()) {
		ss.s.dropSession(ss.ctx, ss.id, rec)
		return
	}
	ss.present = true
	ss.restore = rec.Subs
	if !inherited && (len(rec.Q2) > 0 || rec.Out != nil) {
		ss.in2.restore(rec.Q2)
		if rec.Out != nil {
			ss.inherit(*rec.Out)
		}
		ss.restored = true
	}
}

// resume reopens the stored subscriptions, after CONNACK. They were durable,
// so they stay durable even if this connection's session is not persistent;
// it deletes them when it ends.
func (ss *session) resume() {
	ss.resend()
	if ss.restored {
		// The QoS 2 state lives in memory now; left in the record, it
		// would outlive its use if the gateway stopped without end.
		ss.save()
	}
	for _, r := range ss.restore {
		sb, err := ss.open(r, true, true)
		if err != nil {
			ss.log.Warn("resuming a subscription", zap.String("filter", r.Filter), zap.Error(err))
			continue
		}
		if ss.add(r.Filter, sb) {
			ss.start(sb, false)
		}
	}
	ss.restore = nil
}

// save writes the session record of a persistent session.
func (ss *session) save() { ss.saveLeft(0) }

// saveLeft writes the record with the time the connection ended (0: open).
func (ss *session) saveLeft(left int64) {
	if !ss.persistent {
		return
	}
	ss.mu.Lock()
	rec := sessionRecord{Expiry: ss.expiry, Left: left}
	if left == 0 {
		rec.Holder = ss.s.gw
	}
	for _, sb := range ss.subs {
		if sb.durable {
			rec.Subs = append(rec.Subs, sb.record())
		}
	}
	ss.mu.Unlock()
	if left != 0 { // the connection ended: keep its QoS 2 state for the next
		rec.Q2 = ss.in2.stored(5 * time.Second)
		if o := ss.leftover(); len(o.Rel) > 0 || len(o.Unacked) > 0 {
			rec.Out = &o
		}
	}
	if err := ss.s.saveSession(context.Background(), ss.id, rec); err != nil {
		ss.log.Warn("saving a session record", zap.Error(err))
	}
}

// nextID picks a packet id free both here and in mochi's inflight map,
// which it shares with the client's own QoS 2 ids.
func (ss *session) nextIDLocked() uint16 {
	for {
		ss.lastID++
		if ss.lastID == 0 {
			ss.lastID = 1
		}
		if _, busy := ss.pending[ss.lastID]; busy || ss.rel[ss.lastID] || ss.in2.has(ss.lastID) {
			continue
		}
		if _, busy := ss.cl.State.Inflight.Get(ss.lastID); busy {
			continue
		}
		return ss.lastID
	}
}

// complete is the client's final ack (PUBACK, PUBCOMP, or a failed PUBREC)
// of packet id: now the backend may forget the message.
func (ss *session) complete(id uint16) {
	ss.mu.Lock()
	p, ok := ss.pending[id]
	delete(ss.pending, id)
	delete(ss.rel, id)
	ss.mu.Unlock()
	if !ok {
		return
	}
	if ss.cork != nil {
		ss.freed.Add(1) // given back before the reader's next read
	} else {
		<-ss.window
	}
	if p.consumer != nil {
		ss.ackBackend(p)
	}
}

// releaseWindow gives back the window slots freed by the acks read since
// the last read from the network, all at once, before the reader may wait
// for the client. A client acknowledges in bursts (a read holds up to a
// few hundred acks): a slot given back per ack woke the delivery loop per
// ack, on another thread, to write one message per system call while the
// reader went on with the next ack. Given back together, the freed slots
// are refilled and go out in one write, as Mosquitto answers a read's
// worth of acks. The slots stay taken only while the reader processes
// packets it already holds, never while it waits for more. Not inlined: its
// locals would sit in corkConn.Read's frame, parked on every idle
// connection's stack.
//
//go:noinline
func (ss *session) releaseWindow() {
	for n := ss.freed.Swap(0); n > 0; n-- {
		<-ss.window
	}
}

func (ss *session) ackBackend(p pendingAck) {
	if err := p.consumer.Ack(p.id); err != nil {
		ss.log.Debug("acknowledging a delivered message", zap.Error(err))
	}
}

// stop ends delivery: what the client did not acknowledge stays in the
// backend and comes again to the session's next connection. Cancelling
// under mu orders it against add and spawn, which may race with it on a
// take-over.
func (ss *session) stop() {
	ss.stop1.Do(func() {
		ss.mu.Lock()
		ss.cancel()
		subs := make([]*sub, 0, len(ss.subs))
		for _, sb := range ss.subs {
			subs = append(subs, sb)
		}
		ss.mu.Unlock()
		ss.wg.Wait()
		for _, sb := range subs {
			sb.consumer.Close()
		}
	})
}

// add records a subscription; false (and the consumer closed) when the
// session already stopped.
func (ss *session) add(filter string, sb *sub) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ctx.Err() != nil {
		sb.consumer.Close()
		return false
	}
	ss.subs[filter] = sb
	return true
}

// spawn runs f on a goroutine stop waits for, unless the session stopped.
func (ss *session) spawn(f func()) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ctx.Err() != nil {
		return
	}
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		f()
	}()
}

// end runs after the connection closed and the session stopped: a session
// that does not persist drops its durable subscriptions and its record.
func (ss *session) end() {
	if ss.takenOver.Load() {
		return
	}
	if ss.persistent {
		ss.saveLeft(time.Now().Unix()) // its expiry runs from now
		if ss.version == 5 && ss.expiry != math.MaxUint32 && ss.movedTo.Load() == nil {
			// A second more: the record counts whole seconds.
			ss.s.expireLater(ss.id, time.Duration(ss.expiry+1)*time.Second)
		}
		return
	}
	ss.mu.Lock()
	var durable []subRecord
	for _, sb := range ss.subs {
		if sb.durable {
			durable = append(durable, sb.record())
		}
	}
	ss.mu.Unlock()
	ctx := context.Background()
	for _, r := range durable {
		ss.s.dropDurable(ctx, ss.id, r)
	}
	if len(durable) > 0 || ss.restored { // restored: its QoS 2 state is used up
		if err := ss.s.sessions.Delete(ctx, ss.id); err != nil {
			ss.log.Warn("deleting a session record", zap.Error(err))
		}
	}
}

// clientLog logs with the client id, added only when a line is written:
// zap's With would clone the encoder, a buffer of 1 KiB, for every
// connection, and most never log.
type clientLog struct {
	log *zap.Logger
	id  string
}

func (l clientLog) Debug(msg string, f ...zap.Field) { l.write(zap.DebugLevel, msg, f) }
func (l clientLog) Info(msg string, f ...zap.Field)  { l.write(zap.InfoLevel, msg, f) }
func (l clientLog) Warn(msg string, f ...zap.Field)  { l.write(zap.WarnLevel, msg, f) }

func (l clientLog) write(level zapcore.Level, msg string, f []zap.Field) {
	if ce := l.log.Check(level, msg); ce != nil {
		ce.Write(append(f, zap.String("client", l.id))...)
	}
}
