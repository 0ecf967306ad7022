package mqtt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	mochi "github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server"
	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/producercache"
	"github.com/pulsar-gateway/pulsar-gateway/metrics"
	"github.com/pulsar-gateway/pulsar-gateway/txnindex"
)

// Options configure a Server.
type Options struct {
	Backend bridge.Backend
	Logger  *zap.Logger
	// Metrics counts what flows (metrics.Flow); nil counts nothing.
	Metrics *metrics.Flow
	// Namespace is "tenant/ns" of the MQTT topics; empty is public/default.
	Namespace string
	// Window bounds QoS 1 and 2 messages sent to one session and not yet
	// acknowledged by the client; zero is 64.
	Window int
	// PatternDiscovery is how often a wildcard subscription looks for new
	// topics; zero is one second.
	PatternDiscovery time.Duration
	// MaxPacketSize bounds a packet from a client, checked before its bytes
	// are read (mochi allocates the declared length); zero is 1 MiB.
	MaxPacketSize uint32
	// Auth checks logins and topics (auth.go); nil lets every client in
	// and do everything.
	Auth *Auth
	// ConnectTimeout closes a connection that sends no CONNECT for this
	// long (mochi has no such limit); zero is 10 seconds. After CONNECT the
	// client's keep-alive rules.
	ConnectTimeout time.Duration
	// SessionSweep is how often expired MQTT 5 sessions are dropped; zero
	// is 30 seconds.
	SessionSweep time.Duration
	// ProducerIdle is how long a topic's producer stays open unused; zero
	// is 5 minutes.
	ProducerIdle time.Duration
}

const listenerID = "pulsar-gateway"

// Server is the MQTT connection handler: handlers.ConnHandler and io.Closer.
type Server struct {
	opts      Options
	log       *zap.Logger
	backend   bridge.Backend
	gw        string // this gateway's presence id (bridge.Presence)
	mochi     *mochi.Server
	hook      *hook
	producers *producercache.Cache
	retained  *retained
	sessions  bridge.StateTable
	claims    *claims
	txns      *txnindex.Indexes // Kafka transactions of the topics read (kafkatxn.go)

	mu    sync.Mutex
	conns map[net.Conn]*mochi.Client // for draining

	stopSweep chan struct{}
	swept     sync.WaitGroup

	expMu    sync.Mutex
	expiries map[string]*time.Timer // sessions' expiry, by client id; nil once closed
	expiring sync.WaitGroup         // expiry timers running
}

// New builds a Server on a backend.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Namespace == "" {
		opts.Namespace = bridge.DefaultNamespace
	}
	if opts.Window <= 0 {
		opts.Window = 64
	}
	if opts.MaxPacketSize == 0 {
		opts.MaxPacketSize = 1 << 20
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if opts.ProducerIdle <= 0 {
		opts.ProducerIdle = 5 * time.Minute
	}
	if opts.SessionSweep <= 0 {
		opts.SessionSweep = 30 * time.Second
	}
	if opts.PatternDiscovery <= 0 {
		opts.PatternDiscovery = time.Second
	}
	s := &Server{opts: opts, log: opts.Logger, backend: opts.Backend, conns: map[net.Conn]*mochi.Client{},
		expiries: map[string]*time.Timer{}, txns: txnindex.New(opts.Backend)}
	var err error
	if s.retained, err = openRetained(ctx, opts.Backend); err != nil {
		return nil, err
	}
	if s.sessions, err = opts.Backend.State(ctx, "mqtt-sessions"); err != nil {
		return nil, fmt.Errorf("mqtt: sessions table: %w", err)
	}
	if s.gw, err = opts.Backend.Presence().Join(ctx); err != nil {
		return nil, fmt.Errorf("mqtt: joining the store: %w", err)
	}
	s.producers = newProducers(opts.Backend, opts.ProducerIdle)
	s.hook = newHook(s)
	if opts.Backend.Shared() {
		if s.claims, err = openClaims(ctx, s); err != nil {
			return nil, fmt.Errorf("mqtt: claims table: %w", err)
		}
	}

	caps := mochi.NewDefaultServerCapabilities()
	// Mochi's own outbound queue carries only what mochi itself sends
	// (the hook writes deliveries): a small one saves 8 KiB a connection.
	caps.MaximumClientWritesPending = 16
	caps.MaximumPacketSize = opts.MaxPacketSize
	s.mochi = mochi.New(&mochi.Options{
		Capabilities:           caps,
		Logger:                 newSlog(opts.Logger.Named("mochi")),
		SysTopicResendInterval: 3600,
		// Each connection holds its read buffer while idle: 1 KiB rather
		// than 2 still reads several small packets per system call (a
		// single fast publisher measured no slower; 512 B was).
		ClientNetReadBufferSize: 1 << 10,
	})
	if err := s.mochi.AddHook(s.hook, nil); err != nil {
		return nil, err
	}
	if err := s.mochi.Serve(); err != nil {
		return nil, err
	}
	s.stopSweep = make(chan struct{})
	s.swept.Add(1)
	go s.sweepLoop()
	return s, nil
}

