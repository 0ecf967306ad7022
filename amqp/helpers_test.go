package amqp

import (
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/pulsartest"
	"github.com/pulsar-gateway/pulsar-gateway/handlers"
)

// gateway is the AMQP handler on a real socket and a backend.
type gateway struct {
	url     string
	vhost   string
	backend bridge.Backend
	srv     *Server
	stop    func()
}

// kit is one backend of the table the tests that matter run on: the embedded store
// (always) and a real Pulsar broker when PULSAR_URL and PULSAR_ADMIN_URL are set. A restart
// is a new gateway on a new backend over the same store: the same directory, or the same
// broker. On Pulsar every test gets its own vhost (a fresh namespace public/<vhost>, made
// through the admin API), so that names and topology never collide on the shared broker.
type kit struct {
	kind  string
	dir   string // embedded store
	vhost string // "/" on embedded
}

var kitSeq atomic.Int64

func pulsarURLs() (string, string, bool) {
	u, a := os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
	return u, a, u != "" && a != ""
}

// eachBackend runs f once per available backend, as a subtest.
func eachBackend(t *testing.T, f func(t *testing.T, k *kit)) {
	t.Helper()
	for _, kind := range []string{"embedded", "pulsar"} {
		t.Run(kind, func(t *testing.T) {
			k := &kit{kind: kind, dir: t.TempDir(), vhost: "/"}
			if kind == "pulsar" {
				_, _, ok := pulsarURLs()
				if !ok {
					t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset: run `integration/pulsar/standalone.sh start` and export what it prints")
				}
				k.vhost = "amqpt" + strconv.FormatInt(time.Now().UnixNano()/1e6%1e10, 36) + strconv.FormatInt(kitSeq.Add(1), 36)
				pulsartest.CreateNamespace(t, "PULSAR_", "public/"+k.vhost)
			}
			f(t, k)
		})
	}
}

// open opens a backend over the kit's store.
func (k *kit) open(t testing.TB, log *zap.Logger) bridge.Backend {
	t.Helper()
	if k.kind == "pulsar" {
		opts, _ := pulsartest.Options("PULSAR_")
		opts.Logger, opts.SkipIndexProbe = log.Named("pulsar"), true
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := pulsarbackend.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b, err := embedded.Open(embedded.Options{Dir: k.dir, Logger: log.Named("embedded")})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// start serves a gateway on a new backend over the kit's store.
func (k *kit) start(t testing.TB, opts ...func(*Options)) *gateway {
	t.Helper()
	log := testLogger(t)
	g := serveGateway(t, k.open(t, log), log, opts...)
	g.vhost = k.vhost
	if k.vhost != "/" {
		g.url += k.vhost
	}
	return g
}

// second serves another gateway on the same store as g: its own backend on Pulsar, g's
// backend on embedded (one process may open a store once).
func (k *kit) second(t testing.TB, g *gateway) *gateway {
	t.Helper()
	if k.kind == "pulsar" {
		return k.start(t)
	}
	g2 := serveGateway(t, sharedBackend{g.backend}, testLogger(t))
	g2.vhost = g.vhost
	return g2
}

// sharedBackend is a backend another gateway closes.
type sharedBackend struct{ bridge.Backend }

func (sharedBackend) Close() error { return nil }

func testLogger(t testing.TB) *zap.Logger {
	if os.Getenv("AMQP_TEST_LOG") != "" {
		return zaptest.NewLogger(t)
	}
	return zap.NewNop()
}

// startGateway serves AMQP on 127.0.0.1:0 on an embedded backend; dir "" keeps the store in
// memory. It stops when the test ends unless stopped before. AMQP_TEST_LOG=1 shows the
// handler's log.
func startGateway(t testing.TB, dir string, opts ...func(*Options)) *gateway {
	t.Helper()
	log := testLogger(t)
	b, err := embedded.Open(embedded.Options{Dir: dir, InMemory: dir == "", Logger: log.Named("embedded")})
	if err != nil {
		t.Fatal(err)
	}
	return serveGateway(t, b, log, opts...)
}

// serveGateway serves AMQP on 127.0.0.1:0 on backend b, which it closes when it stops.
func serveGateway(t testing.TB, b bridge.Backend, log *zap.Logger, opts ...func(*Options)) *gateway {
	t.Helper()
	o := Options{Backend: b, Logger: log.Named("amqp")}
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
	// The gateway's own listener plumbing, as the binary serves it.
	hs := handlers.NewServer(handlers.Options{Protocol: "amqp", Handler: srv, Logger: log.Named("handlers"),
		Metrics: handlers.NewMetrics(prometheus.NewRegistry())})
	served := make(chan struct{})
	go func() { hs.Serve(ln); close(served) }()
	g := &gateway{url: "amqp://guest:guest@" + ln.Addr().String() + "/", vhost: "/", backend: b, srv: srv}
	var once sync.Once
	g.stop = func() {
		once.Do(func() {
			// Connections get 50ms to finish once drained, then are closed.
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			hs.Drain(ctx)
			<-served
			srv.Close()
			b.Close()
		})
	}
	t.Cleanup(g.stop)
	return g
}

func dial(t testing.TB, g *gateway) *amqp091.Connection {
	t.Helper()
	c, err := amqp091.Dial(g.url)
	if err != nil {
		t.Fatal(err)
	}
	// A deadline: a connection blocked by an alarm does not read its
	// close (as RabbitMQ stops reading a blocked publisher's socket).
	t.Cleanup(func() { c.CloseDeadline(time.Now().Add(3 * time.Second)) })
	return c
}

func channel091(t testing.TB, c *amqp091.Connection) *amqp091.Channel {
	t.Helper()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// recv waits for one delivery.
func recv(t testing.TB, d <-chan amqp091.Delivery) amqp091.Delivery {
	t.Helper()
	select {
	case m, ok := <-d:
		if !ok {
			t.Fatal("deliveries closed")
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5s")
	}
	return amqp091.Delivery{}
}

// none checks that nothing arrives for a while.
func none(t testing.TB, d <-chan amqp091.Delivery, wait time.Duration) {
	t.Helper()
	select {
	case m := <-d:
		t.Fatalf("unexpected delivery %q (key %q)", m.Body, m.RoutingKey)
	case <-time.After(wait):
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func declare(t testing.TB, ch *amqp091.Channel, name string) amqp091.Queue {
	t.Helper()
	q, err := ch.QueueDeclare(name, false, false, false, false, nil)
	must(t, err)
	return q
}

func publish(t testing.TB, ch *amqp091.Channel, exchange, key, body string) {
	t.Helper()
	must(t, ch.PublishWithContext(context.Background(), exchange, key, false, false, amqp091.Publishing{Body: []byte(body)}))
}

func consume(t testing.TB, ch *amqp091.Channel, q string, autoAck bool) <-chan amqp091.Delivery {
	t.Helper()
	d, err := ch.Consume(q, "", autoAck, false, false, false, nil)
	must(t, err)
	return d
}
