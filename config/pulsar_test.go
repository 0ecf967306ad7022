package config

import (
	"strings"
	"testing"
)

// TestPulsarLogins: one way to log in to Pulsar, TLS settings only where
// TLS is spoken, and files that are there.
func TestPulsarLogins(t *testing.T) {
	cert, key := selfSigned(t)
	token := writeFile(t, "token", "eyJ.x.y\n")
	creds := writeFile(t, "creds.json", `{"client_id":"gw","client_secret":"s"}`)
	secure := []string{"--backend", "pulsar", "--pulsar-url", "pulsar+ssl://broker:6651", "--pulsar-admin-url", "https://broker:8443"}
	plain := []string{"--backend", "pulsar"}
	with := func(base []string, more ...string) []string { return append(append([]string(nil), base...), more...) }

	for _, ok := range [][]string{
		with(secure, "--pulsar-tls-ca-file", cert, "--pulsar-auth-token-file", token),
		with(secure, "--pulsar-tls-ca-file", cert, "--pulsar-tls-server-name", "broker.internal", "--pulsar-tls-cert-file", cert, "--pulsar-tls-key-file", key),
		with(secure, "--pulsar-oauth2-issuer-url", "https://idp.example.com", "--pulsar-oauth2-private-key-file", creds, "--pulsar-oauth2-audience", "pulsar"),
		with(plain, "--pulsar-auth-token-file", token),
		with(secure, "--pulsar-auth-token-file", token, "--pulsar-act-as-clients", "--pulsar-client-token-key-file", token),
	} {
		mustLoad(t, ok, nil)
	}

	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"token and token file", with(secure, "--pulsar-auth-token-file", token), map[string]string{"PULSAR_GATEWAY_PULSAR_AUTH_TOKEN": "t"},
			"pulsar: pulsar.auth_token and pulsar.auth_token_file are set: the gateway logs in to Pulsar one way"},
		{"token file and certificate", with(secure, "--pulsar-auth-token-file", token, "--pulsar-tls-cert-file", cert, "--pulsar-tls-key-file", key), nil,
			"pulsar.auth_token_file and pulsar.tls.cert_file are set"},
		{"certificate and oauth2", with(secure, "--pulsar-tls-cert-file", cert, "--pulsar-tls-key-file", key, "--pulsar-oauth2-issuer-url", "https://idp", "--pulsar-oauth2-private-key-file", creds), nil,
			"pulsar.tls.cert_file and pulsar.oauth2 are set"},
		{"ca without tls", with(plain, "--pulsar-tls-ca-file", cert), nil, "pulsar.tls: set, but neither pulsar.url (pulsar+ssl://) nor pulsar.admin_url (https://) uses TLS"},
		{"ca missing", with(secure, "--pulsar-tls-ca-file", "/nonexistent/ca.pem"), nil, "pulsar.tls.ca_file: open /nonexistent/ca.pem: no such file"},
		{"ca not pem", with(secure, "--pulsar-tls-ca-file", token), nil, "pulsar.tls.ca_file: " + token + ": no PEM certificate in it"},
		{"certificate half", with(secure, "--pulsar-tls-cert-file", cert), nil, "pulsar.tls: cert_file and key_file must be set together"},
		{"certificate over plain", with(plain, "--pulsar-tls-cert-file", cert, "--pulsar-tls-key-file", key), nil, "pulsar.tls.cert_file: a client certificate logs in only over TLS"},
		{"token file missing", with(plain, "--pulsar-auth-token-file", "/nonexistent/token"), nil, "pulsar.auth_token_file: open /nonexistent/token"},
		{"token file empty", with(plain, "--pulsar-auth-token-file", writeFile(t, "empty", "\n")), nil, "is empty"},
		{"oauth2 without credentials", with(secure, "--pulsar-oauth2-issuer-url", "https://idp"), nil, "pulsar.oauth2.private_key_file: must be set with pulsar.oauth2"},
		{"oauth2 without issuer", with(secure, "--pulsar-oauth2-private-key-file", creds), nil, "pulsar.oauth2.issuer_url: must be set with pulsar.oauth2"},
		{"act as clients without a key", with(secure, "--pulsar-act-as-clients"), nil, "pulsar.client_token_key_file: must be set with pulsar.act_as_clients"},
		{"act as clients, key missing", with(secure, "--pulsar-act-as-clients", "--pulsar-client-token-key-file", "/nonexistent/key"), nil, "pulsar.client_token_key_file: stat /nonexistent/key"},
		{"act as clients, no bound", with(secure, "--pulsar-act-as-clients", "--pulsar-client-token-key-file", token, "--pulsar-max-client-connections", "0"), nil, "pulsar.max_client_connections: must be positive"},
		{"act as clients on embedded", []string{"--pulsar-act-as-clients"}, nil, "pulsar.act_as_clients: acts in Pulsar as each client: the pulsar backend only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if msg := loadErr(t, c.args, c.env); !strings.Contains(msg, c.want) {
				t.Errorf("error = %q\nwant it to contain %q", msg, c.want)
			}
		})
	}
	// Nothing Pulsar is checked on the embedded store, which never connects.
	mustLoad(t, []string{"--pulsar-tls-ca-file", "/nonexistent/ca.pem"}, nil)
}
