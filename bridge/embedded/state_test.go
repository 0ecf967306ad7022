package embedded_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// TestConcurrentStatePutsAllStoredInOrder: many Puts at once (a Kafka
// OffsetCommit of thousands of partitions) are stored together, yet each
// is durable when it returns (all there after a reopen), reads see it at
// once, and a watcher sees every change, a key's in the order stored.
func TestConcurrentStatePutsAllStoredInOrder(t *testing.T) {
	dir := t.TempDir()
	b, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := b.State(ctx, "offsets")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string][]string{}
	stop := st.Watch(func(k string, v []byte) {
		mu.Lock()
		seen[k] = append(seen[k], string(v))
		mu.Unlock()
	})
	const keys, writes = 500, 4
	var wg sync.WaitGroup
	for k := range keys {
		wg.Go(func() {
			key := fmt.Sprintf("g\x00t\x00%d", k)
			for w := range writes { // one key's writes in order, others' interleaved
				v := fmt.Sprint(w)
				if err := st.Put(ctx, key, []byte(v)); err != nil {
					t.Error(err)
					return
				}
				if got, ok := st.Get(key); !ok || string(got) != v {
					t.Errorf("%q: read %q after Put %q", key, got, v)
				}
			}
		})
	}
	wg.Wait()
	stop()
	for k := range keys {
		key := fmt.Sprintf("g\x00t\x00%d", k)
		if got := fmt.Sprint(seen[key]); got != "[0 1 2 3]" {
			t.Errorf("%q: watcher saw %s, want [0 1 2 3]", key, got)
		}
	}
	b.Close()

	b, err = embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st, err = b.State(ctx, "offsets")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	st.Range("g\x00", func(key string, v []byte) bool {
		n++
		if string(v) != fmt.Sprint(writes-1) {
			t.Errorf("%q = %q after reopen, want %d", key, v, writes-1)
		}
		return true
	})
	if n != keys {
		t.Errorf("%d keys after reopen, want %d", n, keys)
	}
}
