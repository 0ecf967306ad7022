package kafka

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/tlsident"
)

// saslState is a connection's login (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER,
// or its TLS client certificate). The read loop runs SaslHandshake and
// SaslAuthenticate inline, so no other request of the connection is
// decoded until the login is decided.
type saslState struct {
	mechanism     string // from SaslHandshake
	rawNext       bool   // SaslHandshake v0: the next frame is a bare token
	authenticated bool
	failed        bool   // the connection closes after the failure answer
	user          string // once authenticated: the principal's name
	scram         *scramServer
	// expires ends the login (zero: never): a request after it closes the
	// connection unless the client logged in again (reauth) before.
	expires time.Time
	reauth  bool   // a SaslHandshake of a logged-in connection began a re-login
	bearer  string // the OAUTHBEARER token of the login under way
}

// saslMechanisms are what the gateway offers: PLAIN and SCRAM with a
// password file, OAUTHBEARER with a token validator.
func (h *Handler) saslMechanisms() []string {
	var out []string
	if h.opts.Authenticate != nil {
		out = append(out, "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
	}
	if h.opts.Tokens != nil {
		out = append(out, "OAUTHBEARER")
	}
	return out
}

// loginsOn: every connection must log in first.
func (h *Handler) loginsOn() bool {
	return h.opts.Authenticate != nil || h.opts.Tokens != nil || h.opts.CertPrincipal != nil
}

// certLogin logs the connection in by its TLS client certificate, as a
// Kafka SSL listener with ssl.client.auth=required does; false when the
// handshake failed or the subject maps to no principal (closed then).
func (c *conn) certLogin(ctx context.Context) bool {
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cert, err := tlsident.PeerCertificate(hctx, c.nc)
	if err != nil || cert == nil {
		c.h.log.Debug("kafka TLS client without a verified certificate", zap.String("remote", c.nc.RemoteAddr().String()), zap.Error(err))
		return false
	}
	p, err := c.h.opts.CertPrincipal(cert)
	if err != nil {
		c.h.log.Info("kafka client certificate maps to no principal", zap.String("remote", c.nc.RemoteAddr().String()), zap.Error(err))
		return false
	}
	c.login(p, true)
	return true
}

// checkBearer verifies an OAUTHBEARER initial response (RFC 7628:
// gs2-header, then \x01auth=Bearer <token>\x01, key=value pairs, \x01).
func (c *conn) checkBearer(msg []byte) (user string, ok bool, why string) {
	gs2, rest, found := bytes.Cut(msg, []byte{1})
	if !found || !bytes.HasPrefix(gs2, []byte("n,")) || !bytes.HasSuffix(gs2, []byte(",")) {
		return "", false, "invalid OAUTHBEARER message"
	}
	authz := string(gs2[2 : len(gs2)-1])
	var token string
	for _, kv := range bytes.Split(rest, []byte{1}) {
		if t, ok := bytes.CutPrefix(kv, []byte("auth=")); ok {
			s, ok := strings.CutPrefix(string(t), "Bearer ")
			if !ok {
				return "", false, "invalid OAUTHBEARER message: auth is not a Bearer token"
			}
			token = strings.TrimSpace(s)
		}
	}
	if token == "" {
		return "", false, "invalid OAUTHBEARER message: no token"
	}
	user, err := c.h.opts.Tokens.Validate(token)
	if err != nil {
		return "", false, "invalid token: " + err.Error()
	}
	c.sasl.bearer = token
	if a, has := strings.CutPrefix(authz, "a="); authz != "" && (!has || a != user) {
		return user, false, "authorization id and token subject differ"
	}
	return user, true, ""
}

// saslStep checks one token of the connection's mechanism: the answer to
// send back, whether the login is done, and why it failed. A SCRAM login
// takes two steps; PLAIN one.
func (c *conn) saslStep(token []byte) (answer []byte, user string, done bool, why string) {
	if c.sasl.mechanism == "OAUTHBEARER" {
		user, ok, why := c.checkBearer(token)
		if !ok {
			return nil, user, true, why
		}
		return nil, user, true, ""
	}
	m, isScram := scramByName(c.sasl.mechanism)
	if !isScram {
		user, ok, why := c.checkPlain(token)
		if !ok {
			return nil, user, true, why
		}
		return nil, user, true, ""
	}
	if c.sasl.scram == nil {
		c.sasl.scram = &scramServer{m: m, creds: c.h.scram}
	}
	s := c.sasl.scram
	out, done, err := s.step(string(token))
	if err != nil {
		return nil, s.user, true, "Authentication failed during authentication due to invalid credentials with SASL mechanism " + m.name
	}
	return []byte(out), s.user, done, ""
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

// lifetime is how long a login just made lasts (KIP-368), 0 for ever.
func (c *conn) lifetime() time.Duration {
	d := c.h.opts.MaxReauth
	if d > 0 && c.sasl.mechanism == "OAUTHBEARER" && c.h.opts.Tokens != nil {
		if exp := c.h.opts.Tokens.Expiry(c.sasl.bearer); !exp.IsZero() {
			d = max(min(d, time.Until(exp)), time.Millisecond)
		}
	}
	c.sasl.bearer = ""
	return d
}

// login records the outcome of a token check.
func (c *conn) login(user string, ok bool) {
	if ok && c.sasl.reauth && user != c.sasl.user {
		// KIP-368: a re-login may not change who the connection is.
		c.h.log.Info("kafka SASL re-login as another principal", zap.String("user", user), zap.String("was", c.sasl.user))
		ok = false
	}
	c.sasl.reauth, c.sasl.scram = false, nil
	if ok {
		if d := c.lifetime(); d > 0 {
			c.sasl.expires = time.Now().Add(d)
		}
		c.sasl.authenticated, c.sasl.user = true, user
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
	answer, user, done, why := c.saslStep(frame)
	if done {
		c.sasl.rawNext = false
		c.login(user, why == "")
	}
	if why != "" {
		return nil, fmt.Errorf("%w: %s", errSASLFailed, why)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(answer)))
	sl := &slot{done: make(chan struct{}), out: append(out, answer...)}
	close(sl.done)
	return sl, nil
}

// mayOnCluster reports whether the request's principal may do op on the
// cluster (manage users, describe quotas): as the rules say when
// authorization is on; else anyone when logins are off (Kafka without an
// authorizer), or the super users.
func (r *request) mayOnCluster(op authz.Op) bool {
	h := r.c.h
	switch {
	case h.authzOn():
		return r.allowedCluster(op)
	case !h.loginsOn():
		return true
	}
	return slices.ContainsFunc(h.opts.SuperUsers, func(u string) bool { return authz.Principal(u) == r.who.Principal })
}
