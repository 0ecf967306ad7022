package amqp

import (
	"context"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// gateway is the AMQP handler on a real socket and an embedded backend.
type gateway struct {
	url     string
	backend bridge.Backend
	srv     *Server
	stop    func()
}

// startGateway serves AMQP on 127.0.0.1:0; dir "" keeps the store in memory. It stops when
// the test ends unless stopped before. AMQP_TEST_LOG=1 shows the handler's log.
func startGateway(t testing.TB, dir string, opts ...func(*Options)) *gateway {
	t.Helper()
	log := zap.NewNop()
	if os.Getenv("AMQP_TEST_LOG") != "" {
		log = zaptest.NewLogger(t)
	}
	b, err := embedded.Open(embedded.Options{Dir: dir, InMemory: dir == "", Logger: log.Named("embedded")})
	if err != nil {
		t.Fatal(err)
	}
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
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[nc] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv.HandleConn(ctx, nc)
				nc.Close()
				mu.Lock()
				delete(conns, nc)
				mu.Unlock()
			}()
		}
	}()
	g := &gateway{url: "amqp://guest:guest@" + ln.Addr().String() + "/", backend: b, srv: srv}
	var once sync.Once
	g.stop = func() {
		once.Do(func() {
			ln.Close()
			cancel()
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			for nc := range conns {
				nc.Close()
			}
			mu.Unlock()
			wg.Wait()
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
	t.Cleanup(func() { c.Close() })
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
