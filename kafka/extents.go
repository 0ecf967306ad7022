package kafka

import (
	"context"
	"sync"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// extentTTL is how long a partition's stored extent is trusted before the
// backend is asked again. On Pulsar an extent costs several admin calls, and
// every Fetch of every consumer needs one per partition; what this gateway
// writes or reads moves the cached high watermark at once, so a tailing
// consumer sees new records without waiting for the TTL.
const extentTTL = time.Second

// extentStale is how old an extent may be and still answer while a
// refresh runs in the background. On Pulsar a refresh took 8-25 ms, and a
// tailing consumer's Fetch that waited for it once a second delayed every
// record arriving meanwhile: about 1% of records at 10,000/s, the whole
// p99 of a steady-rate run. A partition nobody asked about for longer is
// asked synchronously, so a lone Fetch never gets an old log start.
const extentStale = 10 * time.Second

// extentRefreshes bounds the background refreshes running at once: a
// Fetch of many partitions must not turn into that many concurrent admin
// calls (4 HTTP requests each on Pulsar).
const extentRefreshes = 4

// extents caches partitions' index ranges (log start and high watermark).
type extents struct {
	rangeOf func(ctx context.Context, partition string) (bridge.IndexRange, error)
	// readable reports a partition whose end is where readers can read
	// (storetxns.go): a record written is not one read yet, as a
	// transaction may hold it or records before it back.
	readable func(partition string) bool

	mu sync.Mutex
	m  map[string]*extent

	bg     context.Context // background refreshes; cancelled by close
	stop   context.CancelFunc
	slots  chan struct{} // extentRefreshes
	wg     sync.WaitGroup
	closed bool // under mu: no more background refreshes
}

type extent struct {
	rng        bridge.IndexRange
	at         time.Time
	refreshing bool // a background refresh is running
}

func newExtents(rangeOf func(context.Context, string) (bridge.IndexRange, error), readable func(string) bool) *extents {
	bg, stop := context.WithCancel(context.Background())
	return &extents{rangeOf: rangeOf, readable: readable, m: map[string]*extent{}, bg: bg, stop: stop,
		slots: make(chan struct{}, extentRefreshes)}
}

// get returns a partition's range: from the cache while it is younger than
// extentTTL; from the cache while a background refresh runs while it is
// younger than extentStale; else (or when fresh is asked for) from the
// backend.
func (x *extents) get(ctx context.Context, partition string, fresh bool) (bridge.IndexRange, error) {
	x.mu.Lock()
	e := x.m[partition]
	if e != nil && !fresh {
		age := time.Since(e.at)
		if age < extentTTL || age < extentStale && x.refreshLocked(partition, e) {
			r := e.rng
			x.mu.Unlock()
			return r, nil
		}
	}
	x.mu.Unlock()
	r, err := x.rangeOf(ctx, partition)
	if err != nil {
		return r, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if e = x.m[partition]; e != nil {
		// What we saw written may be newer than what the backend told.
		r.Next = max(r.Next, e.rng.Next)
	}
	x.m[partition] = &extent{rng: r, at: time.Now()}
	return r, nil
}

// fresh says whether get would answer partition from the cache, without
// asking the backend first (past extentTTL it asks in the background).
func (x *extents) fresh(partition string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.m[partition]
	if e == nil {
		return false
	}
	age := time.Since(e.at)
	return age < extentTTL || age < extentStale && !x.closed
}

// refreshLocked starts e's background refresh unless one runs; it reports
// false when none can (closed), so the caller asks itself. x.mu is held.
func (x *extents) refreshLocked(partition string, e *extent) bool {
	if e.refreshing {
		return true
	}
	if x.closed {
		return false
	}
	e.refreshing = true
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		var r bridge.IndexRange
		var err error
		select {
		case x.slots <- struct{}{}:
			ctx, cancel := context.WithTimeout(x.bg, 10*time.Second)
			r, err = x.rangeOf(ctx, partition)
			cancel()
			<-x.slots
		case <-x.bg.Done():
			err = x.bg.Err()
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		e.refreshing = false
		if err != nil || x.m[partition] != e {
			// Failed (the next get past extentStale asks and answers the
			// error), or forgotten meanwhile (a deleted topic, moved log
			// start): what was asked before that is not the answer.
			return
		}
		r.Next = max(r.Next, e.rng.Next)
		e.rng, e.at = r, time.Now()
	}()
	return true
}

// written notes that this gateway wrote the message with this index.
func (x *extents) written(partition string, index int64) {
	if !x.readable(partition) {
		x.observe(partition, index)
	}
}

// observe notes that the message with this index is durable and readable.
func (x *extents) observe(partition string, index int64) {
	x.mu.Lock()
	if e := x.m[partition]; e != nil && index >= e.rng.Next {
		e.rng.Next = index + 1
	}
	x.mu.Unlock()
}

// forget drops a deleted topic's partitions.
func (x *extents) forget(partition string) {
	x.mu.Lock()
	delete(x.m, partition)
	x.mu.Unlock()
}

// close ends the background refreshes and waits for them.
func (x *extents) close() {
	x.mu.Lock()
	x.closed = true
	x.mu.Unlock()
	x.stop()
	x.wg.Wait()
}
