package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/config"
	"github.com/pulsar-gateway/pulsar-gateway/console"
	"github.com/pulsar-gateway/pulsar-gateway/handlers"
	"github.com/pulsar-gateway/pulsar-gateway/jwtauth"
	"github.com/pulsar-gateway/pulsar-gateway/metrics"
)

// gateway is the running process: the backend, one handlers.Server per
// protocol, and the HTTP server for health and metrics.
type gateway struct {
	cfg      *config.Config
	log      *zap.Logger
	backend  bridge.Backend
	registry *prometheus.Registry

	listeners    []*protocolListener
	http         *http.Server
	httpLn       net.Listener
	schemas      *schemaRegistry    // nil when off
	amqpMgmt     *amqpManagement    // RabbitMQ's management API; nil when off
	tokens       *jwtauth.Validator // token logins; nil when off
	authz        *authz.Authorizer  // authorization; nil when off
	flows        *metrics.Set       // messages, latency and requests per protocol
	sampler      *metrics.Sampler   // backlogs, read from the backend in the background
	stopSampling context.CancelFunc
	console      *console.Console // nil when off

	ready atomic.Bool
	errc  chan error // a listener that failed
}

type protocolListener struct {
	protocol string
	ln       net.Listener
	server   *handlers.Server
	handler  handlers.ConnHandler
	tls      bool
	// extra are more listeners of the same server, with transports of
	// their own (MQTT over WebSocket): one connection limit, drain and
	// metrics for all.
	extra []*extraListener
}

// extraListener is a listener served with ServeWith.
type extraListener struct {
	name string // "mqtt.ws", as logs and addr name it
	ln   net.Listener
	via  handlers.Listener
}

// extraListeners bind a protocol's extra listeners, by protocol.
var extraListeners = map[string]func(*gateway, *protocolListener) error{}

// newGateway binds every enabled listener before serving any, so a port in
// use fails the start instead of leaving a half-open gateway. It owns
// backend from here on; on error the caller still closes it.
func newGateway(cfg *config.Config, log *zap.Logger, backend bridge.Backend, factories map[string]protocolFactory) (_ *gateway, err error) {
	g := &gateway{
		cfg:      cfg,
		log:      log,
		backend:  backend,
		registry: prometheus.NewRegistry(),
		errc:     make(chan error, len(protocols)+4),
	}
	defer func() {
		if err != nil {
			g.closeListeners()
		}
	}()
	g.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		readBuildInfo().collector(),
	)
	if m, ok := backend.(interface{ Metrics() prometheus.Collector }); ok {
		g.registry.MustRegister(m.Metrics())
	}
	connMetrics := handlers.NewMetrics(g.registry)
	g.flows = metrics.NewSet(g.registry)
	g.sampler = metrics.NewSampler(g.registry, cfg.Metrics.SampleInterval, cfg.Metrics.MaxSeries, log.Named("metrics"))
	if a := cfg.Auth; a.Tokens() {
		if g.tokens, err = jwtauth.New(jwtauth.Options{JWKSFile: a.JWKSFile, JWKSURL: a.JWKSURL,
			Audience: a.JWTAudience, Issuer: a.JWTIssuer, SubjectClaim: a.JWTSubjectClaim}); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	if cfg.Auth.ACLFile != "" {
		if g.authz, err = newAuthorizer(cfg, backend, log); err != nil {
			return nil, err
		}
	}

	for _, protocol := range protocols {
		lc := listenerConfig(cfg, protocol)
		if !lc.Enabled {
			continue
		}
		pl, err := g.bind(protocol, lc, connMetrics, factories[protocol])
		if err != nil {
			return nil, err
		}
		g.listeners = append(g.listeners, pl)
		if bindExtra := extraListeners[protocol]; bindExtra != nil {
			if err := bindExtra(g, pl); err != nil {
				return nil, err
			}
		}
	}
	if cfg.SchemaRegistry.Enabled {
		if g.schemas, err = g.bindSchemaRegistry(); err != nil {
			return nil, err
		}
	}
	if cfg.AMQP.Management.Enabled {
		if g.amqpMgmt, err = g.bindAMQPManagement(); err != nil {
			return nil, err
		}
	}
	if cfg.HTTP.Enabled {
		ln, err := listen("http", cfg.HTTP)
		if err != nil {
			return nil, err
		}
		g.httpLn = ln
		var pages http.Handler
		if cfg.Console.Enabled {
			if g.console, err = g.newConsole(); err != nil {
				return nil, err
			}
			pages = g.console.Handler(consolePrefix)
		}
		g.http = &http.Server{
			Handler:           newHTTPHandler(g.registry, g.ready.Load, pages),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          zap.NewStdLog(log.Named("http")),
		}
	}
	return g, nil
}

