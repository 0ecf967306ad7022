package producercache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// backend is the real embedded store, with producer creations counted and,
// for topics containing "slow", held until released: the test double is for
// the slowness of a Pulsar lookup only.
type backend struct {
	bridge.Backend
	created atomic.Int64
	release chan struct{}
	fail    atomic.Int64 // creations left to fail
}

var errRefused = errors.New("refused")

func (b *backend) CreateProducer(ctx context.Context, o bridge.ProducerOptions) (bridge.Producer, error) {
	if b.fail.Add(-1) >= 0 {
		return nil, errRefused
	}
	if strings.Contains(o.Topic, "slow") {
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b.created.Add(1)
	return b.Backend.CreateProducer(ctx, o)
}

func open(t *testing.T) *backend {
	t.Helper()
	e, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return &backend{Backend: e, release: make(chan struct{})}
}

func start(t *testing.T, b *backend, o Options) *Cache {
	o.Create = b.CreateProducer
	c := New(b, o)
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return c
}

func opts(name string) bridge.ProducerOptions {
	return bridge.ProducerOptions{Topic: "persistent://public/default/" + name}
}

func acquire(t *testing.T, c *Cache, o bridge.ProducerOptions) *Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := c.Acquire(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func send(t *testing.T, p bridge.Producer, v string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := p.Send(ctx, &bridge.OutMessage{Value: []byte(v)})
	return err
}

// stored reads a topic's values from the start.
func stored(t *testing.T, b bridge.Backend, topic string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Auto-created topics have one partition.
	r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: bridge.PartitionName(topic, 0), Start: bridge.StartEarliest()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for range n {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, string(m.Value))
	}
	return got
}

// Callers of one topic at once share one creation and one producer.
func TestOneCreationForConcurrentCallers(t *testing.T) {
	b := open(t)
	c := start(t, b, Options{})
	var wg sync.WaitGroup
	producers := make([]bridge.Producer, 50)
	for i := range producers {
		wg.Go(func() {
			l := acquire(t, c, opts("one"))
			producers[i] = l.Producer()
			l.Release()
		})
	}
	wg.Wait()
	if n := b.created.Load(); n != 1 {
		t.Fatalf("%d producers created, want 1", n)
	}
	for _, p := range producers {
		if p != producers[0] {
			t.Fatal("callers got different producers")
		}
	}
}

// A topic whose producer takes long to open does not delay another topic;
// its own sends wait, in the order they were made, and go once it opens.
func TestSlowCreationBlocksOnlyItsTopic(t *testing.T) {
	b := open(t)
	c := start(t, b, Options{})
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	for i := range 5 {
		wg.Add(1)
		v := fmt.Sprint(i)
		go c.SendAsync(context.Background(), opts("slow"), &bridge.OutMessage{Value: []byte(v)}, func(_ bridge.SendResult, err error) {
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			acked = append(acked, v)
			mu.Unlock()
			wg.Done()
		})
		time.Sleep(5 * time.Millisecond) // arrival order, each from its own goroutine
	}
	waiting := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := c.Acquire(ctx, opts("slow"))
		waiting <- err
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l, err := c.Acquire(ctx, opts("fast"))
	if err != nil {
		t.Fatalf("another topic waited for the slow one: %v", err)
	}
	if err := send(t, l.Producer(), "x"); err != nil {
		t.Fatal(err)
	}
	l.Release()
	if err := <-waiting; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a caller of the slow topic got %v before it opened, want its own deadline", err)
	}
	mu.Lock()
	if len(acked) != 0 {
		t.Fatalf("sent %v before the producer opened", acked)
	}
	mu.Unlock()

	close(b.release)
	wg.Wait()
	if want := []string{"0", "1", "2", "3", "4"}; !slices.Equal(acked, want) {
		t.Fatalf("acknowledged in order %v, want %v", acked, want)
	}
	if got := stored(t, b, opts("slow").Topic, 5); !slices.Equal(got, []string{"0", "1", "2", "3", "4"}) {
		t.Fatalf("stored %v", got)
	}
}

// A creation has a deadline, and a failed one is not kept: the next caller
// opens the producer.
func TestFailedCreationNotCached(t *testing.T) {
	b := open(t)
	c := start(t, b, Options{CreateTimeout: 100 * time.Millisecond})
	start := time.Now()
	if _, err := c.Acquire(context.Background(), opts("slow")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a stuck creation gave %v, want its deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a stuck creation took %v with a deadline of 100ms", d)
	}

	b.fail.Store(1)
	errs := make(chan error, 1)
	c.SendAsync(context.Background(), opts("fails"), &bridge.OutMessage{Value: []byte("a")}, func(_ bridge.SendResult, err error) { errs <- err })
	if err := <-errs; !errors.Is(err, errRefused) {
		t.Fatalf("a send on a failed creation got %v", err)
	}
	if n := c.Len(); n != 0 {
		t.Fatalf("%d producers kept after failed creations", n)
	}
	l := acquire(t, c, opts("fails"))
	defer l.Release()
	if err := send(t, l.Producer(), "b"); err != nil {
		t.Fatal(err)
	}
}

