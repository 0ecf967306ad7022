package main

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	"github.com/pulsar-gateway/pulsar-gateway/config"
	"github.com/pulsar-gateway/pulsar-gateway/handlers"
)

// events records the order of closes during shutdown.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, s)
}

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.list, ",")
}

// recordedBackend is an in-memory embedded backend that records its Close.
type recordedBackend struct {
	bridge.Backend
	ev *events
}

func (b recordedBackend) Close() error {
	b.ev.add("backend closed")
	return b.Backend.Close()
}

// stubbornHandler holds each connection until the client leaves, ignoring
// the drain signal, and records its own Close.
type stubbornHandler struct{ ev *events }

func (stubbornHandler) HandleConn(_ context.Context, c net.Conn) error {
	_, err := io.Copy(io.Discard, c)
	return err
}

func (h stubbornHandler) Close() error {
	h.ev.add("handler closed")
	return nil
}

// startGateway runs a gateway on loopback port 0 with an in-memory
// backend and a stubborn Kafka handler.
func startGateway(t *testing.T, drain time.Duration) (*gateway, *events) {
	t.Helper()
	cfg := config.Default()
	for _, addr := range []*string{&cfg.Kafka.Addr, &cfg.MQTT.Addr, &cfg.AMQP.Addr, &cfg.HTTP.Addr} {
		*addr = "127.0.0.1:0"
	}
	cfg.Shutdown.DrainTimeout = drain
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	factories := map[string]protocolFactory{
		"kafka": func(protocolDeps) (handlers.ConnHandler, error) { return stubbornHandler{ev}, nil },
		"mqtt":  placeholder("mqtt"),
		"amqp":  placeholder("amqp"),
	}
	g, err := newGateway(cfg, zap.NewNop(), recordedBackend{b, ev}, factories)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	g.start()
	return g, ev
}

// shutdownAsync starts the shutdown and returns its result channel.
func shutdownAsync(g *gateway) <-chan error {
	done := make(chan error, 1)
	go func() { done <- g.shutdown() }()
	return done
}

// waitActive waits until /metrics shows n active Kafka connections.
func waitActive(t *testing.T, web string, n string) {
	t.Helper()
	want := `pulsar_gateway_connections_active{protocol="kafka"} ` + n + "\n"
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, m := httpGet(t, web+"/metrics"); strings.Contains(m, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %q", want)
		}
	}
}

func TestNotReadyWhileDraining(t *testing.T) {
	g, ev := startGateway(t, 10*time.Second)
	web := "http://" + g.addr("http").String()
	kafka := g.addr("kafka").String()

	client, err := net.Dial("tcp", kafka)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	waitActive(t, web, "1")
	if code, _ := httpGet(t, web+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d before shutdown, want 200", code)
	}

	done := shutdownAsync(g)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if code, _ := httpGet(t, web+"/readyz"); code == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never turned 503 while draining")
		}
	}
	if code, _ := httpGet(t, web+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d while draining, want 200: the process is alive", code)
	}
	expectRefused(t, kafka)
	select {
	case err := <-done:
		t.Fatalf("shutdown returned (%v) while a client was still connected", err)
	case <-time.After(100 * time.Millisecond):
	}

	client.Close() // the last client leaves: the drain is over
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not finish after the last client left")
	}
	if got := ev.String(); got != "handler closed,backend closed" {
		t.Errorf("close order %q, want the handler before the backend", got)
	}
	expectRefused(t, strings.TrimPrefix(web, "http://"))
}

func TestDrainDeadlineClosesClients(t *testing.T) {
	g, ev := startGateway(t, 200*time.Millisecond)
	web := "http://" + g.addr("http").String()
	client, err := net.Dial("tcp", g.addr("kafka").String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	waitActive(t, web, "1")

	start := time.Now()
	select {
	case err := <-shutdownAsync(g):
		if err != nil {
			t.Fatalf("shutdown = %v; closing stragglers at the deadline is not a failure", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown ignored the 200ms drain timeout")
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("shutdown took %v, before the drain timeout", took)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := client.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("client read %d, %v after shutdown; want its connection closed", n, err)
	}
	if got := ev.String(); got != "handler closed,backend closed" {
		t.Errorf("close order %q", got)
	}
}
