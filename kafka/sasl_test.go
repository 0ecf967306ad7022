package kafka

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

func startSASLGateway(t *testing.T) string {
	t.Helper()
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return serveWith(t, b, func(o *Options) {
		o.Authenticate = func(user, password string) bool { return user == "alice" && password == "alice-secret" }
	})
}

func TestSASLPlainLogin(t *testing.T) {
	addr := startSASLGateway(t)
	cl := newClient(t, addr, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()))
	createTopic(t, cl, "sasl", 1)
	if err := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: "sasl", Value: []byte("hi")}).FirstErr(); err != nil {
		t.Fatalf("produce after login: %v", err)
	}
	cons := newClient(t, addr, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()),
		kgo.ConsumeTopics("sasl"))
	if got := consume(t, cons, 1); string(got[0].Value) != "hi" {
		t.Fatalf("consumed %q", got[0].Value)
	}
}

func TestSASLPlainWrongPassword(t *testing.T) {
	addr := startSASLGateway(t)
	cl := newClient(t, addr, kgo.SASL(plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism()),
		kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
	err := cl.Ping(shortCtx(t))
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("login with a wrong password: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}

// A client that skips the login gets its connection closed, as Kafka
// does, after ApiVersions (which is allowed first).
func TestSASLRequiredBeforeRequests(t *testing.T) {
	addr := startSASLGateway(t)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	send := func(corr int32, req kmsg.Request) {
		t.Helper()
		var f kmsg.RequestFormatter
		if _, err := nc.Write(f.AppendRequest(nil, req, corr)); err != nil {
			t.Fatal(err)
		}
	}
	av := kmsg.NewPtrApiVersionsRequest()
	av.SetVersion(0)
	send(1, av)
	readResponse(t, nc) // ApiVersions is allowed before the login
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(4)
	send(2, md)
	var size [4]byte
	if n, err := nc.Read(size[:]); err == nil {
		t.Fatalf("Metadata before login answered (%d bytes), want the connection closed", n)
	}
}

// SaslHandshake v0 is followed by a bare token (kafka-python's older path).
func TestSASLPlainHandshakeV0(t *testing.T) {
	addr := startSASLGateway(t)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.SetVersion(0)
	hs.Mechanism = "PLAIN"
	var f kmsg.RequestFormatter
	if _, err := nc.Write(f.AppendRequest(nil, hs, 7)); err != nil {
		t.Fatal(err)
	}
	resp := readResponse(t, nc)
	var hr kmsg.SASLHandshakeResponse
	hr.SetVersion(0)
	if err := hr.ReadFrom(resp[4:]); err != nil || hr.ErrorCode != 0 {
		t.Fatalf("handshake v0: %v, code %d", err, hr.ErrorCode)
	}
	token := []byte("\x00alice\x00alice-secret")
	frame := append([]byte{0, 0, 0, byte(len(token))}, token...)
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	if got := readResponse(t, nc); len(got) != 0 {
		t.Fatalf("bare token answer %q, want empty", got)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(4)
	if _, err := nc.Write(f.AppendRequest(nil, md, 8)); err != nil {
		t.Fatal(err)
	}
	if got := readResponse(t, nc); len(got) < 4 {
		t.Fatalf("Metadata after login: %q", got)
	}
}

// readResponse reads one size-prefixed frame and returns its body.
func readResponse(t *testing.T, nc net.Conn) []byte {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(size[0])<<24|int(size[1])<<16|int(size[2])<<8|int(size[3]))
	if _, err := io.ReadFull(nc, body); err != nil {
		t.Fatal(err)
	}
	return body
}

// KIP-368: with a login lifetime, franz-go logs in again on its
// connection before the lifetime ends and goes on producing; a client that
// does not is cut off at its first request after it.
func TestSASLReauthentication(t *testing.T) {
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	addr := serveWith(t, b, func(o *Options) {
		o.Authenticate = func(user, password string) bool { return user == "alice" && password == "alice-secret" }
		o.MaxReauth = 700 * time.Millisecond
	})
	var connects connectCounter
	cl := newClient(t, addr, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()),
		kgo.DefaultProduceTopic("reauth"), kgo.WithHooks(&connects))
	createTopic(t, cl, "reauth", 1)
	if err := cl.ProduceSync(testCtx(t), &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	before := connects.n.Load() // every connection the client uses is open now
	for i := range 12 {         // 2.4 s: three lifetimes
		if err := cl.ProduceSync(testCtx(t), &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatalf("produce %d, %v into the connection: %v", i, time.Duration(i)*200*time.Millisecond, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := connects.n.Load() - before; n > 0 {
		t.Fatalf("%d new connections over three lifetimes: the client was cut off instead of logging in again", n)
	}

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	var f kmsg.RequestFormatter
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.SetVersion(1)
	hs.Mechanism = "PLAIN"
	nc.Write(f.AppendRequest(nil, hs, 1))
	readResponse(t, nc)
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.SetVersion(1)
	auth.SASLAuthBytes = []byte("\x00alice\x00alice-secret")
	nc.Write(f.AppendRequest(nil, auth, 2))
	body := readResponse(t, nc)
	var ar kmsg.SASLAuthenticateResponse
	ar.SetVersion(1)
	if err := ar.ReadFrom(body[4:]); err != nil || ar.ErrorCode != 0 || ar.SessionLifetimeMillis <= 0 || ar.SessionLifetimeMillis > 700 {
		t.Fatalf("SaslAuthenticate: %+v %v, want a lifetime of at most 700 ms", ar, err)
	}
	time.Sleep(time.Second)
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(4)
	nc.Write(f.AppendRequest(nil, md, 3))
	var size [4]byte
	if n, err := nc.Read(size[:]); err == nil {
		t.Fatalf("Metadata after the session expired answered (%d bytes), want the connection closed", n)
	}
}

// connectCounter counts a kgo client's connections.
type connectCounter struct{ n atomic.Int64 }

func (c *connectCounter) OnBrokerConnect(kgo.BrokerMetadata, time.Duration, net.Conn, error) {
	c.n.Add(1)
}