// A producer unused for Idle is flushed and closed; the next caller opens
// another.
func TestIdleEvictionCloses(t *testing.T) {
	b := open(t)
	c := start(t, b, Options{Idle: 50 * time.Millisecond})
	l := acquire(t, c, opts("idle"))
	p := l.Producer()
	// Sent, not waited for: the eviction flushes it.
	done := make(chan error, 1)
	p.SendAsync(context.Background(), &bridge.OutMessage{Value: []byte("kept")}, func(_ bridge.SendResult, err error) { done <- err })
	l.Release()
	waitFor(t, func() bool { return c.Len() == 0 }, "the idle producer is still cached")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return errors.Is(send(t, p, "late"), bridge.ErrClosed) }, "the evicted producer was not closed")
	if got := stored(t, b, opts("idle").Topic, 1); got[0] != "kept" {
		t.Fatalf("stored %v", got)
	}
	l = acquire(t, c, opts("idle"))
	defer l.Release()
	if l.Producer() == p || b.created.Load() != 2 {
		t.Fatal("no new producer after the eviction")
	}
	if err := send(t, l.Producer(), "again"); err != nil {
		t.Fatal(err)
	}
}

// At most Max producers stay open: the least recently used goes first.
func TestBound(t *testing.T) {
	b := open(t)
	c := start(t, b, Options{Max: 3})
	var ps []bridge.Producer
	for i := range 6 {
		l := acquire(t, c, opts(fmt.Sprint("t", i)))
		ps = append(ps, l.Producer())
		l.Release()
		if n := c.Len(); n > 3 {
			t.Fatalf("%d producers open, bound 3", n)
		}
	}
	// t0..t2 were the least recently used.
	for i, p := range ps[:3] {
		waitFor(t, func() bool { return errors.Is(send(t, p, "x"), bridge.ErrClosed) }, fmt.Sprint("t", i, " was not evicted"))
	}
	for i, p := range ps[3:] {
		if err := send(t, p, "x"); err != nil {
			t.Fatalf("t%d: %v", i+3, err)
		}
	}
	// Using t3 makes t4 the least recently used.
	l := acquire(t, c, opts("t3"))
	l.Release()
	l = acquire(t, c, opts("t6"))
	l.Release()
	waitFor(t, func() bool { return errors.Is(send(t, ps[4], "x"), bridge.ErrClosed) }, "t4 was not evicted")
	if err := send(t, ps[3], "x"); err != nil {
		t.Fatalf("the recently used t3 was evicted: %v", err)
	}
}

// Neither the bound nor idleness closes a producer with a lease out; it goes
// once released.
func TestNoEvictionWithSendsInFlight(t *testing.T) {
	b := open(t)
	c := start(t, b, Options{Max: 1, Idle: 30 * time.Millisecond})
	held := acquire(t, c, opts("held"))
	other := acquire(t, c, opts("other"))
	time.Sleep(200 * time.Millisecond) // several idle sweeps
	for _, l := range []*Lease{held, other} {
		if err := send(t, l.Producer(), "x"); err != nil {
			t.Fatalf("a leased producer was closed: %v", err)
		}
	}
	if n := c.Len(); n != 2 {
		t.Fatalf("%d open, want 2 while both are leased", n)
	}
	held.Release()
	other.Release()
	waitFor(t, func() bool { return c.Len() == 0 }, "released producers were not evicted")
}

// Many goroutines acquiring, sending and releasing over more topics than
// the bound, while the sweep evicts: every send is stored (for the race
// detector, and that eviction never loses a send).
func TestChurn(t *testing.T) {
	b := open(t)
	c := start(t, b, Options{Max: 2, Idle: 10 * time.Millisecond})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				o := opts(fmt.Sprint("churn", (g+i)%5))
				if i%2 == 0 {
					l, err := c.Acquire(context.Background(), o)
					if err != nil {
						t.Error(err)
						return
					}
					if err := send(t, l.Producer(), "x"); err != nil {
						t.Error(err)
					}
					l.Release()
					continue
				}
				done := make(chan error, 1)
				c.SendAsync(context.Background(), o, &bridge.OutMessage{Value: []byte("x")}, func(_ bridge.SendResult, err error) { done <- err })
				if err := <-done; err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var total int64
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rng, err := b.Admin().IndexRange(ctx, bridge.PartitionName(opts(fmt.Sprint("churn", i)).Topic, 0))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		total += rng.Next - rng.First
	}
	if total != 8*50 {
		t.Fatalf("%d stored, want %d", total, 8*50)
	}
}

func waitFor(t *testing.T, f func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
