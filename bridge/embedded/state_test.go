package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
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

// TestStatePutDuringCloseAnswersClosed: a Put racing Close (a Kafka group
// snapshot saved from a goroutine of its own) returns, stored or
// ErrClosed, instead of panicking on the closed store; what was
// acknowledged is there after a reopen.
func TestStatePutDuringCloseAnswersClosed(t *testing.T) {
	dir := t.TempDir()
	b, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := b.State(ctx, "snapshots")
	if err != nil {
		t.Fatal(err)
	}
	const writers = 8
	var wg sync.WaitGroup
	stored := make([]int, writers) // the last value each writer had acknowledged
	for w := range writers {
		wg.Go(func() {
			for i := 1; ; i++ {
				err := st.Put(ctx, fmt.Sprint(w), []byte(fmt.Sprint(i)))
				if errors.Is(err, bridge.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				stored[w] = i
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	b.Close()
	wg.Wait()

	b, err = embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st, err = b.State(ctx, "snapshots")
	if err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		got, _ := st.Get(fmt.Sprint(w))
		if string(got) != fmt.Sprint(stored[w]) && stored[w] != 0 {
			t.Errorf("writer %d: %q after reopen, last acknowledged %d", w, got, stored[w])
		}
	}
}
