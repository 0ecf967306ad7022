package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// sessionRecord is what a persistent session keeps in the state table
// "mqtt-sessions" under its client id: its filters. Messages wait in the
// durable subscriptions themselves.
type sessionRecord struct {
	Subs []subRecord `json:"subs"`
	// Expiry is MQTT 5's session expiry in seconds; 0 never expires
	// (3.1.1), nor does 0xFFFFFFFF.
	Expiry uint32 `json:"exp,omitempty"`
	// Left is when the last connection ended (Unix seconds); 0 while one
	// is open, or after a crash.
	Left int64 `json:"left,omitempty"`
	// Holder is the presence id (bridge.Presence) of the gateway whose
	// connection has the session open (Left 0): once it is gone, a sweep
	// starts the expiry from when it saw that.
	Holder string `json:"holder,omitempty"`
	// Q2 and Out are the QoS 2 state the last connection left (exactly.go).
	Q2  []uint16   `json:"q2,omitempty"`
	Out *outbound2 `json:"out,omitempty"`
}

// expired reports whether the session ended more than Expiry ago.
func (r sessionRecord) expired(now time.Time) bool {
	return r.Expiry > 0 && r.Expiry != math.MaxUint32 && r.Left > 0 &&
		now.Unix()-r.Left > int64(r.Expiry)
}

// subRecord is one subscription as the client asked for it.
type subRecord struct {
	Filter         string `json:"f"` // as sent, $share/g/ included
	Qos            byte   `json:"q"`
	RetainAsPub    bool   `json:"rap,omitempty"`
	NoLocal        bool   `json:"nl,omitempty"`
	RetainHandling byte   `json:"rh,omitempty"`
	Identifier     int    `json:"id,omitempty"`
	// Since (Unix ns) is when a wildcard filter was subscribed: its consumer
	// starts at the earliest message, so that a topic created later is read
	// from its start whenever the backend discovers it (Pulsar: within the
	// discovery period), and drops what was published before.
	Since int64 `json:"since_ns,omitempty"`
}

func (s *Server) loadSession(id string) (sessionRecord, bool) {
	var rec sessionRecord
	b, ok := s.sessions.Get(id)
	if !ok || json.Unmarshal(b, &rec) != nil {
		return sessionRecord{}, false
	}
	return rec, true
}

func (s *Server) saveSession(ctx context.Context, id string, rec sessionRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.sessions.Put(ctx, id, b)
}

// target is where a filter's messages come from in the backend.
type target struct {
	filter string // without $share/g/
	group  string // shared subscription group, "" when not shared
	opts   bridge.SubscribeOptions
}

// targetOf maps a subscription of client id to bridge options.
// principal is whose consumer it is (bridge.ActingAs).
func (s *Server) targetOf(id string, rec subRecord, durable bool, principal string) (target, error) {
	t := target{filter: rec.Filter}
	if strings.HasPrefix(strings.ToLower(rec.Filter), "$share/") {
		parts := strings.SplitN(rec.Filter, "/", 3)
		if len(parts) != 3 {
			return t, errors.New("mqtt: malformed shared filter")
		}
		t.group, t.filter = parts[1], parts[2]
	}
	o := bridge.SubscribeOptions{
		Principal:    principal,
		Subscription: "mqtt-" + encodeBytes(id, false) + "-" + encodeBytes(t.filter, false),
		Type:         bridge.Exclusive,
		NonDurable:   !durable,
		ConsumerName: id,
		// A queue a few windows deep lets the backend hand over messages
		// in runs rather than one per acknowledgement (embedded: one store
		// read each); QoS 0 fan-in and fan-out doubled with it.
		ReceiverQueueSize: 4 * s.opts.Window,
	}
	if t.group != "" {
		o.Subscription, o.Type = t.group, bridge.Shared
	}
	if HasWildcards(t.filter) {
		o.TopicsPattern, o.PatternDiscovery = FilterPattern(s.opts.Namespace, t.filter), s.opts.PatternDiscovery
	} else {
		name, err := s.topicName(t.filter)
		if err != nil {
			return t, err
		}
		o.Topics = []string{name}
	}
	t.opts = o
	return t, nil
}

// dropDurable deletes the durable subscription of a session's filter, on
// every topic it covers: the session ended, its backlog must not grow.
// Shared groups are left alone; other members may use them.
func (s *Server) dropDurable(ctx context.Context, id string, rec subRecord) {
	t, err := s.targetOf(id, rec, true, "")
	if err != nil || t.group != "" {
		return
	}
	topics, err := s.topicsOf(ctx, t)
	if err != nil {
		return
	}
	for _, topic := range topics {
		err := s.backend.Admin().DeleteSubscription(ctx, topic, t.opts.Subscription, true)
		if err != nil && !errors.Is(err, bridge.ErrSubscriptionNotFound) && !errors.Is(err, bridge.ErrTopicNotFound) {
			s.log.Warn("dropping an ended session's subscription", zap.String("topic", topic), zap.String("subscription", t.opts.Subscription), zap.Error(err))
		}
	}
}

