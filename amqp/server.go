package amqp

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/producercache"
	"github.com/pulsar-gateway/pulsar-gateway/metrics"
)

// Options configure a Server. Zero values take RabbitMQ's defaults.
type Options struct {
	Backend bridge.Backend
	Logger  *zap.Logger
	// Metrics counts what flows (metrics.Flow); nil counts nothing.
	Metrics *metrics.Flow
	// Tenant holds the namespaces of vhosts other than "/"; empty is "public".
	Tenant string
	// Namespace ("tenant/ns") is vhost "/"; empty is public/default.
	Namespace string
	// Authenticate checks a login (PLAIN or AMQPLAIN); nil accepts any user and
	// password (auth off).
	Authenticate func(user, password string) bool
	// CertUser, when set (the listener requires client certificates),
	// offers EXTERNAL (RabbitMQ's rabbitmq_auth_mechanism_ssl): the
	// certificate's user logs in, no password asked. Without Authenticate
	// it is the only mechanism offered.
	CertUser func(*x509.Certificate) string
	// Authz is the gateway's rule set, enforced as RabbitMQ enforces permissions
	// (authz.go); nil is authorization off.
	Authz *authz.Authorizer
	// KnownUser, when set, is the user database an EXTERNAL login's user
	// must be in, as RabbitMQ's: rabbitmq_auth_mechanism_ssl hands the
	// certificate's user to the internal backend, which refuses one it
	// does not have (403 ACCESS_REFUSED). Nil takes every user CertUser
	// names (the client CA alone decides).
	KnownUser func(user string) bool
	// Subscription is the name of every queue's Shared subscription; empty is "amqp".
	Subscription string
	Heartbeat    time.Duration // offered in connection.tune; zero is 60s, negative is off
	FrameMax     uint32        // zero is 131072
	ChannelMax   uint16        // zero is 2047
	MaxBody      uint64        // largest message body; zero is 128 MiB (RabbitMQ's default)
	// NackDelay is how long a requeued message waits before redelivery; zero is 1ms.
	NackDelay time.Duration
	// MemoryAlarm blocks publishing connections while the Go heap holds more bytes (as
	// RabbitMQ's vm_memory_high_watermark); zero is off. Checked every AlarmInterval
	// (zero is 1s). See alarms.go and Server.SetAlarm.
	MemoryAlarm   uint64
	AlarmInterval time.Duration

	// replySweep replaces replySweep (tests).
	replySweep time.Duration
}

// Server is the AMQP connection handler (a handlers.ConnHandler and io.Closer).
type Server struct {
	opts Options
	log  *zap.Logger
	topo *topology
	gw   string   // this gateway's presence id (exclusive.go)
	name string   // this server's, random
	sac  *sacLine // single active consumer registrations (sac.go)

	connSeq atomic.Uint64
	counts  counters             // message_stats of the management API (snapshot.go)
	vcounts map[string]*counters // the same by vhost, under mu
	xmu     sync.RWMutex
	xcounts map[exchangeKey]*exchangeCounts // by vhost and exchange, under xmu (snapshot.go)

	producers *producercache.Cache // by topic, shared by every connection

	mu          sync.Mutex
	queues      map[string]*queueStats        // by topic: what this gateway knows of its consumers
	consumers   map[string]map[*consumer]bool // by topic, to cancel them when the queue goes
	replies     map[string]*channel           // direct reply-to names (replyto.go)
	replyGW     string                        // this gateway's token in them
	inbox       *replyInbox                   // reader of this gateway's reply topic, once a reply consumer came
	conns       map[*conn]bool                // open connections, for alarms
	alarms      map[string]bool               // raised alarms (alarms.go)
	unblocked   chan struct{}                 // closed when the alarms clear; nil: none raised yet
	blockReason string
	blocked     atomic.Bool
	quit        chan struct{} // closed by Close
	closed      bool
	unwatch     func()
	uses        bridge.StateTable // amqp-expires: queues' last use (expiry.go)
	unwatchUses func()
}

