package amqp

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"math"
	"net"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
)

// A snapshot of the server for RabbitMQ's management HTTP API (package amqp/mgmt): what
// is open on this gateway (connections, channels, consumers, unacknowledged deliveries,
// message counters) and what every gateway on the backend shares (the topology state and
// the queues' backlogs).

// MessageCounts are RabbitMQ's message_stats counters, since the server started.
type MessageCounts struct {
	Publish          int64 // messages published (overview) or routed into the queue
	Confirm          int64 // publisher confirms sent
	Deliver          int64 // deliveries to consumers that ack
	DeliverNoAck     int64 // deliveries to no-ack consumers
	Get              int64 // basic.get answered with a message, acked later
	GetNoAck         int64 // basic.get no-ack answered with a message
	GetEmpty         int64 // basic.get answered get-empty
	Ack              int64 // deliveries acknowledged
	Redeliver        int64 // deliveries and gets of redelivered messages
	ReturnUnroutable int64 // mandatory publishes returned: no queue
	DropUnroutable   int64 // publishes that reached no queue and were dropped
}

// counters are MessageCounts kept with atomics.
type counters struct {
	publish, confirm, deliver, deliverNoAck, get, getNoAck, getEmpty, ack, redeliver,
	returnUnroutable, dropUnroutable atomic.Int64
}

func (c *counters) load() MessageCounts {
	return MessageCounts{Publish: c.publish.Load(), Confirm: c.confirm.Load(), Deliver: c.deliver.Load(),
		DeliverNoAck: c.deliverNoAck.Load(), Get: c.get.Load(), GetNoAck: c.getNoAck.Load(),
		GetEmpty: c.getEmpty.Load(), Ack: c.ack.Load(), Redeliver: c.redeliver.Load(),
		ReturnUnroutable: c.returnUnroutable.Load(), DropUnroutable: c.dropUnroutable.Load()}
}

// each applies f to the server's, the vhost's and the channel's counters.
func (ch *channel) each(f func(*counters)) {
	f(&ch.c.s.counts)
	if ch.c.vcounts != nil {
		f(ch.c.vcounts)
	}
	f(&ch.counts)
}

// vhostCounts are a vhost's counters, made on first use.
func (s *Server) vhostCounts(vhost string) *counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.vcounts[vhost]
	if k == nil {
		k = &counters{}
		s.vcounts[vhost] = k
	}
	return k
}

// VHostCounts are a vhost's message counters on this gateway since it started.
func (s *Server) VHostCounts(vhost string) MessageCounts {
	return s.vhostCounts(vhost).load()
}

// delivered counts a delivery (consume) or get in the queue's, the channel's, the vhost's
// and the server's counters.
func (ch *channel) delivered(stats *queueStats, get, noAck, redelivered bool) {
	for _, c := range []*counters{&ch.c.s.counts, ch.c.vcounts, &stats.counts, &ch.counts} {
		if c == nil {
			continue
		}
		switch {
		case get && noAck:
			c.getNoAck.Add(1)
		case get:
			c.get.Add(1)
		case noAck:
			c.deliverNoAck.Add(1)
		default:
			c.deliver.Add(1)
		}
		if redelivered {
			c.redeliver.Add(1)
		}
	}
}

// ConnectionInfo is one open AMQP connection of this gateway.
type ConnectionInfo struct {
	// Name is RabbitMQ's: "peer_host:peer_port -> host:port".
	Name             string
	User             string
	VHost            string
	Peer, Local      net.Addr
	ClientProperties map[string]any // the client's connection.start-ok table, as JSON values
	AuthMechanism    string
	ConnectedAt      time.Time
	Channels         int
	FrameMax         uint32
	ChannelMax       uint16
	Heartbeat        time.Duration
	TLS              bool
	// Who is the subject of authorization checks (for listing a user's own connections).
	Who authz.Who
}

// ChannelInfo is one open channel of this gateway.
type ChannelInfo struct {
	Connection     string // ConnectionInfo.Name
	Number         uint16
	User, VHost    string
	Consumers      int
	Unacked        int
	Prefetch       int // basic.qos for new consumers
	GlobalPrefetch int // basic.qos global; 0: none
	Counts         MessageCounts
	ConsumerList   []ConsumerInfo // by tag
	Confirm        bool
	Transactional  bool
	Peer           net.Addr
}

// ConsumerInfo is one basic.consume consumer of a channel.
type ConsumerInfo struct {
	Tag, Queue  string
	AckRequired bool
	Exclusive   bool
	Prefetch    int // the consumer's window; 0: none
	Arguments   map[string]any
}