func (g *gateway) bind(protocol string, lc config.Listener, metrics *handlers.Metrics, factory protocolFactory) (_ *protocolListener, err error) {
	tlsConf, err := lc.TLS.Load()
	if err != nil {
		return nil, fmt.Errorf("%s.tls: %w", protocol, err)
	}
	ln, err := listen(protocol, lc)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	log := g.log.Named(protocol)
	handler, err := factory(protocolDeps{Config: g.cfg, Backend: g.backend, Logger: log, Registry: g.registry, Addr: ln.Addr(), Tokens: g.tokens, Authz: g.authz,
		Flow: g.flows.Flow(protocol), Sampler: g.sampler})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", protocol, err)
	}
	return &protocolListener{
		protocol: protocol,
		ln:       ln,
		handler:  handler,
		tls:      tlsConf != nil,
		server: handlers.NewServer(handlers.Options{
			Protocol:       protocol,
			Handler:        handler,
			Logger:         log,
			Metrics:        metrics,
			MaxConnections: g.cfg.Limits.MaxConnections,
			ReadTimeout:    g.cfg.Limits.ReadTimeout,
			TLS:            tlsConf,
		}),
	}, nil
}

// listen binds a listener, TLS-wrapped for HTTP ones: protocol servers do
// their TLS per connection, under their byte counters.
func listen(name string, lc config.Listener) (net.Listener, error) {
	ln, err := net.Listen("tcp", lc.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s.addr %q: %w", name, lc.Addr, err)
	}
	if name == "http" || name == "schema_registry" || name == "amqp.management" {
		tlsConf, err := lc.TLS.Load()
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("%s.tls: %w", name, err)
		}
		if tlsConf != nil {
			ln = tls.NewListener(ln, tlsConf)
		}
	}
	return ln, nil
}

// start serves every listener and reports ready.
func (g *gateway) start() {
	for _, pl := range g.listeners {
		fields := []zap.Field{zap.String("protocol", pl.protocol), zap.Stringer("addr", pl.ln.Addr()), zap.Bool("tls", pl.tls)}
		if pl.protocol == "kafka" {
			fields = append(fields, zap.String("advertised", g.cfg.Kafka.Advertised(pl.ln.Addr())))
		}
		if pl.protocol == "rocketmq" {
			fields = append(fields, zap.String("advertised", g.cfg.RocketMQ.Advertised(pl.ln.Addr())))
		}
		g.log.Info("listening", fields...)
		go func() {
			if err := pl.server.Serve(pl.ln); !errors.Is(err, handlers.ErrServerClosed) {
				g.errc <- err
			}
		}()
		for _, x := range pl.extra {
			g.log.Info("listening", zap.String("protocol", x.name), zap.Stringer("addr", x.ln.Addr()), zap.Bool("tls", x.via.TLS != nil))
			go func() {
				if err := pl.server.ServeWith(x.ln, x.via); !errors.Is(err, handlers.ErrServerClosed) {
					g.errc <- err
				}
			}()
		}
	}
	if g.http != nil {
		g.log.Info("listening", zap.String("protocol", "http"), zap.Stringer("addr", g.httpLn.Addr()), zap.Bool("tls", g.cfg.HTTP.TLS.Enabled()))
		go func() {
			if err := g.http.Serve(g.httpLn); !errors.Is(err, http.ErrServerClosed) {
				g.errc <- fmt.Errorf("http: %w", err)
			}
		}()
	}
	if g.schemas != nil {
		g.log.Info("listening", zap.String("protocol", "schema_registry"), zap.Stringer("addr", g.schemas.ln.Addr()), zap.Bool("tls", g.cfg.SchemaRegistry.TLS.Enabled()))
		go g.schemas.serve(g.errc)
	}
	if g.amqpMgmt != nil {
		g.log.Info("listening", zap.String("protocol", "amqp.management"), zap.Stringer("addr", g.amqpMgmt.ln.Addr()), zap.Bool("tls", g.cfg.AMQP.Management.TLS.Enabled()))
		go g.amqpMgmt.serve(g.errc)
	}
	var sampling context.Context
	sampling, g.stopSampling = context.WithCancel(context.Background())
	go g.sampler.Run(sampling)
	g.ready.Store(true)
}

