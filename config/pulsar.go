package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// validate checks the Pulsar TLS and login settings: one login method at
// most, and files that exist and parse, so a typo stops the start here
// rather than as a handshake failure against the broker.
func (p Pulsar) validate(bad func(key, format string, args ...any)) {
	if m := p.AuthMethods(); len(m) > 1 {
		bad("pulsar", "%s are set: the gateway logs in to Pulsar one way, so set only one of pulsar.auth_token, pulsar.auth_token_file, pulsar.tls.cert_file/key_file, pulsar.oauth2", strings.Join(m, " and "))
	}
	secure := strings.HasPrefix(p.URL, "pulsar+ssl://") || strings.HasPrefix(p.AdminURL, "https://")
	t := p.TLS
	if (t.CAFile != "" || t.ServerName != "") && !secure {
		bad("pulsar.tls", "set, but neither pulsar.url (pulsar+ssl://) nor pulsar.admin_url (https://) uses TLS")
	}
	if t.CAFile != "" {
		if _, err := LoadCAPool(t.CAFile); err != nil {
			bad("pulsar.tls.ca_file", "%v", err)
		}
	}
	if t.CertFile != "" || t.KeyFile != "" {
		switch {
		case t.CertFile == "" || t.KeyFile == "":
			bad("pulsar.tls", "cert_file and key_file must be set together")
		case !strings.HasPrefix(p.URL, "pulsar+ssl://") || !strings.HasPrefix(p.AdminURL, "https://"):
			bad("pulsar.tls.cert_file", "a client certificate logs in only over TLS: pulsar.url must be pulsar+ssl:// and pulsar.admin_url https://")
		default:
			if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
				bad("pulsar.tls.cert_file", "%v", err)
			}
		}
	}
	if p.AuthTokenFile != "" {
		if b, err := os.ReadFile(p.AuthTokenFile); err != nil {
			bad("pulsar.auth_token_file", "%v", err)
		} else if strings.TrimSpace(string(b)) == "" {
			bad("pulsar.auth_token_file", "%s is empty", p.AuthTokenFile)
		}
	}
	if p.ActAsClients {
		if p.ClientTokenKeyFile == "" {
			bad("pulsar.client_token_key_file", "must be set with pulsar.act_as_clients: the gateway signs each user's Pulsar token with it")
		} else if _, err := os.Stat(p.ClientTokenKeyFile); err != nil {
			bad("pulsar.client_token_key_file", "%v", err)
		}
		if p.MaxClientConnections <= 0 {
			bad("pulsar.max_client_connections", "must be positive")
		}
	}
	if o := p.OAuth2; o != (PulsarOAuth2{}) {
		if o.PrivateKeyFile == "" {
			bad("pulsar.oauth2.private_key_file", "must be set with pulsar.oauth2 (the client credentials)")
		} else if _, err := os.Stat(o.PrivateKeyFile); err != nil {
			bad("pulsar.oauth2.private_key_file", "%v", err)
		}
		if o.IssuerURL == "" {
			bad("pulsar.oauth2.issuer_url", "must be set with pulsar.oauth2")
		} else if err := checkURL(o.IssuerURL, "http", "https"); err != nil {
			bad("pulsar.oauth2.issuer_url", "%q: %v", o.IssuerURL, err)
		}
	}
}

// LoadCAPool reads PEM CA certificates into a pool.
func LoadCAPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return pool, nil
}
