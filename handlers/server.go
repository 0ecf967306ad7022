package handlers

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// ErrServerClosed is what Serve returns after Drain or Close.
var ErrServerClosed = errors.New("handlers: server closed")

// Options configure a Server.
type Options struct {
	// Protocol names the server in logs and in the metrics' protocol label.
	Protocol string
	Handler  ConnHandler
	Logger   *zap.Logger // nil: no logs
	Metrics  *Metrics    // nil: metrics on a private registry nobody reads
	// MaxConnections bounds open connections; more are closed at once.
	// 0 means no limit.
	MaxConnections int
	// ReadTimeout drops a connection silent this long; 0 leaves it to the
	// handler.
	ReadTimeout time.Duration
	// TLS, when set, makes every connection a TLS server connection. The
	// handshake happens on the handler's first read or write.
	TLS *tls.Config
}

// Server accepts client connections for one protocol and runs its
// ConnHandler on each. Start it with Serve; stop it with Drain or Close.
type Server struct {
	opts Options
	log  *zap.Logger
	m    protocolMetrics

	// ctx is handed to every HandleConn; cancelled when draining starts.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	draining  bool
	listeners map[net.Listener]struct{}
	conns     map[*meteredConn]struct{}
	wg        sync.WaitGroup // one per connection goroutine
}

// NewServer makes a Server; it does not listen yet.
func NewServer(opts Options) *Server {
	if opts.Handler == nil {
		panic("handlers: NewServer without a Handler")
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		opts:      opts,
		log:       log.With(zap.String("protocol", opts.Protocol)),
		m:         opts.Metrics.forProtocol(opts.Protocol),
		ctx:       ctx,
		cancel:    cancel,
		listeners: map[net.Listener]struct{}{},
		conns:     map[*meteredConn]struct{}{},
	}
}

// Serve accepts connections on ln until Drain or Close, then returns
// ErrServerClosed. Any other error is a listener failure. Serve closes ln.
func (s *Server) Serve(ln net.Listener) error {
	return s.ServeWith(ln, Listener{TLS: s.opts.TLS, Handler: s.opts.Handler})
}

// Listener is how ServeWith treats one listener's connections.
type Listener struct {
	// TLS, when set, makes every connection a TLS server connection.
	TLS *tls.Config
	// Handler serves each connection.
	Handler ConnHandler
}

// ServeWith is Serve with TLS and a handler of the listener's own, for a
// protocol's second transport (MQTT over WebSocket): its connections
// share the server's connection limit, drain and metrics.
func (s *Server) ServeWith(ln net.Listener, l Listener) error {
	if l.Handler == nil {
		panic("handlers: ServeWith without a Handler")
	}
	via := &l
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isDraining() {
				return ErrServerClosed
			}
			// Out of file descriptors and the like pass; wait and retry
			// as net/http does, rather than spin or give up.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				s.m.errs.Inc()
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", zap.Error(err), zap.Duration("retry_in", backoff))
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("handlers: %s: accept: %w", s.opts.Protocol, err)
		}
		backoff = 0
		s.admit(nc, via)
	}
}

// isTemporary matches errors that still implement the deprecated
// Temporary method, such as EMFILE from accept.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// admit tracks a new connection and starts its handler, or rejects it when
// the server is full or draining.
func (s *Server) admit(nc net.Conn, via *Listener) {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if limit := s.opts.MaxConnections; limit > 0 && len(s.conns) >= limit {
		s.mu.Unlock()
		s.m.rejected.Inc()
		s.log.Warn("connection limit reached: closing new connection",
			zap.Stringer("remote", nc.RemoteAddr()), zap.Int("limit", limit))
		nc.Close()
		return
	}
	c := &meteredConn{Conn: nc, via: via, readTimeout: s.opts.ReadTimeout, bytesIn: s.m.bytesIn, bytesOut: s.m.bytesOut}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()

	s.m.total.Inc()
	s.m.active.Inc()
	go s.handle(c)
}

// handle serves one connection. Its frame stays on the stack of an idle
// connection's goroutine under the handler's read: what is only needed at
// the end (cleanup, panic report, error log) is in functions of its own,
// so that the parked stack stays small enough for the runtime to shrink.
func (s *Server) handle(c *meteredConn) {
	defer s.ended(c)
	s.served(c, c.via.Handler.HandleConn(s.ctx, s.wrap(c)))
}

//go:noinline
func (s *Server) wrap(c *meteredConn) net.Conn {
	if c.via.TLS != nil {
		return tls.Server(c, c.via.TLS)
	}
	return c
}

//go:noinline
func (s *Server) served(c *meteredConn, err error) {
	if err != nil && !isNormalEnd(err) {
		s.m.errs.Inc()
		s.log.Debug("connection ended with an error", zap.Stringer("remote", c.RemoteAddr()), zap.Error(err))
	}
}

// ended closes the connection once served. One bad connection must not
// take the process down: it recovers, logs where it happened, and ends
// that client only.
func (s *Server) ended(c *meteredConn) {
	if r := recover(); r != nil {
		s.m.panics.Inc()
		s.log.Error("handler panicked: closing connection",
			zap.Stringer("remote", c.RemoteAddr()),
			zap.Any("panic", r),
			zap.ByteString("stack", debug.Stack()))
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
	s.m.active.Dec()
	s.wg.Done()
}

// isNormalEnd tells a client leaving or a drain apart from a failure.
func isNormalEnd(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled)
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// ActiveConnections is how many connections are open now.
func (s *Server) ActiveConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// StopAccepting closes the listeners: from its return new connections are
// refused, while those open go on. Drain starts with it.
func (s *Server) StopAccepting() {
	s.mu.Lock()
	s.draining = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
}

// Drain stops accepting, cancels the handlers' context so they wind down,
// and waits for open connections to finish until ctx is done; then it
// closes the rest and returns an error saying how many. Calling it again
// waits again.
func (s *Server) Drain(ctx context.Context) error {
	s.StopAccepting()
	s.cancel()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}

	s.mu.Lock()
	n := len(s.conns)
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	// A handler whose connection was closed returns at its next read or
	// write; wait for that (bounded), so the caller may close the backend
	// under no running handler.
	select {
	case <-done:
	case <-time.After(handlerExitGrace):
		s.log.Warn("handlers still running after their connections were closed", zap.Duration("waited", handlerExitGrace))
	}
	if n == 0 {
		return nil
	}
	s.log.Warn("drain deadline passed: closed open connections", zap.Int("connections", n))
	return fmt.Errorf("handlers: %s: drain deadline passed: closed %d open connections", s.opts.Protocol, n)
}

// handlerExitGrace bounds how long Drain waits for handlers to return once
// their connections are closed.
const handlerExitGrace = 5 * time.Second

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Drain(ctx)
	return nil
}