// wait blocks until ctx ends (nil) or a listener fails (its error).
func (g *gateway) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-g.errc:
		return err
	}
}

// shutdown reports not ready, drains every protocol within the drain
// timeout, then stops HTTP and closes the backend, which flushes it.
// Connections closed at the deadline are logged, not an error: the
// deadline is the operator's choice.
func (g *gateway) shutdown() error {
	// Refuse new connections first: whoever sees /readyz answer 503 finds
	// the listeners closed (TestNotReadyWhileDraining dialled in between).
	for _, pl := range g.listeners {
		pl.server.StopAccepting()
	}
	g.ready.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Shutdown.DrainTimeout)
	defer cancel()

	var wg sync.WaitGroup
	for _, pl := range g.listeners {
		wg.Go(func() { pl.server.Drain(ctx) })
	}
	wg.Wait()

	if g.stopSampling != nil {
		g.stopSampling()
	}
	var errs []error
	if g.amqpMgmt != nil { // before the AMQP handler it reads closes
		g.amqpMgmt.shutdown(ctx)
	}
	for _, pl := range g.listeners {
		if c, ok := pl.handler.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("%s handler: %w", pl.protocol, err))
			}
		}
	}
	if g.schemas != nil {
		if err := g.schemas.shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("schema registry: %w", err))
		}
	}
	// /readyz answered 503 during the drain; now HTTP goes too.
	if g.http != nil {
		if err := g.http.Shutdown(ctx); err != nil {
			g.http.Close()
		}
	}
	if g.console != nil {
		g.console.Close()
	}
	if g.tokens != nil {
		g.tokens.Close()
	}
	g.authz.Close()
	if err := g.backend.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing the backend: %w", err))
	}
	return errors.Join(errs...)
}

// closeListeners releases what newGateway bound when it fails half way.
func (g *gateway) closeListeners() {
	for _, pl := range g.listeners {
		pl.ln.Close()
		for _, x := range pl.extra {
			x.ln.Close()
		}
	}
	if g.httpLn != nil {
		g.httpLn.Close()
	}
	if g.tokens != nil {
		g.tokens.Close()
	}
	if g.console != nil {
		g.console.Close()
	}
	if g.schemas != nil {
		g.schemas.ln.Close()
		g.schemas.reg.Close()
	}
	if g.amqpMgmt != nil {
		g.amqpMgmt.ln.Close()
		g.amqpMgmt.h.Close()
	}
}

// addr is the bound address of a protocol ("http" included), for tests.
func (g *gateway) addr(protocol string) net.Addr {
	if protocol == "http" && g.httpLn != nil {
		return g.httpLn.Addr()
	}
	if protocol == "amqp.management" && g.amqpMgmt != nil {
		return g.amqpMgmt.ln.Addr()
	}
	if protocol == "schema_registry" && g.schemas != nil {
		return g.schemas.ln.Addr()
	}
	for _, pl := range g.listeners {
		if pl.protocol == protocol {
			return pl.ln.Addr()
		}
		for _, x := range pl.extra {
			if x.name == protocol {
				return x.ln.Addr()
			}
		}
	}
	return nil
}
