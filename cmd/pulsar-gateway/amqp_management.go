package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
	"github.com/pulsar-gateway/pulsar-gateway/amqp/mgmt"
)

// amqpManagement is RabbitMQ's management HTTP API (package amqp/mgmt) over the AMQP
// handler's state, on its own listener (amqp.management.*).
type amqpManagement struct {
	h   *mgmt.Handler
	srv *http.Server
	ln  net.Listener
}

// bindAMQPManagement binds the API's listener; the AMQP listener is bound already.
func (g *gateway) bindAMQPManagement() (*amqpManagement, error) {
	var server *amqp.Server
	var amqpAddr net.Addr
	for _, pl := range g.listeners {
		if s, ok := pl.handler.(*amqp.Server); ok && pl.protocol == "amqp" {
			server, amqpAddr = s, pl.ln.Addr()
		}
	}
	if server == nil {
		return nil, errors.New("amqp.management: needs the AMQP listener (amqp.enabled)")
	}
	ln, err := listen("amqp.management", g.cfg.AMQP.Management)
	if err != nil {
		return nil, err
	}
	log := g.log.Named("amqp.management")
	h := mgmt.New(mgmt.Options{Server: server, Logger: log, AMQPAddr: amqpAddr})
	return &amqpManagement{h: h, ln: ln, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(log),
	}}, nil
}

func (m *amqpManagement) serve(errc chan<- error) {
	if err := m.srv.Serve(m.ln); err != http.ErrServerClosed {
		errc <- fmt.Errorf("amqp.management: %w", err)
	}
}

func (m *amqpManagement) shutdown(ctx context.Context) {
	if err := m.srv.Shutdown(ctx); err != nil {
		m.srv.Close()
	}
	m.h.Close()
}
