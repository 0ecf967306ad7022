package kafka

import (
	"bytes"
	"errors"
	"fmt"

	"go.uber.org/zap"
)

// saslState is a connection's SASL login (PLAIN only). The read loop runs
// SaslHandshake and SaslAuthenticate inline, so no other request of the
// connection is decoded until the login is decided.
type saslState struct {
	mechanism     string // from SaslHandshake
	rawNext       bool   // SaslHandshake v0: the next frame is a bare token
	authenticated bool
	failed        bool // the connection closes after the failure answer
}

func isSASL(key int16) bool { return key == 17 || key == 36 }

var errSASLFailed = errors.New("kafka: SASL authentication failed")

// checkPlain verifies a PLAIN token (RFC 4616: authzid NUL user NUL
// password). Kafka refuses an authorization id other than the user.
func (c *conn) checkPlain(token []byte) (user string, ok bool, why string) {
	parts := bytes.Split(token, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		return "", false, "invalid SASL/PLAIN token: want [authzid] NUL username NUL password"
	}
	user = string(parts[1])
	if len(parts[0]) > 0 && string(parts[0]) != user {
		return user, false, "authorization id and username differ"
	}
	if !c.h.opts.Authenticate(user, string(parts[2])) {
		return user, false, "invalid username or password"
	}
	return user, true, ""
}

// login records the outcome of a token check.
func (c *conn) login(user string, ok bool) {
	if ok {
		c.sasl.authenticated = true
		c.h.log.Debug("kafka SASL login", zap.String("user", user), zap.String("remote", c.nc.RemoteAddr().String()))
		return
	}
	c.sasl.failed = true
	// The user name, never the password.
	c.h.log.Info("kafka SASL login failed", zap.String("user", user), zap.String("remote", c.nc.RemoteAddr().String()))
}

// rawSASL serves the bare token that follows SaslHandshake v0: an empty
// bare answer on success; on failure the connection closes, as Kafka does.
func (c *conn) rawSASL(frame []byte) (*slot, error) {
	c.sasl.rawNext = false
	user, ok, why := c.checkPlain(frame)
	c.login(user, ok)
	if !ok {
		return nil, fmt.Errorf("%w: %s", errSASLFailed, why)
	}
	sl := &slot{done: make(chan struct{}), out: []byte{0, 0, 0, 0}}
	close(sl.done)
	return sl, nil
}
