// Package tlsident is who a TLS client is by its certificate: the
// verified peer certificate of a connection, and Kafka's principal mapping
// rules (KIP-371, ssl.principal.mapping.rules) that turn its subject into
// a principal name.
package tlsident

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"regexp"
	"strings"
)

// PeerCertificate completes the TLS handshake of nc, when it is a TLS
// connection, and returns the client's verified certificate: nil when nc
// is not TLS or the client sent none (the listener then asked for none).
// A connection carried in another (a WebSocket's) is looked into through
// its NetConn method.
func PeerCertificate(ctx context.Context, nc net.Conn) (*x509.Certificate, error) {
	tc, ok := nc.(*tls.Conn)
	for !ok {
		inner, carried := nc.(interface{ NetConn() net.Conn })
		if !carried {
			return nil, nil
		}
		nc = inner.NetConn()
		tc, ok = nc.(*tls.Conn)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	st := tc.ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return nil, nil
	}
	return st.PeerCertificates[0], nil
}

// Rules are Kafka's principal mapping rules, tried in order; the first
// that matches names the principal.
type Rules []rule

type rule struct {
	deflt bool // DEFAULT: the subject as it is
	re    *regexp.Regexp
	repl  string
	fold  byte // 'L' lower case, 'U' upper case, 0 as is
}

// ruleSyntax is one rule and what follows it, as Kafka's
// SslPrincipalMapper parses them (a pattern may hold commas).
var ruleSyntax = regexp.MustCompile(`^\s*(?:(DEFAULT)|RULE:((?:\\/|[^/])*)/((?:\\/|[^/])*)/([LU]?))\s*(?:,|$)`)

// ParseRules parses ssl.principal.mapping.rules ("" is DEFAULT).
func ParseRules(s string) (Rules, error) {
	if strings.TrimSpace(s) == "" {
		return Rules{{deflt: true}}, nil
	}
	var out Rules
	for rest := s; strings.TrimSpace(rest) != ""; {
		m := ruleSyntax.FindStringSubmatchIndex(rest)
		if m == nil {
			return nil, fmt.Errorf("principal mapping rules: cannot parse %q", rest)
		}
		if m[2] >= 0 {
			out = append(out, rule{deflt: true})
		} else {
			pat := strings.ReplaceAll(rest[m[4]:m[5]], `\/`, "/")
			re, err := regexp.Compile("^(?:" + pat + ")$") // Java's matches(): the whole subject
			if err != nil {
				return nil, fmt.Errorf("principal mapping rules: %q: %w", pat, err)
			}
			repl := strings.ReplaceAll(rest[m[6]:m[7]], `\/`, "/")
			// Java's $1 is Go's ${1}: "$1x" would name group "1x" here.
			repl = regexp.MustCompile(`\$(\d+)`).ReplaceAllString(repl, "$${$1}")
			r := rule{re: re, repl: repl}
			if m[8] < m[9] {
				r.fold = rest[m[8]]
			}
			out = append(out, r)
		}
		rest = rest[m[1]:]
	}
	return out, nil
}

// Map is the principal of a certificate subject (RFC 2253 form, as
// Subject returns it); an error when no rule applies, as in Kafka.
func (rs Rules) Map(subject string) (string, error) {
	for _, r := range rs {
		if r.deflt {
			return subject, nil
		}
		m := r.re.FindStringSubmatchIndex(subject)
		if m == nil {
			continue
		}
		out := string(r.re.ExpandString(nil, r.repl, subject, m))
		switch r.fold {
		case 'L':
			out = strings.ToLower(out)
		case 'U':
			out = strings.ToUpper(out)
		}
		return out, nil
	}
	return "", fmt.Errorf("no principal mapping rule applies to %q", subject)
}

// Subject is a certificate's subject in RFC 2253 form, most specific
// attribute first ("CN=alice,OU=apps,O=Example"), as Java's
// X500Principal.getName() gives it to Kafka's rules.
func Subject(c *x509.Certificate) string { return c.Subject.String() }
