package main

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/integration/m2"
	"github.com/pulsar-gateway/pulsar-gateway/jwtauth/jwttest"
	"github.com/pulsar-gateway/pulsar-gateway/tlsident/certtest"
)

// Real clients of other languages log in to a gateway with a password file
// and a JWKS, at debug level: pika and paho-mqtt (testdata/password_logins.py)
// with the password and with a JWT as password, each publishing and
// consuming a message, and refused with their protocol's own answer for a
// wrong password, an unknown user, no credentials, an expired token and a
// token another key signed (AMQP 403 ACCESS_REFUSED; MQTT CONNACK 5/0x87
// for bad credentials, 5/0x87 for none); librdkafka's kcat logs in with
// SASL/PLAIN and is refused with a wrong password and without SASL. No log
// line holds a password or token.
func TestRunRealClientsPasswordAndTokenLogins(t *testing.T) {
	const user, password, wrong = "alice", "pw-alice-7f3c2d", "pw-wrong-91ab0e"
	pw := passwordFile(t, user, password)
	key, other := jwttest.NewKey(t, "k"), jwttest.NewKey(t, "k")
	jwks := jwttest.WriteJWKS(t, key)
	token := key.Sign(t, jwttest.Claims("device-7", time.Hour))
	expired := key.Sign(t, jwttest.Claims("device-7", -time.Hour))
	forged := other.Sign(t, jwttest.Claims("device-7", time.Hour)) // same kid, another key
	logs, _ := startRun(t, append(portZeroArgs(t), "--auth-password-file", pw, "--auth-jwks-file", jwks, "--log-level", "debug"))
	addrs := listeningAddrs(t, logs.String, 5)

	runPython(t, "testdata/password_logins.py", map[string]any{
		"amqp": addrs["amqp"], "mqtt": addrs["mqtt"],
		"user": user, "password": password, "wrong": wrong,
		"subject": "device-7", "token": token, "expired": expired, "forged": forged,
	})

	sasl := func(pass string) []string {
		return []string{"-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
			"-X", "sasl.username=" + user, "-X", "sasl.password=" + pass}
	}
	if out, err := kcatMetadata(t, addrs["kafka"], sasl(password)...); err != nil || !strings.Contains(out, "1 brokers:") {
		t.Errorf("kcat with SASL/PLAIN: %v\n%s", err, out)
	}
	if out, err := kcatMetadata(t, addrs["kafka"], sasl(wrong)...); err == nil || !strings.Contains(out, "Authentication failed") {
		t.Errorf("kcat with a wrong password: %v, want an authentication failure\n%s", err, out)
	}
	if out, err := kcatMetadata(t, addrs["kafka"]); err == nil || !strings.Contains(out, "Disconnected") {
		t.Errorf("kcat without SASL: %v, want disconnected\n%s", err, out)
	}
	noSecretsLogged(t, logs.String, password, wrong, token, expired, forged, signature(token), signature(forged))
}

// runPython runs script with Debian's python3 (where pika and paho-mqtt
// are installed), args as its one JSON argument, and fails the test unless
// it exits 0.
func runPython(t *testing.T, script string, args map[string]any) {
	t.Helper()
	js, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", script, string(js)).CombinedOutput()
	t.Logf("%s:\n%s", script, out)
	if err != nil {
		t.Errorf("%s: %v", script, err)
	}
}

// kcatMetadata runs kcat -L (librdkafka) against addr with extra args,
// returning its output.
func kcatMetadata(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatal("kcat not installed: apt-get install kcat")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kcat", append([]string{"-b", addr, "-L", "-m", "5"}, args...)...).CombinedOutput()
	t.Logf("kcat -L %s: %v\n%s", strings.Join(args, " "), err, out)
	return string(out), err
}

// signature is a JWT's last part: logged alone, it would still be a secret.
func signature(token string) string { return token[strings.LastIndex(token, ".")+1:] }

