package kafka

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslHandshake v0-v1: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 when the
// gateway has users (Options.Authenticate), OAUTHBEARER when it checks
// tokens (Options.Tokens). After v0 the client sends bare tokens; after v1
// SaslAuthenticate requests.
func init() { register(17, 0, 1, handleSaslHandshake) }

func handleSaslHandshake(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	c := r.c
	switch {
	case !h.loginsOn():
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		resp.SupportedMechanisms = []string{}
	case c.sasl.authenticated && h.opts.MaxReauth > 0 && !c.sasl.reauth && req.Version >= 1:
		// KIP-368: a re-login, with the mechanism of the first.
		resp.SupportedMechanisms = h.saslMechanisms()
		if req.Mechanism != c.sasl.mechanism {
			resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
			resp.SupportedMechanisms = []string{c.sasl.mechanism}
			return resp, nil
		}
		c.sasl.reauth = true
	case c.sasl.authenticated || c.sasl.mechanism != "":
		resp.ErrorCode = kerr.IllegalSaslState.Code
		c.sasl.failed = true
		return resp, nil
	case !slices.Contains(h.saslMechanisms(), req.Mechanism):
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		resp.SupportedMechanisms = h.saslMechanisms()
	default:
		resp.SupportedMechanisms = h.saslMechanisms()
		c.sasl.mechanism = req.Mechanism
		c.sasl.rawNext = req.Version == 0
	}
	return resp, nil
}