// topicsOf lists the existing topics a target covers.
func (s *Server) topicsOf(ctx context.Context, t target) ([]string, error) {
	topics := t.opts.Topics
	if t.opts.TopicsPattern != "" {
		re, err := regexp.Compile("^(?:" + t.opts.TopicsPattern + ")$")
		if err != nil {
			return nil, err
		}
		list, err := s.backend.Admin().ListTopics(ctx, s.opts.Namespace)
		if err != nil {
			return nil, err
		}
		for _, ti := range list {
			if re.MatchString(ti.Name) {
				topics = append(topics, ti.Name)
			}
		}
	}
	return topics, nil
}

// pinExisting creates a durable shared group's subscription at the end of
// every existing topic its pattern covers, so that a consumer starting at
// the earliest message reads only new messages of those, and new topics
// from their start.
func (s *Server) pinExisting(ctx context.Context, t target) error {
	topics, err := s.topicsOf(ctx, t)
	if err != nil {
		return err
	}
	for _, topic := range topics {
		err := s.backend.Admin().CreateSubscription(ctx, topic, t.opts.Subscription, -1)
		if err != nil && !errors.Is(err, bridge.ErrSubscriptionExists) {
			return err
		}
	}
	return nil
}

// dropSession deletes a session's durable subscriptions and its record.
func (s *Server) dropSession(ctx context.Context, id string, rec sessionRecord) {
	for _, r := range rec.Subs {
		s.dropDurable(ctx, id, r)
	}
	if err := s.sessions.Delete(ctx, id); err != nil {
		s.log.Warn("deleting a session record", zap.String("client", id), zap.Error(err))
	}
}

// sweepSessions drops the sessions whose expiry passed while their client
// was away, so their subscriptions stop collecting a backlog.
//
// A session whose connection's gateway died has no Left: once the store
// says that gateway is gone (and no live connection claims the id), its
// expiry runs from now, as if the connection had ended when the sweep saw
// it (at most SessionSweep late).
func (s *Server) sweepSessions(ctx context.Context) {
	now := time.Now()
	var expired, orphans []string
	s.sessions.Range("", func(id string, b []byte) bool {
		var rec sessionRecord
		switch {
		case json.Unmarshal(b, &rec) != nil:
		case rec.expired(now):
			expired = append(expired, id)
		case rec.Left == 0 && rec.Holder != "" && rec.Holder != s.gw && rec.Expiry > 0 && rec.Expiry != math.MaxUint32:
			orphans = append(orphans, id)
		}
		return true
	})
	for _, id := range expired {
		s.expireSession(ctx, id, now)
	}
	gone := map[string]bool{}
	for _, id := range orphans {
		s.orphaned(ctx, id, now, gone)
	}
}

// orphaned starts the expiry of session id if the gateway holding it is
// gone and no live connection claims it; gone caches answers per gateway.
func (s *Server) orphaned(ctx context.Context, id string, now time.Time, gone map[string]bool) {
	rec, ok := s.loadSession(id)
	if !ok || rec.Left != 0 || rec.Holder == "" || rec.Holder == s.gw || s.hook.here(id) {
		return
	}
	g, asked := gone[rec.Holder]
	if !asked {
		alive, err := s.backend.Presence().Alive(ctx, rec.Holder)
		g = err == nil && !alive
		gone[rec.Holder] = g
	}
	if !g || s.claims.claimedLive(ctx, id) {
		return
	}
	s.log.Debug("session of a gone gateway: its expiry runs from now", zap.String("client", id))
	rec.Left = now.Unix()
	if err := s.saveSession(ctx, id, rec); err != nil {
		s.log.Warn("starting the expiry of a gone gateway's session", zap.Error(err))
		return
	}
	s.expireLater(id, time.Duration(rec.Expiry)*time.Second+time.Second)
}

// expireSession drops session id if it expired and no connection took it
// back meanwhile.
func (s *Server) expireSession(ctx context.Context, id string, now time.Time) {
	if s.hook.live(ctx, id) {
		return
	}
	if rec, ok := s.loadSession(id); ok && rec.expired(now) {
		s.log.Debug("session expired", zap.String("client", id))
		s.dropSession(ctx, id, rec)
	}
}

// expireLater drops session id once its expiry has passed, d from now, so
// its subscriptions collect no backlog until the next sweep.
func (s *Server) expireLater(id string, d time.Duration) {
	s.expMu.Lock()
	defer s.expMu.Unlock()
	if s.expiries == nil { // closed
		return
	}
	if t := s.expiries[id]; t != nil {
		t.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.expMu.Lock()
		if s.expiries == nil || s.expiries[id] != t {
			s.expMu.Unlock()
			return
		}
		delete(s.expiries, id)
		s.expiring.Add(1) // under expMu: Close waits for it
		s.expMu.Unlock()
		defer s.expiring.Done()
		s.expireSession(context.Background(), id, time.Now())
	})
	s.expiries[id] = t
}

// stopExpiries stops the expiry timers and waits for running ones: the
// backend is closing; the next gateway's sweep takes over.
func (s *Server) stopExpiries() {
	s.expMu.Lock()
	for _, t := range s.expiries {
		t.Stop()
	}
	s.expiries = nil
	s.expMu.Unlock()
	s.expiring.Wait()
}
