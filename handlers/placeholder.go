package handlers

import (
	"context"
	"net"

	"go.uber.org/zap"
)

// NotImplemented is the handler of a protocol whose real handler is not
// wired yet: it logs and closes each connection, so the listener is open
// and a client fails fast instead of hanging.
func NotImplemented(protocol string, log *zap.Logger) ConnHandler {
	msg := protocol + " handler not implemented yet: closing connection"
	return ConnHandlerFunc(func(_ context.Context, conn net.Conn) error {
		log.Warn(msg, zap.String("protocol", protocol), zap.Stringer("remote", conn.RemoteAddr()))
		return nil
	})
}
