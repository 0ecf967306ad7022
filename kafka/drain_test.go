package kafka

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// Draining stops reading, still answers what is in flight, and returns.
func TestDrainAnswersInFlight(t *testing.T) {
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Admin().CreateTopic(context.Background(), "persistent://public/default/drain", 1); err != nil {
		t.Fatal(err)
	}
	h, err := New(context.Background(), b, Options{Advertised: "127.0.0.1:9092", Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	client, server := net.Pipe()
	defer client.Close()
	ctx, drain := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.HandleConn(ctx, server) }()

	c := &rawConn{t, client}
	client.SetDeadline(time.Now().Add(10 * time.Second))
	go c.send(fetchReq("drain", 30000), 11, 42) // a long poll of 30 s
	time.Sleep(200 * time.Millisecond)
	drain()
	if corr, _, err := c.recv(); err != nil || corr != 42 {
		t.Fatalf("in-flight Fetch: correlation %d, %v", corr, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("HandleConn: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("HandleConn still running after drain")
	}
}
