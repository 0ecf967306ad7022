package pulsar_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/bridgetest"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
)

// brokerURLs returns the broker under test, or skips.
func brokerURLs(t testing.TB) (string, string) {
	t.Helper()
	u, a := os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
	if u == "" || a == "" {
		t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset: run `integration/pulsar/standalone.sh start` and export what it prints")
	}
	return u, a
}

func openBackend(t testing.TB) *pulsarbackend.Backend {
	t.Helper()
	u, a := brokerURLs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: u, AdminURL: a})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestConformance runs the bridge suite on the broker. Reopen closes the
// backend and opens a new one on the same broker: what a gateway restart is.
func TestConformance(t *testing.T) {
	brokerURLs(t)
	bridgetest.Run(t, bridgetest.Harness{
		New: func(t *testing.T) bridge.Backend { return openBackend(t) },
		Reopen: func(t *testing.T, b bridge.Backend) bridge.Backend {
			if err := b.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			return openBackend(t)
		},
		Wait:  15 * time.Second,
		Quiet: time.Second,
	})
}
