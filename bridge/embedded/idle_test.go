package embedded

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// A fleet of idle devices, each with a subscription to a topic of its own
// (issue 18): an idle consumer holds no goroutine of the backend, and a
// message to one of them, long after it went idle, still arrives at once.
// Each subscription parked a dispatcher goroutine before, and every
// consumer got a goroutine for every topic created after it.
func TestIdleSubscriptionsHoldNoGoroutine(t *testing.T) {
	ctx := context.Background()
	b, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const n = 500
	before := runtime.NumGoroutine()
	consumers := make([]bridge.Consumer, n)
	for i := range consumers {
		c, err := b.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{fmt.Sprintf("device-%d", i)},
			Subscription: fmt.Sprintf("sub-%d", i), Type: bridge.Exclusive})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		consumers[i] = c
	}
	var extra int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if extra = runtime.NumGoroutine() - before; extra < n/10 || time.Now().After(deadline) {
			break
		}
	}
	if extra >= n/10 {
		t.Errorf("%d idle subscriptions hold %d goroutines", n, extra)
	}
	time.Sleep(100 * time.Millisecond) // idle for a while
	pr, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: "device-321"})
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	sent := time.Now()
	if _, err := pr.Send(ctx, &bridge.OutMessage{Value: []byte("wake up")}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := consumers[321].Receive(rctx)
	if err != nil || string(m.Value) != "wake up" {
		t.Fatalf("the idle consumer got %v, %v", m, err)
	}
	if d := time.Since(sent); d > time.Second {
		t.Errorf("delivered %s after the send", d)
	}
	// Its neighbours got nothing.
	nctx, ncancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer ncancel()
	if m, err := consumers[320].Receive(nctx); err == nil {
		t.Errorf("device-320's consumer got %q", m.Value)
	}
}
