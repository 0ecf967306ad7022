package amqp

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// x-expires: a queue unused for that many milliseconds (no consumer, no basic.get, no
// declare, on any gateway) is deleted, as on one RabbitMQ node. Publishing is not use.
//
// Every gateway keeps a timer for every queue with x-expires, set to the newest use it
// knows plus x-expires. A use here restarts it exactly; other gateways learn of it through
// the amqp-expires state table, which holds one record per queue:
//
//	u/<vhost>/<queue>   "<unix ms> <server name>"  the queue's last use recorded
//	g/<presence>/<name> "<unix ms>"                a running gateway (its start)
//	e                   "<unix ms>"                when the first gateway of this run started
//
// A gateway records a use only when it is at least x-expires/10 (the slack) newer than its
// previous record, so a basic.get loop writes ten times per x-expires, not per get; other
// gateways therefore count a record as a use until its time plus the slack. The gateway
// that used the queue last deletes it x-expires after that use; any other gateway at most
// the slack later, so a queue goes between x-expires and x-expires*1.1 after its last use
// (plus the clocks' skew between gateways, and a check). Every gateway may delete:
// deleteQueue tolerates a queue already gone.
//
// When a timer fires the gateway asks the subscription's stats whether a consumer is
// attached on another gateway; then it looks again every max(x-expires, expiresRecheck).
// Consumers that vanish with their gateway count as use until the first check that misses
// them.
//
// RabbitMQ restarts the leases of durable queues when the node restarts. A gateway that
// starts while another runs (a registration g/ whose presence is alive) arms its timers
// from the records, so restarting gateways one by one does not extend a queue's life; the
// first gateway of a run arms them from its start, and writes that as e, the earliest
// time later gateways count a queue as used.
const expiresTableName = "amqp-expires"

const expiresRecheck = time.Second

// expiry is one queue's x-expires state on this gateway, under Server.mu.
type expiry struct {
	timer    *time.Timer
	armed    bool          // timer pending or its check running
	d        time.Duration // x-expires
	lastUse  time.Time     // newest use known: here, or a record plus the slack
	localUse time.Time     // newest use here
	wrote    time.Time     // newest use here recorded (or covered by a newer record)
	writing  bool          // recordUses running
	busy     bool          // consumers on another gateway at the last check
}

func (e *expiry) slack() time.Duration { return e.d / 10 }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// reset forgets a deleted queue's state; a check already running finds no queue.
func (e *expiry) reset() {
	if e.timer != nil {
		e.timer.Stop()
	}
	*e = expiry{timer: e.timer}
}

func useKey(vhost, name string) string { return key("u", vhost, name) }

func encodeUse(t time.Time, writer string) []byte {
	return []byte(strconv.FormatInt(t.UnixMilli(), 10) + " " + writer)
}

func decodeUse(v []byte) (t time.Time, writer string, ok bool) {
	ms, writer, _ := strings.Cut(string(v), " ")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}, "", false
	}
	return time.UnixMilli(n), writer, true
}

func (s *Server) queueTopic(vhost, name string) (string, bool) {
	ns, ok := s.namespace(vhost)
	return "persistent://" + ns + "/" + name, ok
}

// used records a use here: declare, basic.get (empty or not), the last consumer leaving.
func (s *Server) used(vhost, name string, p policy) {
	if p.expires <= 0 {
		return
	}
	topic, ok := s.queueTopic(vhost, name)
	if !ok {
		return
	}
	stats := s.stats(topic)
	now := time.Now()
	s.mu.Lock()
	e := &stats.exp
	e.d = time.Duration(p.expires) * time.Millisecond
	e.localUse = later(e.localUse, now)
	e.lastUse = later(e.lastUse, now)
	s.armLocked(vhost, name, topic, stats)
	write := !e.writing && now.Sub(e.wrote) >= e.slack() && now.After(e.wrote)
	if write {
		e.writing = true
	}
	s.mu.Unlock()
	if write {
		go s.recordUses(vhost, name, stats)
	}
}

// usedAt counts a queue as used at t (a record of another gateway, its creation, the
// gateway's start) without recording it.
func (s *Server) usedAt(vhost, name string, t time.Time) {
	q, ok := s.topo.queue(vhost, name)
	if !ok {
		return
	}
	p := policyOf(name, q)
	if p.expires <= 0 {
		return
	}
	topic, ok := s.queueTopic(vhost, name)
	if !ok {
		return
	}
	stats := s.stats(topic)
	s.mu.Lock()
	stats.exp.d = time.Duration(p.expires) * time.Millisecond
	stats.exp.lastUse = later(stats.exp.lastUse, t)
	s.armLocked(vhost, name, topic, stats)
	s.mu.Unlock()
}

