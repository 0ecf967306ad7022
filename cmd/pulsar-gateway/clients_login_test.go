package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/jwtauth/jwttest"
)

// Real clients of other languages log in to a gateway with a password file
// and a JWKS, at debug level: pika and paho-mqtt (testdata/password_logins.py)
// with the password and with a JWT as password, each publishing and
// consuming a message, and refused with their protocol's own answer for a
// wrong password, an unknown user, no credentials, an expired token and a
// token another key signed (AMQP 403 ACCESS_REFUSED; MQTT CONNACK 4/0x86
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