// AMQP EXTERNAL with real clients: the listener requires certificates of
// one CA, and the password file is the user database, as RabbitMQ's with
// rabbitmq_auth_mechanism_ssl (ssl_cert_login_from distinguished_name,
// the default). pika (testdata/amqp_external.py) and RabbitMQ's Java
// client (testdata/AmqpExternal.java) log in with the certificate of a
// user the file has and publish and consume a message; one whose user
// the file lacks gets 403 ACCESS_REFUSED and a closed connection; one of
// another CA, or none, fails the TLS handshake. No log line holds a
// private key or the password.
func TestRunRealClientsAMQPExternal(t *testing.T) {
	ca, stranger := certtest.NewCA(t), certtest.NewCA(t)
	ca.Server(t, "server")
	ca.Client(t, "known", pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"apps"}, Organization: []string{"Example"}})
	ca.Client(t, "unknown", pkix.Name{CommonName: "bob", OrganizationalUnit: []string{"apps"}, Organization: []string{"Example"}})
	stranger.Client(t, "alice", pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"apps"}, Organization: []string{"Example"}})
	const password = "pw-dn-alice-5e8a1f"
	pw := passwordFile(t, "CN=alice,OU=apps,O=Example", password)
	f := ca.Path
	logs, _ := startRun(t, append(portZeroArgs(t), "--auth-password-file", pw, "--log-level", "debug",
		"--amqp-tls-cert-file", f("server.pem"), "--amqp-tls-key-file", f("server-key.pem"), "--amqp-tls-client-ca-file", f("ca.pem")))
	addrs := listeningAddrs(t, logs.String, 5)
	pair := func(ca *certtest.CA, name string) map[string]string {
		return map[string]string{"cert": ca.Path(name + ".pem"), "key": ca.Path(name + "-key.pem")}
	}

	runPython(t, "testdata/amqp_external.py", map[string]any{"amqp": addrs["amqp"], "ca": f("ca.pem"),
		"known": pair(ca, "known"), "unknown_user": pair(ca, "unknown"), "other_ca": pair(stranger, "alice")})

	cp := m2.CompileRabbitMQClient(t, "testdata/AmqpExternal.java")
	host, port, _ := net.SplitHostPort(addrs["amqp"])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "java", "-cp", cp, "AmqpExternal", host, port, f("ca.pem"),
		f("known.pem"), f("known-key.pem"), f("unknown.pem"), f("unknown-key.pem"), stranger.Path("alice.pem"), stranger.Path("alice-key.pem")).CombinedOutput()
	t.Logf("AmqpExternal:\n%s", out)
	if err != nil {
		t.Errorf("java AmqpExternal: %v", err)
	}

	// amqp091-go offers no authentication_failure_close: the socket just
	// closes, which it reports as 403, as with RabbitMQ.
	unknown, err := tls.LoadX509KeyPair(f("unknown.pem"), f("unknown-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := amqp091.DialTLS_ExternalAuth("amqps://"+addrs["amqp"]+"/", &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{unknown}}); !isAccessRefused(err) {
		t.Errorf("amqp091-go with a certificate of a user the password file lacks: %v, want 403", err)
	}

	// The gateway's side of the refused handshakes: pika's and Java's
	// certificate of another CA, pika's missing one.
	handshakes := map[string]int{}
	for _, l := range parseLogs(t, strings.NewReader(logs.String())) {
		for _, why := range []string{"certificate signed by unknown authority", "client didn't provide a certificate"} {
			if e := l.str("error"); strings.Contains(e, "tls: ") && strings.Contains(e, why) {
				handshakes[why]++
			}
		}
	}
	if handshakes["certificate signed by unknown authority"] < 2 || handshakes["client didn't provide a certificate"] < 1 {
		t.Errorf("TLS handshakes refused, by reason: %v; want 2 of another CA and 1 without a certificate; log:\n%s", handshakes, logs)
	}

	secrets := []string{password}
	for _, key := range []string{f("server-key.pem"), f("known-key.pem"), f("unknown-key.pem"), stranger.Path("alice-key.pem")} {
		secrets = append(secrets, pemLines(t, key)...)
	}
	noSecretsLogged(t, logs.String, secrets...)
}

// pemLines are the base64 lines of a PEM file: any one of them in a log
// would leak part of the key.
func pemLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("%s holds no PEM lines", path)
	}
	return lines
}
