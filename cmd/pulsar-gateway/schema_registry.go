package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/registry"
)

// registryOpenWait bounds reading the registry's log at start.
const registryOpenWait = time.Minute

// schemaRegistry is the registry and its HTTP server.
type schemaRegistry struct {
	reg *registry.Registry
	srv *http.Server
	ln  net.Listener
}

// bindSchemaRegistry binds the registry's listener and reads its log.
func (g *gateway) bindSchemaRegistry() (_ *schemaRegistry, err error) {
	c := g.cfg.SchemaRegistry
	ln, err := listen("schema_registry", c.Listener)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	log := g.log.Named("schema_registry")
	opts := registry.Options{Namespace: g.cfg.Tenant + "/" + g.cfg.Namespace, Logger: log}
	d := protocolDeps{Config: g.cfg, Tokens: g.tokens}
	users, err := passwordUsers(d, "schema_registry")
	if err != nil {
		return nil, fmt.Errorf("schema_registry: %w", err)
	}
	opts.Users, opts.Tokens = checkLogin(d, users), d.tokens()
	if s, ok := g.backend.(bridge.TopicSchemas); ok {
		opts.Schemas = s
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryOpenWait)
	defer cancel()
	reg, err := registry.New(ctx, g.backend, opts)
	if err != nil {
		return nil, err
	}
	return &schemaRegistry{reg: reg, ln: ln, srv: &http.Server{
		Handler:           reg.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(log),
	}}, nil
}

func (s *schemaRegistry) serve(errc chan<- error) {
	if err := s.srv.Serve(s.ln); err != http.ErrServerClosed {
		errc <- fmt.Errorf("schema_registry: %w", err)
	}
}

// shutdown stops HTTP within ctx, then the registry.
func (s *schemaRegistry) shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	return s.reg.Close()
}
