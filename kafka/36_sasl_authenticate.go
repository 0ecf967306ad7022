package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslAuthenticate v0-v2 (v2 flexible), after SaslHandshake v1. A failed
// login is answered SASL_AUTHENTICATION_FAILED and the connection closes,
// as Kafka does. With Options.MaxReauth the answer carries the session's
// lifetime (v1+), and the client logs in again before it ends (KIP-368).
func init() { register(36, 0, 2, handleSaslAuthenticate) }

func handleSaslAuthenticate(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	c := r.c
	if !h.loginsOn() || c.sasl.mechanism == "" || (c.sasl.authenticated && !c.sasl.reauth) {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		msg := "SaslAuthenticate without a SaslHandshake"
		resp.ErrorMessage = &msg
		c.sasl.failed = true
		return resp, nil
	}
	answer, user, done, why := c.saslStep(req.SASLAuthBytes)
	if done {
		c.login(user, why == "")
	}
	if why != "" {
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed: " + why
		resp.ErrorMessage = &msg
		return resp, nil
	}
	resp.SASLAuthBytes = answer
	if done && !c.sasl.expires.IsZero() {
		resp.SessionLifetimeMillis = max(time.Until(c.sasl.expires).Milliseconds(), 1)
	}
	return resp, nil
}
