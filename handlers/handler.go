// Package handlers is what every protocol listener shares: the accept loop,
// optional TLS, a connection limit, read deadlines, per-connection panic
// containment, graceful draining and Prometheus metrics. A protocol plugs in
// as a ConnHandler and sees one net.Conn at a time.
package handlers

import (
	"context"
	"net"
)

// ConnHandler serves one client connection. The Server calls HandleConn on a
// goroutine of its own per accepted connection and closes the connection
// when it returns, so a handler need not close it.
//
// ctx is cancelled when the server starts draining: the handler should then
// finish what is in flight, tell the client if its protocol can (MQTT 5
// DISCONNECT, AMQP connection.close) and return. Connections still open at
// the drain deadline are closed under it, which fails its reads and writes.
//
// A nil return is a normal end (the client left, or the server drained); an
// error is counted in errors_total and logged at debug level.
type ConnHandler interface {
	HandleConn(ctx context.Context, conn net.Conn) error
}

// ConnHandlerFunc adapts a function to ConnHandler.
type ConnHandlerFunc func(ctx context.Context, conn net.Conn) error

func (f ConnHandlerFunc) HandleConn(ctx context.Context, conn net.Conn) error { return f(ctx, conn) }
