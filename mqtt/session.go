package mqtt

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.uber.org/zap"

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
	takenOver  atomic.Bool
	draining   atomic.Bool // the gateway is shutting down: no will
	log        *zap.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stop1  sync.Once
	window chan struct{} // a slot per QoS 1/2 message awaiting the client's ack
	in     *ackQueue

	mu      sync.Mutex
	subs    map[string]*sub // by filter as sent
	pending map[uint16]pendingAck
	lastID  uint16
	restore []subRecord // from the session record, opened once connected
}

// pendingAck is a message sent to the client, acknowledged to the backend
// when the client acknowledges it. Retained messages have no consumer.
type pendingAck struct {
	consumer bridge.Consumer
	id       bridge.MessageID
}

func newSession(s *Server, cl *mochi.Client, pk packets.Packet) *session {
	ss := &session{s: s, cl: cl, id: cl.ID, version: cl.Properties.ProtocolVersion,
		subs: map[string]*sub{}, pending: map[uint16]pendingAck{}, cork: corker(cl.Net.Conn)}
	ss.log = s.log.With(zap.String("client", cl.ID))
	ss.cleanStart = pk.Connect.Clean
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
		atomic.StoreUint32(&cl.Properties.Will.Flag, 0) // we publish it, through the bridge
	}
	n := s.opts.Window
	if rm := int(cl.Properties.Props.ReceiveMaximum); ss.version == 5 && rm > 0 && rm < n {
		n = rm
	}
	ss.window = make(chan struct{}, n)
	ss.ctx, ss.cancel = context.WithCancel(context.Background())
	ss.in = newAckQueue(ss)
	return ss
}

// establish loads or discards the stored session, before CONNACK.
func (ss *session) establish() {
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
}

// resume reopens the stored subscriptions, after CONNACK. They were durable,
// so they stay durable even if this connection's session is not persistent;
// it deletes them when it ends.
func (ss *session) resume() {
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
	for _, sb := range ss.subs {
		if sb.durable {
			rec.Subs = append(rec.Subs, sb.record())
		}
	}
	ss.mu.Unlock()
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
		if _, busy := ss.pending[ss.lastID]; busy {
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
	ss.mu.Unlock()
	if !ok {
		return
	}
	<-ss.window
	if p.consumer != nil {
		if err := p.consumer.Ack(p.id); err != nil {
			ss.log.Debug("acknowledging a delivered message", zap.Error(err))
		}
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
	if len(durable) > 0 {
		if err := ss.s.sessions.Delete(ctx, ss.id); err != nil {
			ss.log.Warn("deleting a session record", zap.Error(err))
		}
	}
}