// queueStats is this gateway's view of a queue: its consumers (for auto-delete, exclusive
// consume and consumer_count) and deliveries not yet acknowledged (ready = backlog - unacked).
type queueStats struct {
	consumers    int
	exclusive    bool
	everConsumed bool
	unacked      atomic.Int64
	pol          *policy // the queue's arguments, cached for publishes; nil when its record changed

	counts counters // message_stats of the management API (snapshot.go)

	getters int    // basic.get consumers of this gateway
	exp     expiry // x-expires (expiry.go)

	length atomic.Pointer[queueLength] // length-limited queues only (limits.go)
	loadMu sync.Mutex                  // loads length once
}

// New builds a Server on opts.Backend.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Backend == nil {
		return nil, fmt.Errorf("amqp: no backend")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Tenant == "" {
		opts.Tenant = "public"
	}
	if opts.Namespace == "" {
		opts.Namespace = bridge.DefaultNamespace
	}
	if opts.Subscription == "" {
		opts.Subscription = "amqp"
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 60 * time.Second
	}
	if opts.FrameMax == 0 {
		opts.FrameMax = 131072
	}
	if opts.ChannelMax == 0 {
		opts.ChannelMax = 2047
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = 128 << 20
	}
	if opts.NackDelay <= 0 {
		opts.NackDelay = time.Millisecond
	}
	st, err := opts.Backend.State(ctx, topologyTable)
	if err != nil {
		return nil, fmt.Errorf("amqp: topology state: %w", err)
	}
	gw, err := opts.Backend.Presence().Join(ctx)
	if err != nil {
		return nil, fmt.Errorf("amqp: joining the store: %w", err)
	}
	s := &Server{opts: opts, log: opts.Logger, topo: &topology{st: st}, gw: gw, name: randomID(),
		producers: producercache.New(opts.Backend, producercache.Options{}), queues: map[string]*queueStats{}, consumers: map[string]map[*consumer]bool{},
		replies: map[string]*channel{}, replyGW: gw, vcounts: map[string]*counters{}, xcounts: map[exchangeKey]*exchangeCounts{}, conns: map[*conn]bool{}, alarms: map[string]bool{}, quit: make(chan struct{})}
	if s.sac, err = openSAC(ctx, s); err != nil {
		return nil, fmt.Errorf("amqp: single active consumer state: %w", err)
	}
	s.unwatch = st.Watch(s.topologyChanged)
	if err := s.openExpiries(ctx); err != nil {
		if s.unwatchUses != nil {
			s.unwatchUses()
		}
		s.unwatch()
		s.sac.close()
		return nil, fmt.Errorf("amqp: x-expires state: %w", err)
	}
	go s.sweepExclusive()
	if opts.Backend.Shared() {
		go s.sweepReplyTopics()
	}
	if opts.MemoryAlarm > 0 {
		if s.opts.AlarmInterval <= 0 {
			s.opts.AlarmInterval = time.Second
		}
		go s.watchMemory()
	}
	return s, nil
}

// topologyChanged follows changes from every gateway: it drops the binding cache and
// cancels this gateway's consumers of a deleted queue.
func (s *Server) topologyChanged(k string, v []byte) {
	if strings.HasPrefix(k, "b/") {
		s.topo.invalidate()
	}
	if strings.HasPrefix(k, "x/") && v == nil {
		s.dropExchangeCounts(k)
	}
	if !strings.HasPrefix(k, "q/") {
		return
	}
	vhost, name, ok := queueKey(k)
	if !ok {
		return
	}
	ns, ok := s.namespace(vhost)
	if !ok {
		return
	}
	topic := "persistent://" + ns + "/" + name
	s.mu.Lock()
	if q := s.queues[topic]; q != nil {
		q.pol = nil
		if v == nil {
			q.length.Store(nil) // deleted elsewhere: a new queue of this name counts afresh
			q.exp.reset()
		}
	}
	if v != nil {
		s.mu.Unlock()
		s.usedAt(vhost, name, time.Now()) // declared (x-expires only)
		return
	}
	var gone []*consumer
	for cs := range s.consumers[topic] {
		gone = append(gone, cs)
	}
	s.mu.Unlock()
	if len(gone) > 0 {
		go func() { // not under the state table's callback
			for _, cs := range gone {
				cs.serverCancel()
			}
		}()
	}
}

