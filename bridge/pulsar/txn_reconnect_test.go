package pulsar

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestTxnReconnect: a coordinator connection lost (here: closed under the
// backend) is dialed again by the next request.
func TestTxnReconnect(t *testing.T) {
	u, a := os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
	if u == "" || a == "" {
		t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Open(ctx, Options{URL: u, AdminURL: a})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	id, err := b.BeginTxn(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b.txns.mu.Lock()
	c := b.txns.slots[id.Hi].c.Load()
	b.txns.mu.Unlock()
	c.nc.Close() // the read loop fails the connection
	<-c.quit
	if err := b.EndTxn(ctx, id, false); err != nil {
		t.Fatalf("end after the connection was lost: %v", err)
	}
	b.txns.mu.Lock()
	again := b.txns.slots[id.Hi].c.Load()
	b.txns.mu.Unlock()
	if again == c || !again.live() {
		t.Fatal("no new coordinator connection")
	}
}
