package mqtt

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	"github.com/pulsar-gateway/pulsar-gateway/handlers"
)

// gateway is the MQTT handler on a real socket and an embedded backend.
type gateway struct {
	addr    string
	backend bridge.Backend
	srv     *Server
	hs      *handlers.Server
	reg     *prometheus.Registry
	done    chan error
}

// startGateway serves MQTT on 127.0.0.1:0; dir "" keeps the store in
// memory. It stops when the test ends, unless stopped before.
func startGateway(t testing.TB, dir string, opts ...func(*Options)) *gateway {
	t.Helper()
	log := zap.NewNop()
	if os.Getenv("MQTT_TEST_LOG") != "" {
		log = zaptest.NewLogger(t) // late mochi lines may then panic the test binary
	}
	b, err := embedded.Open(embedded.Options{Dir: dir, InMemory: dir == "", Logger: log.Named("embedded")})
	if err != nil {
		t.Fatal(err)
	}
	return serveGateway(t, b, log, opts...)
}

// serveGateway serves MQTT on b, which it closes when stopping.
func serveGateway(t testing.TB, b bridge.Backend, log *zap.Logger, opts ...func(*Options)) *gateway {
	t.Helper()
	o := Options{Backend: b, Logger: log.Named("mqtt"), PatternDiscovery: 100 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	srv, err := New(context.Background(), o)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{addr: ln.Addr().String(), backend: b, srv: srv, done: make(chan error, 1), reg: prometheus.NewRegistry()}
	g.hs = handlers.NewServer(handlers.Options{Protocol: "mqtt", Handler: srv, Logger: log.Named("handlers"),
		Metrics: handlers.NewMetrics(g.reg)})
	go func() { g.done <- g.hs.Serve(ln) }()
	t.Cleanup(g.stop)
	return g
}

var stopped sync.Map

// stop drains the gateway and closes its store, as the binary does.
func (g *gateway) stop() {
	if _, dup := stopped.LoadOrStore(g, true); dup {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g.hs.Drain(ctx)
	g.hs.Close()
	<-g.done
	g.srv.Close()
	g.backend.Close()
}

// msg is a message a test client received.
type msg struct {
	topic   string
	payload string
	qos     byte
	retain  bool
	props   map[string]string
	expiry  uint32 // MQTT 5 message expiry interval; 0 when absent
}

// client3 is an MQTT 3.1.1 client (paho.mqtt.golang).
type client3 struct {
	paho3.Client
	got chan msg
}

func connect3(t testing.TB, g *gateway, id string, clean bool) *client3 {
	t.Helper()
	c := &client3{got: make(chan msg, 1000)}
	o := paho3.NewClientOptions().AddBroker("tcp://" + g.addr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetOrderMatters(true).SetProtocolVersion(4).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
			c.got <- msg{topic: m.Topic(), payload: string(m.Payload()), qos: m.Qos(), retain: m.Retained()}
		})
	c.Client = paho3.NewClient(o)
	wait3(t, c.Connect())
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func wait3(t testing.TB, tok paho3.Token) {
	t.Helper()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("paho: timed out")
	}
	if err := tok.Error(); err != nil {
		t.Fatal(err)
	}
}

func (c *client3) sub(t testing.TB, filter string, qos byte) {
	t.Helper()
	wait3(t, c.Subscribe(filter, qos, nil))
}

func (c *client3) pub(t testing.TB, topic string, qos byte, retain bool, payload string) {
	t.Helper()
	wait3(t, c.Publish(topic, qos, retain, payload))
}

// client5 is an MQTT 5 client (paho.golang).
type client5 struct {
	*paho.Client
	got chan msg
	ack *paho.Connack // the CONNACK it got
}

func connect5(t *testing.T, g *gateway, id string, cleanStart bool, expiry uint32) *client5 {
	t.Helper()
	conn, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &client5{got: make(chan msg, 1000)}
	c.Client = paho.NewClient(paho.ClientConfig{ClientID: id, Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			m := msg{topic: pr.Packet.Topic, payload: string(pr.Packet.Payload), qos: pr.Packet.QoS, retain: pr.Packet.Retain, props: map[string]string{}}
			if pr.Packet.Properties != nil {
				for _, u := range pr.Packet.Properties.User {
					m.props[u.Key] = u.Value
				}
				if e := pr.Packet.Properties.MessageExpiry; e != nil {
					m.expiry = *e
				}
			}
			c.got <- m
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cp := &paho.Connect{ClientID: id, CleanStart: cleanStart, KeepAlive: 30,
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	if ca.ReasonCode != 0 {
		t.Fatalf("connack %d", ca.ReasonCode)
	}
	c.ack = ca
	t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
	return c
}

func (c *client5) Disconnect(d *paho.Disconnect) error {
	if d == nil {
		d = &paho.Disconnect{}
	}
	return c.Client.Disconnect(d)
}

func (c *client5) sub(t *testing.T, filter string, qos byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if err != nil {
		t.Fatal(err)
	}
	if sa.Reasons[0] >= 0x80 {
		t.Fatalf("suback %#x", sa.Reasons[0])
	}
}

func (c *client5) pub(t *testing.T, topic string, qos byte, payload string, user ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := &paho.Publish{Topic: topic, QoS: qos, Payload: []byte(payload), Properties: &paho.PublishProperties{}}
	for i := 0; i+1 < len(user); i += 2 {
		p.Properties.User = append(p.Properties.User, paho.UserProperty{Key: user[i], Value: user[i+1]})
	}
	r, err := c.Publish(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if qos > 0 && r.ReasonCode >= 0x80 {
		t.Fatalf("publish reason %#x", r.ReasonCode)
	}
}

// expect receives n messages within a few seconds.
func expect(t testing.TB, got chan msg, n int) []msg {
	t.Helper()
	var out []msg
	deadline := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case m := <-got:
			out = append(out, m)
		case <-deadline:
			t.Fatalf("got %d messages %v, want %d", len(out), out, n)
		}
	}
	return out
}

// expectNone fails if a message arrives within d, or has arrived: with d 0
// it checks what is there, with no timer to race.
func expectNone(t *testing.T, got chan msg, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	select {
	case m := <-got:
		t.Fatalf("unexpected message %+v", m)
	default:
	}
}

func payloads(ms []msg) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.payload
	}
	return out
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// panics is how many connections panicked (handlers recovers them).
func (g *gateway) panics(t testing.TB) float64 {
	families, err := g.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "pulsar_gateway_panics_total" {
			for _, m := range f.GetMetric() {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
