package embedded_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// Retention deletes whole groups from the start, by bytes and by age, and
// the log start follows; what is left reads from the new start.
func TestRetention(t *testing.T) {
	b, err := embedded.Open(embedded.Options{InMemory: true, MaintenanceInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	if err := b.Admin().CreateTopic(ctx, "ret", 0); err != nil {
		t.Fatal(err)
	}
	p, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: "ret"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 { // one group each: Send waits for the last to be durable
		if _, err := p.Send(ctx, &bridge.OutMessage{Value: fmt.Appendf(nil, "%0100d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	pol := bridge.DefaultTopicPolicy()
	pol.RetentionBytes = 350 // keeps the newest 3 groups of ~110 bytes
	if err := b.Admin().SetTopicPolicy(ctx, "ret", pol); err != nil {
		t.Fatal(err)
	}
	waitFirst(t, b, "ret", func(first int64) bool { return first >= 6 && first <= 7 })
	r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: "ret", Start: bridge.StartEarliest()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if m, err := r.Next(ctx); err != nil || m.Index < 6 {
		t.Fatalf("first read after retention: %v %v", m, err)
	}
	pol.RetentionBytes, pol.RetentionTime = -1, time.Millisecond
	if err := b.Admin().SetTopicPolicy(ctx, "ret", pol); err != nil {
		t.Fatal(err)
	}
	waitFirst(t, b, "ret", func(first int64) bool { return first == 10 })
	if res, err := p.Send(ctx, &bridge.OutMessage{Value: []byte("after")}); err != nil || res.Index != 10 {
		t.Fatalf("send after retention emptied the log: %+v %v", res, err)
	}
}

func waitFirst(t *testing.T, b bridge.Backend, partition string, ok func(int64) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := b.Admin().IndexRange(context.Background(), partition)
		if err != nil {
			t.Fatal(err)
		}
		if ok(r.First) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log start still %d (range %+v)", r.First, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
