package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/pulsar-gateway/pulsar-gateway/tlsident/certtest"
)

// wsArgs serve MQTT over ws:// and wss:// (the test CA's server
// certificate) beside every other listener.
func wsArgs(t *testing.T, ca *certtest.CA) []string {
	ca.Server(t, "server")
	return append(portZeroArgs(t), "--mqtt-ws-addr", "127.0.0.1:0", "--mqtt-wss-addr", "127.0.0.1:0",
		"--mqtt-wss-tls-cert-file", ca.Path("server.pem"), "--mqtt-wss-tls-key-file", ca.Path("server-key.pem"))
}

// pahoConnect connects paho.mqtt.golang (its WebSocket transport for ws://
// and wss:// brokers) and returns the client or the CONNECT's error.
func pahoConnect(t *testing.T, broker string, conf *tls.Config, id string, clean bool, user, pass string, onMsg paho.MessageHandler) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(clean).SetTLSConfig(conf).
		SetConnectRetry(false).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetProtocolVersion(4)
	if user != "" {
		o.SetUsername(user).SetPassword(pass)
	}
	if onMsg != nil {
		o.SetDefaultPublishHandler(onMsg)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect to %s timed out", broker)
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

func wait(t *testing.T, what string, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: %v", what, tok.Error())
	}
}

// MQTT over WebSocket is the TCP listener's MQTT: one session store (a
// persistent session begun over TCP resumes over ws:// and gets what was
// published over wss:// meanwhile), the same logins (a wrong password gets
// the same CONNACK over ws:// as over TCP), and HTTP answers as a broker
// gives them to what is no MQTT WebSocket.
func TestRunMQTTOverWebSockets(t *testing.T) {
	ca := certtest.NewCA(t)
	pw := passwordFile(t, "alice", "s3cret")
	logs, stop := startRun(t, append(wsArgs(t, ca), "--auth-password-file", pw))
	addrs := listeningAddrs(t, logs.String, 7)
	tcpURL, wsURL, wssURL := "tcp://"+addrs["mqtt"], "ws://"+addrs["mqtt.ws"]+"/mqtt", "wss://"+addrs["mqtt.wss"]+"/mqtt"
	trust := &tls.Config{RootCAs: ca.Pool}

	// Logins: the same answers on every transport.
	for _, broker := range []string{tcpURL, wsURL, wssURL} {
		if _, err := pahoConnect(t, broker, trust, "login-ok", true, "alice", "s3cret", nil); err != nil {
			t.Errorf("%s as alice: %v", broker, err)
		}
		if _, err := pahoConnect(t, broker, trust, "login-bad", true, "alice", "wrong", nil); !errors.Is(err, packets.ErrorRefusedNotAuthorised) {
			t.Errorf("%s with a wrong password: %v, want CONNACK 5 (not authorised) as on TCP", broker, err)
		}
		if _, err := pahoConnect(t, broker, trust, "login-anon", true, "", "", nil); !errors.Is(err, packets.ErrorRefusedNotAuthorised) {
			t.Errorf("%s anonymous: %v, want CONNACK 5 (not authorised)", broker, err)
		}
	}

	// A persistent session begun over TCP...
	got := make(chan string, 10)
	onMsg := func(_ paho.Client, m paho.Message) { got <- m.Topic() + " " + string(m.Payload()) }
	sub, err := pahoConnect(t, tcpURL, nil, "ws-session", false, "alice", "s3cret", onMsg)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, "subscribe over TCP", sub.Subscribe("ws/session/+", 1, nil))
	sub.Disconnect(100)
	// ...misses what is published over wss:// while away...
	pub, err := pahoConnect(t, wssURL, trust, "ws-publisher", true, "alice", "s3cret", nil)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, "publish over wss", pub.Publish("ws/session/a", 1, false, "while away"))
	// ...and resumes over ws://, subscription and message kept.
	back, err := pahoConnect(t, wsURL, nil, "ws-session", false, "alice", "s3cret", onMsg)
	if err != nil {
		t.Fatal(err)
	}
	if !back.IsConnected() {
		t.Fatal("not connected over ws")
	}
	select {
	case m := <-got:
		if m != "ws/session/a while away" {
			t.Errorf("resumed session over ws got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the session resumed over ws:// did not get the message published over wss:// while it was away")
	}
	// Live, both ways: over wss:// to ws://.
	wait(t, "publish over wss", pub.Publish("ws/session/b", 1, false, "live"))
	select {
	case m := <-got:
		if m != "ws/session/b live" {
			t.Errorf("got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no live message over ws")
	}

	// HTTP answers for what is not MQTT over WebSocket.
	for _, c := range []struct {
		name, path, protocol string
		upgrade              bool
		want                 int
	}{
		{"another path", "/other", "mqtt", true, http.StatusNotFound},
		{"no upgrade", "/mqtt", "", false, http.StatusBadRequest},
		{"another subprotocol", "/mqtt", "chat", true, http.StatusBadRequest},
		{"no subprotocol", "/mqtt", "", true, http.StatusBadRequest},
		{"mqttv3.1", "/mqtt", "mqttv3.1", true, http.StatusSwitchingProtocols},
		{"mqtt among others", "/mqtt", "chat, mqtt", true, http.StatusSwitchingProtocols},
	} {
		status, proto := wsHandshake(t, addrs["mqtt.ws"], c.path, c.protocol, c.upgrade)
		if status != c.want {
			t.Errorf("%s: HTTP %d, want %d", c.name, status, c.want)
		}
		if c.want == http.StatusSwitchingProtocols && proto != strings.TrimPrefix(c.protocol, "chat, ") {
			t.Errorf("%s: subprotocol %q agreed", c.name, proto)
		}
	}

	// A stop drains WebSocket clients too: the gateway exits cleanly
	// with them connected, and they are disconnected.
	if code := stop(); code != 0 {
		t.Errorf("exit code %d with WebSocket clients connected; log:\n%s", code, logs)
	}
	if back.IsConnectionOpen() || pub.IsConnectionOpen() {
		t.Error("WebSocket clients still connected after the gateway stopped")
	}
}

// A client certificate is the login over wss:// as over TLS
// (use_identity_as_username; wss falls back to mqtt.tls, client CA
// included): alice's certificate gets in, no certificate gets no session.
func TestRunMQTTWebSocketClientCertificate(t *testing.T) {
	ca := certtest.NewCA(t)
	ca.Server(t, "server")
	alice := ca.Client(t, "alice", pkix.Name{CommonName: "alice"})
	f := ca.Path
	logs, _ := startRun(t, append(portZeroArgs(t), "--mqtt-wss-addr", "127.0.0.1:0",
		"--mqtt-tls-cert-file", f("server.pem"), "--mqtt-tls-key-file", f("server-key.pem"), "--mqtt-tls-client-ca-file", f("ca.pem"),
		"--mqtt-use-identity-as-username", "--auth-open", "kafka,amqp,schema_registry"))
	addrs := listeningAddrs(t, logs.String, 6)
	wss := "wss://" + addrs["mqtt.wss"] + "/mqtt"
	if _, err := pahoConnect(t, wss, &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{alice}}, "cert-ws", true, "", "", nil); err != nil {
		t.Errorf("wss with alice's certificate: %v", err)
	}
	if c, err := pahoConnect(t, wss, &tls.Config{RootCAs: ca.Pool}, "cert-ws-none", true, "", "", nil); err == nil {
		c.Disconnect(0)
		t.Error("wss took a client without a certificate")
	}
}

