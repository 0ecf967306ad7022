package pulsar

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/apache/pulsar-client-go/pulsar/auth"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// TLSOptions are how pulsar+ssl:// and https:// connections check the
// broker (its hostname always), and a client certificate to log in with.
type TLSOptions struct {
	// CAFile holds the CA certificates (PEM) the broker's certificate
	// must chain to; empty: the system's.
	CAFile string
	// ServerName is the name the broker's certificate must carry when it
	// is not the host connected to.
	ServerName string
	// CertFile and KeyFile are a client certificate: Pulsar's TLS
	// authentication (method "tls", the role its CN).
	CertFile, KeyFile string
}

// OAuth2Options are OAuth2 client credentials as pulsar-client-go's
// AuthenticationOAuth2 takes them.
type OAuth2Options struct {
	IssuerURL string
	// PrivateKeyFile is the credentials file (JSON: client_id,
	// client_secret), the provider's "privateKey".
	PrivateKeyFile string
	Audience       string
	Scope          string
}

// security is what every connection to Pulsar shares: the client, the
// admin client, the raw HTTP calls and the gateway's own binary-protocol
// connections. One tls.Config, and one auth.Provider (pulsar-client-go's)
// as the only source of login data, so a rotated token file or a refreshed
// OAuth2 token reaches all of them.
type security struct {
	tls  *tls.Config
	auth auth.Provider
}

// newSecurity builds the TLS config and the auth provider. The provider is
// initialized by pulsar.NewClient, which Open calls before anything else
// asks it for data.
func newSecurity(opts Options) (*security, error) {
	var methods []string
	var p auth.Provider
	var err error
	if opts.AuthToken != "" {
		methods, p = append(methods, "token"), auth.NewAuthenticationToken(opts.AuthToken)
	}
	if opts.AuthTokenFile != "" {
		methods, p = append(methods, "token file"), auth.NewAuthenticationTokenFromFile(opts.AuthTokenFile)
	}
	if opts.TLS.CertFile != "" || opts.TLS.KeyFile != "" {
		methods, p = append(methods, "client certificate"), auth.NewAuthenticationTLS(opts.TLS.CertFile, opts.TLS.KeyFile)
	}
	if opts.OAuth2 != (OAuth2Options{}) {
		methods = append(methods, "oauth2")
		p, err = auth.NewAuthenticationOAuth2WithParams(map[string]string{
			auth.ConfigParamType:      auth.ConfigParamTypeClientCredentials,
			auth.ConfigParamIssuerURL: opts.OAuth2.IssuerURL,
			auth.ConfigParamKeyFile:   opts.OAuth2.PrivateKeyFile,
			auth.ConfigParamAudience:  opts.OAuth2.Audience,
			auth.ConfigParamScope:     opts.OAuth2.Scope,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: bridge/pulsar: oauth2: %w", bridge.ErrInvalid, err)
		}
	}
	switch len(methods) {
	case 0:
		p = auth.NewAuthDisabled()
	case 1:
	default:
		return nil, fmt.Errorf("%w: bridge/pulsar: %s set: one way to log in", bridge.ErrInvalid, strings.Join(methods, " and "))
	}
	s := &security{auth: p}
	// Hostname verification stays on: there is no switch to skip it.
	s.tls = &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: opts.TLS.ServerName,
		// The provider's certificate (nil unless the method is "tls"),
		// loaded at each handshake so a renewed file is used.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := p.GetTLSCertificate()
			if c == nil && err == nil {
				c = &tls.Certificate{} // none: the broker may not require one
			}
			return c, err
		},
	}
	if opts.TLS.CAFile != "" {
		pem, err := os.ReadFile(opts.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: bridge/pulsar: TLS CA: %w", bridge.ErrInvalid, err)
		}
		s.tls.RootCAs = x509.NewCertPool()
		if !s.tls.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: bridge/pulsar: TLS CA %s: no PEM certificate in it", bridge.ErrInvalid, opts.TLS.CAFile)
		}
	}
	return s, nil
}

// connectAuth is the CONNECT command's auth method and data, as
// pulsar-client-go sends them: "" for none, "token" with the token (also
// an OAuth2 access token), "tls" with nothing (the certificate went in the
// handshake).
func (s *security) connectAuth() (string, []byte, error) {
	data, err := s.auth.GetData()
	if err != nil {
		return "", nil, fmt.Errorf("%w: pulsar auth data: %w", bridge.ErrUnavailable, err)
	}
	return s.auth.Name(), data, nil
}

// bearer is the HTTP Authorization header value for the admin API: the
// token of token and OAuth2 logins; "" for none and for client
// certificates, which go in the handshake.
func (s *security) bearer() (string, error) {
	method, data, err := s.connectAuth()
	if err != nil || method != "token" || len(data) == 0 {
		return "", err
	}
	return "Bearer " + string(data), nil
}

// authTransport is the admin API's HTTP transport: the TLS config, and the
// current login data on every request. It is also a pulsaradmin
// auth.Provider, so the admin client logs in the same way.
type authTransport struct {
	base http.RoundTripper
	s    *security
}

func (s *security) transport() *authTransport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = s.tls
	t.MaxIdleConnsPerHost = 10
	return &authTransport{base: t, s: s}
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") == "" {
		h, err := t.s.bearer()
		if err != nil {
			return nil, err
		}
		if h != "" {
			req = req.Clone(req.Context())
			req.Header.Set("Authorization", h)
		}
	}
	return t.base.RoundTrip(req)
}

func (t *authTransport) Transport() http.RoundTripper         { return t.base }
func (t *authTransport) WithTransport(base http.RoundTripper) { t.base = base }

// tlsURL reports whether a binary-protocol URL is TLS.
func (s *security) tlsURL(u string) bool { return strings.HasPrefix(u, "pulsar+ssl://") }

// dial connects to a broker URL's host, over TLS for pulsar+ssl://.
func (s *security) dial(ctx context.Context, u *url.URL) (net.Conn, error) {
	var d net.Dialer
	if u.Scheme != "pulsar+ssl" {
		nc, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
		}
		return nc, nil
	}
	td := tls.Dialer{NetDialer: &d, Config: s.tls}
	nc, err := td.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		// An untrusted certificate is ErrNotAllowed, a lost connection
		// ErrUnavailable (classify).
		return nil, mapErr(err, topicScope, "TLS to "+u.Host)
	}
	return nc, nil
}

// AdminHTTPClient is an HTTP client that reaches the admin API as a
// Backend with these options does (TLS, login), for calls the bridge does
// not make, such as tests creating namespaces.
func AdminHTTPClient(opts Options) (*http.Client, error) {
	s, err := newSecurity(opts)
	if err != nil {
		return nil, err
	}
	if err := s.auth.Init(); err != nil {
		return nil, err
	}
	return &http.Client{Transport: s.transport()}, nil
}
