package mqtt

import (
	"sync"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"
)

// QoS 2 state that outlives a connection. Mochi is told every session is
// clean, so it forgets its inflight packets with the connection; what
// exactly-once needs is kept here instead, moved to the next connection of
// a persistent session (in memory on a take-over, through the session
// record otherwise), as a session's state must be [MQTT-4.3.3]:
//   - inbound: the packet ids of the client's QoS 2 publishes that were
//     stored and not yet released (PUBREL), so that a PUBLISH sent again
//     (DUP, after a reconnect) is acknowledged and not stored twice;
//   - outbound: the ids the client acknowledged with PUBREC, whose PUBREL
//     goes out again on the next connection, and the ids of messages sent
//     and not acknowledged, which go out again with the same id and DUP
//     set, so that the client recognises them.
// A gateway crash loses what was not written to the record at the end of
// a connection: then a duplicate is possible, never a loss.

// inbound2 is the inbound part, shared by a session's connections.
type inbound2 struct {
	mu  sync.Mutex
	ids map[uint16]*in2 // allocated on first use: most clients never use QoS 2
}

// in2 is one QoS 2 publish, from its PUBLISH to its PUBREL.
type in2 struct {
	done    bool
	err     error
	waiters []func(error) // copies sent again before the first was stored
}

// begin registers packet id; first is false for a copy sent again, and then
// done gets the outcome of the first copy.
func (q *inbound2) begin(id uint16, done func(error)) (m *in2, first bool) {
	q.mu.Lock()
	if m = q.ids[id]; m == nil {
		if q.ids == nil {
			q.ids = map[uint16]*in2{}
		}
		m = &in2{}
		q.ids[id] = m
		q.mu.Unlock()
		return m, true
	}
	if !m.done {
		m.waiters = append(m.waiters, done)
		q.mu.Unlock()
		return m, false
	}
	err := m.err
	q.mu.Unlock()
	done(err)
	return m, false
}

// finish records the first copy's outcome; a failed one is forgotten, so
// that the client may send it again.
func (q *inbound2) finish(id uint16, m *in2, err error) {
	q.mu.Lock()
	m.done, m.err = true, err
	waiters := m.waiters
	m.waiters = nil
	if err != nil && q.ids[id] == m {
		delete(q.ids, id)
	}
	q.mu.Unlock()
	for _, w := range waiters {
		w(err)
	}
}

// release ends packet id's flow (PUBREL); false when it was not known.
func (q *inbound2) release(id uint16) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.ids[id]
	delete(q.ids, id)
	return ok
}

func (q *inbound2) has(id uint16) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ids[id] != nil
}

// stored lists the ids whose message is stored, waiting up to wait for
// those still being sent; a send that does not finish in time is left out
// (a copy sent again is then stored again rather than lost).
func (q *inbound2) stored(wait time.Duration) []uint16 {
	for deadline := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		q.mu.Lock()
		var ids []uint16
		pending := false
		for id, m := range q.ids {
			if m.done {
				ids = append(ids, id)
			} else {
				pending = true
			}
		}
		q.mu.Unlock()
		if !pending || time.Now().After(deadline) {
			return ids
		}
	}
}

// restore takes the ids of a session record.
func (q *inbound2) restore(ids []uint16) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range ids {
		if q.ids == nil {
			q.ids = map[uint16]*in2{}
		}
		q.ids[id] = &in2{done: true}
	}
}

// released handles a PUBREL: one for a publish of an earlier connection is
// answered as mochi answers its own, with PUBCOMP success, rather than
// 0x92 (packet id not found).
func (ss *session) released(id uint16) {
	if ss.in2.release(id) {
		if _, ok := ss.cl.State.Inflight.Get(id); !ok {
			ss.cl.State.Inflight.Set(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec},
				PacketID: id, Created: time.Now().Unix()})
		}
	}
}

// outbound2 is what the next connection must send again: the PUBRELs of
// messages the client received (PUBREC) and the packet ids of QoS 2
// messages it did not acknowledge, by message.
type outbound2 struct {
	Rel     []uint16          `json:"rel,omitempty"`
	Unacked map[string]uint16 `json:"unacked,omitempty"`
}

// received handles the client's PUBREC of a QoS 2 message: the client has
// it, so the backend may forget it now (a message acknowledged only on
// PUBCOMP would come again to the next connection under a new id, and be
// delivered twice). The window slot stays taken until PUBCOMP.
func (ss *session) received(id uint16) {
	ss.mu.Lock()
	p, ok := ss.pending[id]
	if ok {
		ss.pending[id] = pendingAck{released: true}
	}
	ss.mu.Unlock()
	if ok && p.consumer != nil {
		ss.ackBackend(p)
	}
}

// leftover is what the session owes its next connection.
func (ss *session) leftover() outbound2 {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var o outbound2
	for id := range ss.rel {
		o.Rel = append(o.Rel, id)
	}
	for id, p := range ss.pending {
		switch {
		case p.released:
			o.Rel = append(o.Rel, id)
		case p.key != "":
			if o.Unacked == nil {
				o.Unacked = map[string]uint16{}
			}
			o.Unacked[p.key] = id
		}
	}
	return o
}

// inherit takes over what a previous connection left: its PUBRELs are sent
// again once CONNACK is out (resend), its unacknowledged messages keep
// their ids when the backend delivers them again.
func (ss *session) inherit(o outbound2) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, id := range o.Rel {
		if ss.rel == nil {
			ss.rel = map[uint16]bool{}
		}
		ss.rel[id] = true
	}
	if len(o.Unacked) > 0 {
		ss.resendIDs = o.Unacked
	}
}

// resend sends the PUBRELs a previous connection left, after CONNACK.
func (ss *session) resend() {
	ss.mu.Lock()
	ids := make([]uint16, 0, len(ss.rel))
	for id := range ss.rel {
		ids = append(ids, id)
	}
	ss.mu.Unlock()
	for _, id := range ids {
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel, Qos: 1},
			PacketID: id, Created: time.Now().Unix()}
		ss.cl.State.Inflight.Set(pk) // keeps the id from new publishes
		if ss.cl.WritePacket(pk) != nil {
			return
		}
	}
}

// reuseID is the packet id an earlier connection sent message key under,
// if it was not acknowledged: it goes out again with that id and DUP set.
func (ss *session) reuseIDLocked(key string) (uint16, bool) {
	id, ok := ss.resendIDs[key]
	if !ok {
		return 0, false
	}
	delete(ss.resendIDs, key)
	if _, busy := ss.pending[id]; busy || ss.rel[id] || ss.in2.has(id) {
		return 0, false
	}
	if _, busy := ss.cl.State.Inflight.Get(id); busy {
		return 0, false
	}
	return id, true
}
