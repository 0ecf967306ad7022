package mqtt

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// gatedBackend holds every send callback until released, or fails sends.
type gatedBackend struct {
	bridge.Backend
	mu   sync.Mutex
	fail bool
	held []func()
}

func (b *gatedBackend) CreateProducer(ctx context.Context, o bridge.ProducerOptions) (bridge.Producer, error) {
	p, err := b.Backend.CreateProducer(ctx, o)
	return &gatedProducer{Producer: p, b: b}, err
}

func (b *gatedBackend) release() {
	b.mu.Lock()
	held := b.held
	b.held = nil
	b.mu.Unlock()
	for _, f := range held {
		f()
	}
}

type gatedProducer struct {
	bridge.Producer
	b *gatedBackend
}

func (p *gatedProducer) SendAsync(ctx context.Context, m *bridge.OutMessage, cb bridge.SendCallback) {
	p.b.mu.Lock()
	fail := p.b.fail
	p.b.mu.Unlock()
	if fail {
		cb(bridge.SendResult{}, bridge.ErrUnavailable)
		return
	}
	p.Producer.SendAsync(ctx, m, func(r bridge.SendResult, err error) {
		p.b.mu.Lock()
		p.b.held = append(p.b.held, func() { cb(r, err) })
		p.b.mu.Unlock()
	})
}

func gatedGateway(t *testing.T) (*gateway, *gatedBackend) {
	e, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	gb := &gatedBackend{Backend: e}
	return serveGateway(t, gb, zap.NewNop()), gb
}

// PUBACK waits for the backend's durable callback.
func TestPubackAfterDurable(t *testing.T) {
	g, gb := gatedGateway(t)
	for _, v5 := range []bool{false, true} {
		var tokDone func() bool
		if v5 {
			c := connect5(t, g, "p5", true, 0)
			done := make(chan struct{})
			go func() { c.pub(t, "d/x", 1, "m"); close(done) }()
			tokDone = func() bool {
				select {
				case <-done:
					return true
				default:
					return false
				}
			}
		} else {
			c := connect3(t, g, "p3", true)
			tok := c.Publish("d/x", 2, false, "m")
			tokDone = func() bool { return tok.WaitTimeout(0) }
		}
		time.Sleep(300 * time.Millisecond)
		if tokDone() {
			t.Fatalf("v5=%v: acknowledged before the backend said durable", v5)
		}
		gb.release()
		deadline := time.Now().Add(5 * time.Second)
		for !tokDone() {
			if time.Now().After(deadline) {
				t.Fatalf("v5=%v: no ack after durable", v5)
			}
			gb.release() // QoS 2's PUBREL round may queue more
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// A failed send answers an MQTT 5 client with reason 0x80 and closes a
// 3.1.1 connection.
func TestBackendFailure(t *testing.T) {
	g, gb := gatedGateway(t)
	gb.mu.Lock()
	gb.fail = true
	gb.mu.Unlock()
	c5 := connect5(t, g, "f5", true, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c5.Publish(ctx, &paho.Publish{Topic: "f/x", QoS: 1, Payload: []byte("m")})
	if err == nil && r.ReasonCode < 0x80 {
		t.Fatalf("MQTT 5 publish: reason %#x, want a failure", r.ReasonCode)
	}
	c3 := connect3(t, g, "f3", true)
	tok := c3.Publish("f/x", 1, false, "m")
	deadline := time.Now().Add(5 * time.Second)
	for c3.IsConnectionOpen() {
		if time.Now().After(deadline) {
			t.Fatal("3.1.1 connection still open after a failed publish")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = tok
}
