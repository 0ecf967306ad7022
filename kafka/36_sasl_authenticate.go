package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslAuthenticate v0-v2 (v2 flexible), after SaslHandshake v1. A failed
// login is answered SASL_AUTHENTICATION_FAILED and the connection closes,
// as Kafka does. Sessions do not expire (lifetime 0: no re-login).
func init() { register(36, 0, 2, handleSaslAuthenticate) }

func handleSaslAuthenticate(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	c := r.c
	if !h.loginsOn() || c.sasl.mechanism == "" || c.sasl.authenticated {
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
	return resp, nil
}