// QueueInfo is one queue: its record (shared) and its counts.
type QueueInfo struct {
	VHost, Name                    string
	Durable, Exclusive, AutoDelete bool
	Arguments                      map[string]any
	// Messages is the backlog of the queue's subscription: every gateway sees the same.
	Messages int64
	// Unacked are deliveries this gateway's consumers hold; Ready is Messages less them.
	Ready, Unacked int64
	// Consumers is the subscription's consumer count (every gateway); SAC queues count
	// registrations, as queue.declare-ok does.
	Consumers int
	Counts    MessageCounts // this gateway's, since it started
	// Owner is the exclusive owner's connection id on this gateway, if any.
	Owner string
}

// ExchangeInfo is one exchange, the predeclared ones included.
type ExchangeInfo struct {
	VHost, Name                   string
	Type                          string
	Durable, AutoDelete, Internal bool
	Arguments                     map[string]any
}

// BindingInfo is one binding; DestinationType is "queue" or "exchange". Bindings of the
// default exchange (every queue by its name) are listed as RabbitMQ lists them.
type BindingInfo struct {
	VHost, Source, Destination, DestinationType, RoutingKey string
	Arguments                                               map[string]any
}

// Counts are this gateway's message counters since it started.
func (s *Server) Counts() MessageCounts { return s.counts.load() }

// connName is the management API's name of a connection.
func connName(nc net.Conn) string {
	return nc.RemoteAddr().String() + " -> " + nc.LocalAddr().String()
}

