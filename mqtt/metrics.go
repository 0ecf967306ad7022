package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/metrics"
)

// packetNames are the request metric's names of the packets a client
// sends.
var packetNames = [16]string{
	packets.Connect: "connect", packets.Publish: "publish", packets.Puback: "puback",
	packets.Pubrec: "pubrec", packets.Pubrel: "pubrel", packets.Pubcomp: "pubcomp",
	packets.Subscribe: "subscribe", packets.Unsubscribe: "unsubscribe",
	packets.Pingreq: "pingreq", packets.Disconnect: "disconnect", packets.Auth: "auth",
}

// answered maps the packets the gateway answers with to the client's
// packet they answer: such a request is counted when its answer goes out,
// with the answer's reason code.
var answered = [16]byte{
	packets.Connack: packets.Connect, packets.Puback: packets.Publish, packets.Pubrec: packets.Publish,
	packets.Pubrel: packets.Pubrec, packets.Pubcomp: packets.Pubrel, packets.Suback: packets.Subscribe,
	packets.Unsuback: packets.Unsubscribe, packets.Pingresp: packets.Pingreq,
}

// countRead counts a client's packet that gets no answer (QoS 0 PUBLISH,
// PUBACK, PUBCOMP, DISCONNECT, AUTH); the rest are counted by countSent.
func (s *Server) countRead(pk *packets.Packet) {
	t := pk.FixedHeader.Type
	switch {
	case t == packets.Publish && pk.FixedHeader.Qos == 0,
		t == packets.Puback, t == packets.Pubcomp, t == packets.Disconnect, t == packets.Auth:
		if t < 16 {
			s.opts.Metrics.Request(packetNames[t], "none")
		}
	}
}

// countSent counts an answer as its request, and a PUBLISH to a client as
// a delivery.
func (s *Server) countSent(pk *packets.Packet) {
	t := pk.FixedHeader.Type
	if t >= 16 {
		return
	}
	if t == packets.Publish {
		s.opts.Metrics.Delivered(1, len(pk.Payload))
		return
	}
	req := answered[t]
	if req == 0 {
		return
	}
	code := pk.ReasonCode
	if t == packets.Suback || t == packets.Unsuback {
		code = 0 // the worst of the filters' codes
		for _, c := range pk.ReasonCodes {
			code = max(code, c)
		}
	}
	s.opts.Metrics.Request(packetNames[req], reasonCodes[code])
}

// reasonCodes are the code labels, "0x00" to "0xff", made once.
var reasonCodes = func() (out [256]string) {
	for i := range out {
		out[i] = fmt.Sprintf("0x%02x", i)
	}
	return out
}()

// SessionFamilies are the gauges SampleSessions fills.
var SessionFamilies = []metrics.Family{{
	Name:   "mqtt_session_messages_waiting",
	Help:   "Messages waiting in the backend for a persistent MQTT session (connected or not): the backlog of its durable subscriptions.",
	Labels: []string{"client_id"},
}}

// SessionView is an MQTT session as an operator's console shows it.
type SessionView struct {
	ClientID string
	// Persistent sessions outlive their connection; their messages wait
	// in durable subscriptions (Waiting) while the client is away.
	Persistent bool
	// Connected: a connection has the session open (on any gateway, for
	// a persistent one; on this one, for a clean one).
	Connected     bool
	Subscriptions []string
	Waiting       int64
}

// SampleSessions puts the backlog of every persistent session.
func (s *Server) SampleSessions(ctx context.Context, put metrics.Put) error {
	sessions, err := s.Sessions(ctx)
	if err != nil {
		return err
	}
	for _, sv := range sessions {
		if sv.Persistent {
			put(0, float64(sv.Waiting), sv.ClientID)
		}
	}
	return nil
}

// Sessions lists the persistent sessions, from their records and the
// backend's subscription stats, which every gateway sees alike, and the
// clean sessions connected to this gateway. A shared subscription's
// backlog belongs to its group, not a session, and is left out.
func (s *Server) Sessions(ctx context.Context) ([]SessionView, error) {
	admin := s.backend.Admin()
	subs := map[string]map[string]int64{} // topic → subscription → backlog
	var all []bridge.TopicInfo
	listed := false
	backlogs := func(topic string) (map[string]int64, error) {
		if m, ok := subs[topic]; ok {
			return m, nil
		}
		list, err := admin.Subscriptions(ctx, topic)
		if err != nil && !errors.Is(err, bridge.ErrTopicNotFound) {
			return nil, err
		}
		m := map[string]int64{}
		for _, si := range list {
			m[si.Name] = si.Backlog
		}
		subs[topic] = m
		return m, nil
	}
	var out []SessionView
	seen := map[string]bool{}
	var failed error
	s.sessions.Range("", func(id string, v []byte) bool {
		var rec sessionRecord
		if json.Unmarshal(v, &rec) != nil {
			return true
		}
		sv := SessionView{ClientID: id, Persistent: true, Connected: rec.Left == 0 && rec.Holder != ""}
		for _, sr := range rec.Subs {
			sv.Subscriptions = append(sv.Subscriptions, sr.Filter)
			t, err := s.targetOf(id, sr, true, "")
			if err != nil || t.group != "" {
				continue
			}
			topics := t.opts.Topics
			if t.opts.TopicsPattern != "" {
				if !listed {
					if all, failed = admin.ListTopics(ctx, s.opts.Namespace); failed != nil {
						return false
					}
					listed = true
				}
				re, err := regexp.Compile("^(?:" + t.opts.TopicsPattern + ")$")
				if err != nil {
					continue
				}
				topics = nil
				for _, ti := range all {
					if re.MatchString(ti.Name) {
						topics = append(topics, ti.Name)
					}
				}
			}
			for _, topic := range topics {
				m, err := backlogs(topic)
				if err != nil {
					failed = err
					return false
				}
				sv.Waiting += m[t.opts.Subscription]
			}
		}
		seen[id] = true
		out = append(out, sv)
		return ctx.Err() == nil
	})
	if failed == nil {
		failed = ctx.Err()
	}
	if failed != nil {
		return nil, failed
	}
	for _, ss := range s.hook.connected() {
		if seen[ss.id] {
			continue
		}
		sv := SessionView{ClientID: ss.id, Persistent: ss.persistent, Connected: true}
		ss.mu.Lock()
		for f := range ss.subs {
			sv.Subscriptions = append(sv.Subscriptions, f)
		}
		ss.mu.Unlock()
		sort.Strings(sv.Subscriptions)
		out = append(out, sv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ClientID < out[j].ClientID })
	return out, nil
}

// ProducerTopics calls f with the topic (or partition) of every producer
// this gateway keeps open for its clients.
func (s *Server) ProducerTopics(f func(topic string)) { s.producers.Topics(f) }
