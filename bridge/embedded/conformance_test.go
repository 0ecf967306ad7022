package embedded_test

import (
	"testing"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/bridgetest"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// TestConformance runs the bridge conformance suite on a store in a temp
// directory, so the restart tests reopen real files.
func TestConformance(t *testing.T) {
	dirs := map[bridge.Backend]string{}
	open := func(t *testing.T, dir string) bridge.Backend {
		t.Helper()
		b, err := embedded.Open(embedded.Options{Dir: dir})
		if err != nil {
			t.Fatalf("open embedded store: %v", err)
		}
		dirs[b] = dir
		t.Cleanup(func() { b.Close() })
		return b
	}
	bridgetest.Run(t, bridgetest.Harness{
		New: func(t *testing.T) bridge.Backend { return open(t, t.TempDir()) },
		Reopen: func(t *testing.T, b bridge.Backend) bridge.Backend {
			dir := dirs[b]
			if err := b.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			return open(t, dir)
		},
	})
}

// TestConformanceInMemory runs the suite on the in-memory mode tests use.
func TestConformanceInMemory(t *testing.T) {
	bridgetest.Run(t, bridgetest.Harness{
		New: func(t *testing.T) bridge.Backend {
			b, err := embedded.Open(embedded.Options{InMemory: true})
			if err != nil {
				t.Fatalf("open in-memory store: %v", err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		},
	})
}