// wsHandshake sends an upgrade request by hand and returns the answer's
// status and Sec-WebSocket-Protocol.
func wsHandshake(t *testing.T, addr, path, protocol string, upgrade bool) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if upgrade {
		req += "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	}
	if protocol != "" {
		req += "Sec-WebSocket-Protocol: " + protocol + "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Sec-WebSocket-Protocol")
}

// limits.max_connections counts MQTT's connections over every transport
// together: with two open (one TCP, one ws://), a third is closed at once,
// over ws:// or TCP alike.
func TestRunMQTTWebSocketConnectionLimit(t *testing.T) {
	ca := certtest.NewCA(t)
	logs, _ := startRun(t, append(wsArgs(t, ca), "--limits-max-connections", "2"))
	addrs := listeningAddrs(t, logs.String, 7)
	tcpURL, wsURL := "tcp://"+addrs["mqtt"], "ws://"+addrs["mqtt.ws"]+"/mqtt"
	if _, err := pahoConnect(t, tcpURL, nil, "limit-1", true, "", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pahoConnect(t, wsURL, nil, "limit-2", true, "", "", nil); err != nil {
		t.Fatal(err)
	}
	for _, broker := range []string{wsURL, "wss://" + addrs["mqtt.wss"] + "/mqtt", tcpURL} {
		if c, err := pahoConnect(t, broker, &tls.Config{RootCAs: ca.Pool}, "limit-3", true, "", "", nil); err == nil {
			c.Disconnect(0)
			t.Errorf("a third connection over %s was taken with limits.max_connections 2", broker)
		}
	}
	_, body := httpGet(t, "http://"+addrs["http"]+"/metrics")
	if !strings.Contains(body, `pulsar_gateway_connections_rejected_total{protocol="mqtt"} 3`) {
		t.Errorf("metrics do not count 3 rejected MQTT connections:\n%s", grepLines(body, "protocol=\"mqtt\""))
	}
	if !strings.Contains(body, `pulsar_gateway_connections_active{protocol="mqtt"} 2`) {
		t.Errorf("metrics do not count 2 active MQTT connections:\n%s", grepLines(body, "protocol=\"mqtt\""))
	}
}