// armLocked starts the timer unless it runs; when it fires it re-arms from the newest use.
func (s *Server) armLocked(vhost, name, topic string, stats *queueStats) {
	e := &stats.exp
	if e.armed || s.closed {
		return
	}
	e.armed = true
	wait := time.Until(e.lastUse.Add(e.d))
	if e.timer == nil {
		e.timer = time.AfterFunc(wait, func() { s.expire(vhost, name, topic, stats) })
		return
	}
	e.timer.Reset(wait)
}

// recordUses writes this gateway's newest use, again while uses come a slack apart.
func (s *Server) recordUses(vhost, name string, stats *queueStats) {
	k := useKey(vhost, name)
	for {
		s.mu.Lock()
		e := &stats.exp
		v, d := e.localUse, e.d
		s.mu.Unlock()
		if cur, ok := s.uses.Get(k); !ok || !coveredBy(cur, v) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := s.uses.Put(ctx, k, encodeUse(v, s.name))
			cancel()
			if err != nil {
				s.mu.Lock()
				e.writing = false
				closed := s.closed
				s.mu.Unlock()
				if !closed {
					s.log.Warn("queue use not recorded (x-expires)", zap.String("queue", name), zap.Error(err))
				}
				return // the next use tries again
			}
		}
		s.mu.Lock()
		e.wrote = later(e.wrote, v)
		again := e.localUse.Sub(v) >= d/10 && e.localUse.After(v) && !s.closed
		if !again {
			e.writing = false
		}
		s.mu.Unlock()
		if !again {
			return
		}
	}
}

// coveredBy: a record at least as new as v makes every gateway count v.
func coveredBy(rec []byte, v time.Time) bool {
	t, _, ok := decodeUse(rec)
	return ok && t.UnixMilli() >= v.UnixMilli()
}

// usesChanged follows the records of every gateway.
func (s *Server) usesChanged(k string, v []byte) {
	if v == nil || !strings.HasPrefix(k, "u/") {
		return
	}
	vhost, name, ok := queueKey("q" + k[1:])
	if !ok {
		return
	}
	t, writer, ok := decodeUse(v)
	if !ok || writer == s.name {
		return // ours: localUse is exact
	}
	s.usedAt(vhost, name, s.recordUntil(vhost, name, t))
}

// recordUntil is how long a record counts as use: a slack past it.
func (s *Server) recordUntil(vhost, name string, t time.Time) time.Time {
	if q, ok := s.topo.queue(vhost, name); ok {
		return t.Add(time.Duration(policyOf(name, q).expires) * time.Millisecond / 10)
	}
	return t
}