func (s *Server) sweepLoop() {
	defer s.swept.Done()
	t := time.NewTicker(s.opts.SessionSweep)
	defer t.Stop()
	// Sessions may have expired while no gateway ran: drop them now.
	s.sweepSessions(context.Background())
	for {
		select {
		case <-s.stopSweep:
			return
		case <-t.C:
			s.sweepSessions(context.Background())
		}
	}
}

// topicName is the full Pulsar name of an MQTT topic.
func (s *Server) topicName(topic string) (string, error) {
	local, err := EncodeTopic(topic)
	if err != nil {
		return "", err
	}
	return "persistent://" + s.opts.Namespace + "/" + local, nil
}

// HandleConn serves one client until it leaves; when ctx ends it tells an
// MQTT 5 client the server is going away and closes the connection. Its
// frame stays on an idle connection's goroutine stack, under mochi's read:
// set-up and clean-up are in functions of their own, so that the parked
// stack stays small enough for the runtime to shrink it.
func (s *Server) HandleConn(ctx context.Context, conn net.Conn) error {
	cc, stop, err := s.prepare(ctx, conn)
	if err != nil {
		stop()
		return err
	}
	return s.finish(cc, stop, s.mochi.EstablishConnection(listenerID, cc))
}

// prepare wraps conn for corking and arranges its drain when ctx ends.
//
//go:noinline
func (s *Server) prepare(ctx context.Context, conn net.Conn) (*corkConn, func() bool, error) {
	cc := &corkConn{Conn: conn}
	// No goroutine per connection waits for ctx: idle connections are
	// the common case and each goroutine's stack counts.
	stop := context.AfterFunc(ctx, func() { s.drain(cc) })
	// Mochi replaces this deadline with the keep-alive's after CONNECT.
	return cc, stop, conn.SetReadDeadline(time.Now().Add(s.opts.ConnectTimeout))
}

//go:noinline
func (s *Server) finish(conn *corkConn, stop func() bool, err error) error {
	stop()
	s.mu.Lock()
	cl := s.conns[conn]
	delete(s.conns, conn)
	s.mu.Unlock()
	if cl != nil {
		s.hook.forget(cl)
	}
	if err == nil || errors.Is(err, packets.CodeDisconnect) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (s *Server) drain(conn net.Conn) {
	s.mu.Lock()
	cl := s.conns[conn]
	s.mu.Unlock()
	if cl == nil {
		conn.Close()
		return
	}
	// A restarting gateway is no sign the device died: keep its will.
	if ss := s.hook.session(cl); ss != nil {
		ss.draining.Store(true)
	}
	if cl.Properties.ProtocolVersion == 5 {
		_ = s.mochi.DisconnectClient(cl, packets.ErrServerShuttingDown)
		return
	}
	cl.Stop(packets.ErrServerShuttingDown)
}

// takenOver disconnects a connection whose session a connection of another
// gateway took over (claims.go), as mochi does one taken over here.
func (s *Server) takenOver(ss *session) {
	ss.log.Debug("session taken over by another gateway")
	if ss.version == 5 {
		_ = s.mochi.DisconnectClient(ss.cl, packets.ErrSessionTakenOver)
		return
	}
	ss.cl.Stop(packets.ErrSessionTakenOver) // 3.1.1 has no server DISCONNECT
}

func (s *Server) track(cl *mochi.Client) {
	s.mu.Lock()
	s.conns[cl.Net.Conn] = cl
	s.mu.Unlock()
}

// Close stops mochi and closes the producers; connections are drained
// before (the handlers.Server closes them).
func (s *Server) Close() error {
	close(s.stopSweep)
	s.swept.Wait()
	s.hook.stopWills()
	s.claims.close()
	s.stopExpiries()
	err := s.mochi.Close()
	s.txns.Close()
	return errors.Join(err, s.producers.Close(context.Background()))
}
