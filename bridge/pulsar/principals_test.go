package pulsar_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/pulsartest"
)

// TestSecureActAsClients: with ActAs, what a principal opens logs in to
// Pulsar as that principal, so Pulsar's own permissions decide: alice,
// granted produce and consume on the namespace, sends and reads; bob,
// granted nothing, is refused (bridge.ErrForbidden) producing, subscribing
// and reading. The principals' clients stay within their bound.
func TestSecureActAsClients(t *testing.T) {
	opts := secureOptions(t)
	key := os.Getenv("PULSAR_SECURE_TOKEN_SECRET_KEY")
	if key == "" {
		t.Skip("PULSAR_SECURE_TOKEN_SECRET_KEY unset (standalone.sh start --secure prints it)")
	}
	ns := fmt.Sprintf("actas%x", time.Now().UnixNano())
	pulsartest.CreateNamespace(t, "PULSAR_SECURE_", "public/"+ns)
	pulsartest.Grant(t, "PULSAR_SECURE_", "public/"+ns, "alice", "produce", "consume")
	opts.Namespace = ns
	opts.ActAs = &pulsarbackend.ActAsOptions{TokenKeyFile: key, MaxClients: 2}
	b := openWith(t, opts)
	if !b.ActsAsClients() {
		t.Fatal("ActsAsClients is false with ActAs set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.Admin().CreateTopic(ctx, "t", 0); err != nil {
		t.Fatal(err)
	}

	p, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: "t", Principal: "alice"})
	if err != nil {
		t.Fatalf("alice's producer: %v", err)
	}
	if _, err := p.Send(ctx, &bridge.OutMessage{Value: []byte("from alice")}); err != nil {
		t.Fatalf("alice sends: %v", err)
	}
	r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: "t", Principal: "alice", Start: bridge.StartEarliest(), Batches: true})
	if err != nil {
		t.Fatalf("alice's reader: %v", err)
	}
	if _, isEntryReader := r.(bridge.BatchReader); isEntryReader {
		t.Fatal("alice's reader is the gateway's own entry reader, which reads as the gateway")
	}
	m, err := r.Next(ctx)
	if err != nil || string(m.Value) != "from alice" {
		t.Fatalf("alice reads: %v %v", m, err)
	}
	r.Close()
	c, err := b.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{"t"}, Subscription: "s", Principal: "alice", InitialPosition: bridge.Earliest})
	if err != nil {
		t.Fatalf("alice subscribes: %v", err)
	}
	c.Close()

	_, err = b.CreateProducer(ctx, bridge.ProducerOptions{Topic: "t", Principal: "bob"})
	if !errors.Is(err, bridge.ErrForbidden) {
		t.Fatalf("bob's producer: %v, want ErrForbidden", err)
	}
	_, err = b.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{"t"}, Subscription: "s", Principal: "bob"})
	if !errors.Is(err, bridge.ErrForbidden) {
		t.Fatalf("bob subscribes: %v, want ErrForbidden", err)
	}
	_, err = b.CreateReader(ctx, bridge.ReaderOptions{Topic: "t", Principal: "bob", Start: bridge.StartEarliest()})
	if !errors.Is(err, bridge.ErrForbidden) {
		t.Fatalf("bob reads: %v, want ErrForbidden", err)
	}
	// The gateway itself (no principal) is the super user it logged in as.
	own, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: "t"})
	if err != nil {
		t.Fatalf("the gateway's own producer: %v", err)
	}
	own.Close()

	// alice's producer still holds her client; carol and dave come and go.
	for _, role := range []string{"carol", "dave"} {
		if _, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: "t", Principal: role}); !errors.Is(err, bridge.ErrForbidden) {
			t.Fatalf("%s's producer: %v", role, err)
		}
	}
	if n := b.PrincipalClients(); n > 2 {
		t.Fatalf("%d principals' clients open, bound 2", n)
	}
	p.Close()
	if n := b.PrincipalClients(); n > 2 {
		t.Fatalf("%d principals' clients open after closing, bound 2", n)
	}
}