// expire runs when a queue's timer fires: it re-arms when the queue was used since, and
// deletes it when nobody uses it on any gateway.
func (s *Server) expire(vhost, name, topic string, stats *queueStats) {
	s.mu.Lock()
	e := &stats.exp
	if s.queues[topic] != stats {
		e.armed = false
		s.mu.Unlock()
		return // deleted here
	}
	if s.rearmLocked(stats) {
		s.mu.Unlock()
		return
	}
	getters, wasBusy, d := stats.getters, e.busy, e.d
	s.mu.Unlock()

	if _, ok := s.topo.queue(vhost, name); !ok {
		s.disarm(stats)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	elsewhere := false
	subs, err := s.opts.Backend.Admin().Subscriptions(ctx, topic)
	if err != nil && !errors.Is(err, bridge.ErrTopicNotFound) {
		s.log.Debug("x-expires check failed", zap.String("queue", name), zap.Error(err))
		elsewhere = true // unknown: look again later
	}
	for _, sub := range subs {
		if sub.Name == s.opts.Subscription && sub.Consumers > getters {
			elsewhere = true
		}
	}
	s.mu.Lock()
	switch {
	case s.closed || s.queues[topic] != stats:
		e.armed = false
		s.mu.Unlock()
		return
	case elsewhere:
		e.busy = true
		e.timer.Reset(max(d, expiresRecheck))
		s.mu.Unlock()
		return
	case wasBusy:
		// They left at some time since the last check: count from now.
		e.busy = false
		e.lastUse = later(e.lastUse, time.Now())
	}
	if s.rearmLocked(stats) {
		s.mu.Unlock()
		return
	}
	e.armed = false
	s.mu.Unlock()
	if _, ok := s.topo.queue(vhost, name); !ok {
		return
	}
	s.log.Info("queue expired (x-expires)", zap.String("vhost", vhost), zap.String("queue", name))
	if err := s.deleteQueue(ctx, vhost, topic, name); err != nil {
		s.log.Warn("expired queue not deleted", zap.String("queue", name), zap.Error(err))
	}
}

// rearmLocked re-arms the timer when the queue was used within x-expires, and reports
// whether the check ends here (re-armed, gone, or with consumers here, whose last leaving
// arms it again).
func (s *Server) rearmLocked(stats *queueStats) bool {
	e := &stats.exp
	if wait := time.Until(e.lastUse.Add(e.d)); wait > 0 && !s.closed {
		e.timer.Reset(wait)
		return true
	}
	if s.closed || stats.consumers > 0 || e.d <= 0 {
		e.armed = false
		return true
	}
	return false
}

func (s *Server) disarm(stats *queueStats) {
	s.mu.Lock()
	stats.exp.armed = false
	s.mu.Unlock()
}

// forgetUse drops a deleted queue's record (any gateway may: a missing one is no error).
func (s *Server) forgetUse(ctx context.Context, vhost, name string) {
	k := useKey(vhost, name)
	if _, ok := s.uses.Get(k); ok {
		if err := s.uses.Delete(ctx, k); err != nil {
			s.log.Debug("queue use record not deleted", zap.String("queue", name), zap.Error(err))
		}
	}
}

// openExpiries opens the table, registers this gateway and arms the timers of every queue
// with x-expires: from the records when another gateway runs, else from now.
func (s *Server) openExpiries(ctx context.Context) error {
	t, err := s.opts.Backend.State(ctx, expiresTableName)
	if err != nil {
		return err
	}
	s.uses = t
	s.unwatchUses = t.Watch(s.usesChanged)
	now := time.Now()
	epoch := now
	up := s.othersRunning(ctx)
	if up {
		if v, ok := t.Get("e"); ok {
			if e, _, ok := decodeUse(v); ok {
				epoch = e
			}
		}
	} else if err := t.Put(ctx, "e", encodeUse(now, s.name)); err != nil {
		return err
	}
	if err := t.Put(ctx, s.regKey(), encodeUse(now, s.name)); err != nil {
		return err
	}
	s.topo.st.Range("q/", func(k string, v []byte) bool {
		vhost, name, ok := queueKey(k)
		if !ok {
			return true
		}
		at := epoch
		if rec, ok := t.Get(useKey(vhost, name)); ok && up {
			if r, _, ok := decodeUse(rec); ok {
				at = later(at, s.recordUntil(vhost, name, r))
			}
		}
		s.usedAt(vhost, name, at)
		return true
	})
	s.dropOrphanUses(ctx, now)
	return nil
}

// dropOrphanUses deletes records of queues gone (a use recorded while its queue was being
// deleted), but not of queues this gateway may not have seen yet.
func (s *Server) dropOrphanUses(ctx context.Context, now time.Time) {
	var orphans []string
	s.uses.Range("u/", func(k string, v []byte) bool {
		vhost, name, ok := queueKey("q" + k[1:])
		t, _, ok2 := decodeUse(v)
		if ok && ok2 && now.Sub(t) > time.Minute {
			if _, exists := s.topo.queue(vhost, name); !exists {
				orphans = append(orphans, k)
			}
		}
		return true
	})
	for _, k := range orphans {
		s.uses.Delete(ctx, k)
	}
}

func (s *Server) regKey() string { return key("g", s.gw, s.name) }

// othersRunning: is another gateway registered and present? Registrations of gateways
// gone are removed on the way.
func (s *Server) othersRunning(ctx context.Context) bool {
	var regs []string
	s.uses.Range("g/", func(k string, _ []byte) bool {
		regs = append(regs, k)
		return true
	})
	for _, k := range regs {
		parts := strings.Split(k, "/")
		if len(parts) != 3 {
			continue
		}
		gw, err := unesc(parts[1])
		if err != nil {
			continue
		}
		alive, err := s.opts.Backend.Presence().Alive(ctx, gw)
		if err != nil {
			s.log.Warn("gateway presence unknown (x-expires counts from now)", zap.Error(err))
			return false
		}
		if alive {
			return true
		}
		s.uses.Delete(ctx, k)
	}
	return false
}

// closeExpiries stops following the records and withdraws this gateway's registration.
func (s *Server) closeExpiries() {
	s.unwatchUses()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.uses.Delete(ctx, s.regKey())
}