func (s *Server) openConns() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (c *conn) channelList() []*channel {
	c.chansMu.Lock()
	defer c.chansMu.Unlock()
	out := make([]*channel, 0, len(c.chans))
	for _, ch := range c.chans {
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Connections lists this gateway's open connections.
func (s *Server) Connections() []ConnectionInfo {
	var out []ConnectionInfo
	for _, c := range s.openConns() {
		_, isTLS := c.nc.(*tls.Conn)
		out = append(out, ConnectionInfo{Name: connName(c.nc), User: c.user, VHost: c.vhost,
			Peer: c.nc.RemoteAddr(), Local: c.nc.LocalAddr(), ClientProperties: JSONTable(c.clientProps),
			AuthMechanism: c.mechanism, ConnectedAt: c.connectedAt, Channels: len(c.channelList()),
			FrameMax: c.frameMax, ChannelMax: c.channelMax, Heartbeat: c.heartbeat, TLS: isTLS, Who: c.who})
	}
	return out
}

// Channels lists the open channels of this gateway's connections.
func (s *Server) Channels() []ChannelInfo {
	var out []ChannelInfo
	for _, c := range s.openConns() {
		name := connName(c.nc)
		for _, ch := range c.channelList() {
			ch.mu.Lock()
			info := ChannelInfo{Connection: name, Number: ch.id, User: c.user, VHost: c.vhost, Peer: c.nc.RemoteAddr(),
				Consumers: len(ch.consumers), Unacked: len(ch.unacked), Prefetch: ch.prefetch,
				GlobalPrefetch: cap(ch.global), Confirm: ch.confirms != nil, Transactional: ch.tx != nil,
				Counts: ch.counts.load()}
			for _, cs := range ch.consumers {
				info.ConsumerList = append(info.ConsumerList, ConsumerInfo{Tag: cs.tag, Queue: cs.queue, AckRequired: !cs.noAck,
					Exclusive: cs.exclKey != "", Prefetch: cap(cs.credit), Arguments: JSONTable(cs.args)})
			}
			ch.mu.Unlock()
			sort.Slice(info.ConsumerList, func(i, j int) bool { return info.ConsumerList[i].Tag < info.ConsumerList[j].Tag })
			out = append(out, info)
		}
	}
	return out
}

// CloseConnection closes the connection named name (ConnectionInfo.Name) as RabbitMQ's
// management plugin does: connection.close 320 CONNECTION_FORCED with reason, then, if
// the client does not answer with close-ok in a moment, the socket; the client reads
// "CONNECTION_FORCED - " and reason. False: no such
// connection.
func (s *Server) CloseConnection(name, reason string) bool {
	for _, c := range s.openConns() {
		if connName(c.nc) != name {
			continue
		}
		c.closeConn(wire.NewError(wire.ConnectionForced, "%s", reason))
		c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		return true
	}
	return false
}

// VHosts lists the vhosts in use: "/" and every vhost that has a queue or an exchange
// in the topology, or an open connection here. (A vhost is a Pulsar namespace, which the
// gateway does not list.)
func (s *Server) VHosts() []string {
	seen := map[string]bool{"/": true}
	s.topo.st.Range("", func(k string, _ []byte) bool {
		parts := strings.SplitN(k, "/", 3)
		if len(parts) == 3 && (parts[0] == "q" || parts[0] == "x") {
			if v, err := unesc(parts[1]); err == nil {
				seen[v] = true
			}
		}
		return true
	})
	for _, c := range s.openConns() {
		if c.vhost != "" {
			seen[c.vhost] = true
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Exchanges lists vhost's exchanges ("" is every vhost), predeclared ones included, by
// vhost and name.
func (s *Server) Exchanges(vhost string) []ExchangeInfo {
	var out []ExchangeInfo
	for _, v := range s.vhostsOr(vhost) {
		for name, typ := range predeclared {
			out = append(out, ExchangeInfo{VHost: v, Name: name, Type: typ, Durable: true,
				Internal: false})
		}
		s.topo.st.Range("x/"+esc(v)+"/", func(k string, b []byte) bool {
			var x exchangeRec
			name, err := unesc(strings.TrimPrefix(k, "x/"+esc(v)+"/"))
			if err != nil || json.Unmarshal(b, &x) != nil {
				return true
			}
			out = append(out, ExchangeInfo{VHost: v, Name: name, Type: x.Type, Durable: x.Durable,
				AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: JSONTable(decodeArgs(x.Args))})
			return true
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].VHost != out[j].VHost {
			return out[i].VHost < out[j].VHost
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (s *Server) vhostsOr(vhost string) []string {
	if vhost != "" {
		return []string{vhost}
	}
	return s.VHosts()
}

// Bindings lists vhost's bindings ("" is every vhost): the default exchange's to every
// queue first, then the stored ones, as RabbitMQ orders them.
func (s *Server) Bindings(vhost string) []BindingInfo {
	var out []BindingInfo
	for _, v := range s.vhostsOr(vhost) {
		for _, q := range s.queueRecs(v) {
			out = append(out, BindingInfo{VHost: v, Source: "", Destination: q.name, DestinationType: "queue", RoutingKey: q.name})
		}
		var stored []BindingInfo
		s.topo.st.Range("b/"+esc(v)+"/", func(_ string, b []byte) bool {
			var r bindingRec
			if json.Unmarshal(b, &r) != nil {
				return true
			}
			typ := "queue"
			if r.ToExchange {
				typ = "exchange"
			}
			stored = append(stored, BindingInfo{VHost: v, Source: r.Exchange, Destination: r.Queue, DestinationType: typ,
				RoutingKey: r.Key, Arguments: JSONTable(decodeArgs(r.Args))})
			return true
		})
		sort.SliceStable(stored, func(i, j int) bool {
			a, b := stored[i], stored[j]
			if a.Source != b.Source {
				return a.Source < b.Source
			}
			if a.Destination != b.Destination {
				return a.Destination < b.Destination
			}
			return a.RoutingKey < b.RoutingKey
		})
		out = append(out, stored...)
	}
	return out
}

type namedQueue struct {
	name string
	rec  queueRec
}

func (s *Server) queueRecs(vhost string) []namedQueue {
	var out []namedQueue
	prefix := "q/" + esc(vhost) + "/"
	s.topo.st.Range(prefix, func(k string, b []byte) bool {
		var q queueRec
		name, err := unesc(strings.TrimPrefix(k, prefix))
		if err != nil || json.Unmarshal(b, &q) != nil {
			return true
		}
		out = append(out, namedQueue{name, q})
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// QueueNames lists vhost's queues ("" is every vhost) without their counts, which cost a
// call to the backend each: callers filter first, then ask Queue for the ones they show.
func (s *Server) QueueNames(vhost string) [][2]string {
	var out [][2]string
	for _, v := range s.vhostsOr(vhost) {
		for _, q := range s.queueRecs(v) {
			out = append(out, [2]string{v, q.name})
		}
	}
	return out
}

// Queue describes one queue with its counts; false when it does not exist.
func (s *Server) Queue(ctx context.Context, vhost, name string) (QueueInfo, bool) {
	rec, ok := s.topo.queue(vhost, name)
	if !ok {
		return QueueInfo{}, false
	}
	ns, ok := s.namespace(vhost)
	if !ok {
		return QueueInfo{}, false
	}
	topic := "persistent://" + ns + "/" + name
	s.mu.Lock()
	stats := s.queues[topic] // not made here: a listing leaves no state behind
	s.mu.Unlock()
	if stats == nil {
		stats = &queueStats{}
	}
	info := QueueInfo{VHost: vhost, Name: name, Durable: rec.Durable, Exclusive: rec.Exclusive, AutoDelete: rec.AutoDelete,
		Arguments: JSONTable(decodeArgs(rec.Args)), Counts: stats.counts.load(), Owner: rec.Owner}
	info.Unacked = stats.unacked.Load()
	subs, err := s.opts.Backend.Admin().Subscriptions(ctx, topic)
	attached := 0
	if err == nil {
		for _, sub := range subs {
			if sub.Name == s.opts.Subscription {
				info.Messages, attached = sub.Backlog, s.withoutGetters(stats, sub.Consumers)
			}
		}
	}
	if l := stats.length.Load(); l != nil {
		// A length-limited queue's own count is exact here (as queue.declare-ok's).
		n, _ := l.ready(stats)
		info.Messages = n + info.Unacked
	}
	info.Messages = max(info.Messages, info.Unacked)
	info.Ready = info.Messages - info.Unacked
	info.Consumers = attached
	if policyOf(name, rec).sac {
		info.Consumers = s.sac.registered(vhost, name) // as conn.consumerCount
	}
	return info, true
}

// JSONTable turns an AMQP table into JSON values as RabbitMQ's management API shows them:
// byte arrays as strings, timestamps as seconds, decimals as numbers.
func JSONTable(t wire.Table) map[string]any {
	if t == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = jsonValue(v)
	}
	return out
}

func jsonValue(v any) any {
	switch v := v.(type) {
	case wire.Table:
		return JSONTable(v)
	case map[string]any:
		return JSONTable(wire.Table(v))
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	case []byte:
		return string(v)
	case time.Time:
		return v.Unix()
	case wire.Decimal:
		return float64(v.Value) / math.Pow10(int(v.Scale))
	case float32:
		return float64(v)
	}
	return v
}

// Login checks a user and password as the AMQP listener does (Options.Authenticate);
// loginsOn is false when the listener takes any login, for the caller to decide. When it
// takes client certificates only (EXTERNAL), no password is valid.
func (s *Server) Login(user, password string) (valid, loginsOn bool) {
	if s.opts.Authenticate == nil {
		return false, s.opts.CertUser != nil
	}
	return s.opts.Authenticate(user, password), true
}

// Authorizer is the rule set the server enforces; nil: authorization off.
func (s *Server) Authorizer() *authz.Authorizer { return s.opts.Authz }

// Node is the node name the management API reports for this gateway.
func (s *Server) Node() string { return "pulsar-gateway@" + s.gw }

// QueueCounts are a queue's message counters on this gateway, without asking the
// backend; false when this gateway has none for it.
func (s *Server) QueueCounts(vhost, name string) (MessageCounts, bool) {
	ns, ok := s.namespace(vhost)
	if !ok {
		return MessageCounts{}, false
	}
	s.mu.Lock()
	q := s.queues["persistent://"+ns+"/"+name]
	s.mu.Unlock()
	if q == nil {
		return MessageCounts{}, false
	}
	return q.counts.load(), true
}

// Alarms lists the raised resource alarms (alarms.go).
func (s *Server) Alarms() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.alarms))
	for a := range s.alarms {
		out = append(out, a)
	}
	return out
}

// exchangeCounts are an exchange's publish_in (published to it) and publish_out (routed
// from it to at least one queue) counters on this gateway.
type exchangeCounts struct{ in, out atomic.Int64 }

type exchangeKey struct{ vhost, exchange string }

// exchangeCounts finds (or makes) an exchange's counters; a publish pays a read lock and
// a map lookup, no allocation.
func (s *Server) exchangeCounts(vhost, exchange string) *exchangeCounts {
	k := exchangeKey{vhost, exchange}
	s.xmu.RLock()
	x := s.xcounts[k]
	s.xmu.RUnlock()
	if x != nil {
		return x
	}
	s.xmu.Lock()
	defer s.xmu.Unlock()
	if x = s.xcounts[k]; x == nil {
		x = &exchangeCounts{}
		s.xcounts[k] = x
	}
	return x
}

// dropExchangeCounts forgets a deleted exchange's counters (its record's key x/vhost/name):
// one declared again counts afresh, as in RabbitMQ.
func (s *Server) dropExchangeCounts(k string) {
	parts := strings.Split(k, "/")
	if len(parts) != 3 {
		return
	}
	vhost, err1 := unesc(parts[1])
	name, err2 := unesc(parts[2])
	if err1 != nil || err2 != nil {
		return
	}
	s.xmu.Lock()
	delete(s.xcounts, exchangeKey{vhost, name})
	s.xmu.Unlock()
}

// ExchangeCounts are an exchange's publish_in and publish_out on this gateway; false when
// nothing was published to it here.
func (s *Server) ExchangeCounts(vhost, exchange string) (in, out int64, ok bool) {
	s.xmu.RLock()
	x := s.xcounts[exchangeKey{vhost, exchange}]
	s.xmu.RUnlock()
	if x == nil {
		return 0, 0, false
	}
	return x.in.Load(), x.out.Load(), true
}