// queueKey parses a queue record's key q/<vhost>/<name>.
func queueKey(k string) (vhost, name string, ok bool) {
	parts := strings.Split(k, "/")
	if len(parts) != 3 || parts[0] != "q" {
		return "", "", false
	}
	vhost, err1 := unesc(parts[1])
	name, err2 := unesc(parts[2])
	return vhost, name, err1 == nil && err2 == nil
}

// namespace maps a vhost to its Pulsar namespace: "/" is the configured one, v is tenant/v.
func (s *Server) namespace(vhost string) (string, bool) {
	switch {
	case vhost == "/" || vhost == "":
		return s.opts.Namespace, true
	case len(vhost) > 255:
		return "", false
	}
	for _, r := range vhost {
		if r == '/' || r < 0x20 {
			return "", false
		}
	}
	return s.opts.Tenant + "/" + vhost, true
}

// queueProducer sends to a queue's topic with the shared cached producer.
type queueProducer struct {
	c *producercache.Cache
	o bridge.ProducerOptions
}

func (p queueProducer) SendAsync(ctx context.Context, msg *bridge.OutMessage, cb bridge.SendCallback) {
	p.c.SendAsync(ctx, p.o, msg, cb)
}

func producerOptions(topic string) bridge.ProducerOptions {
	return bridge.ProducerOptions{Topic: topic, BatchingMaxDelay: time.Millisecond}
}

// producer opens the shared producer of a queue's topic, or says why it
// cannot; principal is whose (bridge.ActingAs: "" the gateway's). The
// opening holds no lock of the server: a slow topic delays only its own
// publishers.
func (s *Server) producer(ctx context.Context, topic, principal string) (queueProducer, error) {
	o := producerOptions(topic)
	o.Principal = principal
	l, err := s.producers.Acquire(ctx, o)
	if err != nil {
		return queueProducer{}, err
	}
	l.Release()
	return queueProducer{s.producers, o}, nil
}

// flushProducer waits until this gateway's publishes to topic are durable.
func (s *Server) flushProducer(ctx context.Context, topic string) {
	s.producers.Flush(ctx, producerOptions(topic))
}

// dropProducer closes a deleted queue's producer.
func (s *Server) dropProducer(topic string) {
	s.producers.Drop(producerOptions(topic))
}

func (s *Server) stats(topic string) *queueStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[topic]
	if q == nil {
		q = &queueStats{}
		s.queues[topic] = q
	}
	return q
}

// policy returns a queue's policy (cached) and stats; false when the queue does not exist.
func (s *Server) policy(c *conn, name string) (policy, *queueStats, bool) {
	stats := s.stats(c.topic(name))
	s.mu.Lock()
	p := stats.pol
	s.mu.Unlock()
	if p != nil {
		return *p, stats, true
	}
	q, ok := s.topo.queue(c.vhost, name)
	if !ok {
		return policy{}, stats, false
	}
	pol := policyOf(name, q)
	s.mu.Lock()
	stats.pol = &pol
	s.mu.Unlock()
	return pol, stats, true
}

// Close closes the shared producers after the connections drained.
func (s *Server) Close() error {
	s.unwatch()
	s.closeExpiries()
	s.sac.close()
	s.mu.Lock()
	if !s.closed {
		close(s.quit)
	}
	for _, q := range s.queues {
		if q.exp.timer != nil {
			q.exp.timer.Stop()
		}
	}
	s.closed = true
	inbox := s.inbox
	s.inbox = nil
	s.mu.Unlock()
	s.producers.Close(context.Background())
	if inbox != nil {
		s.closeReplies(inbox)
	}
	return nil
}
