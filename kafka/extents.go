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

// extents caches partitions' index ranges (log start and high watermark).
type extents struct {
	rangeOf func(ctx context.Context, partition string) (bridge.IndexRange, error)
	// readable reports a partition whose end is where readers can read
	// (storetxns.go): a record written is not one read yet, as a
	// transaction may hold it or records before it back.
	readable func(partition string) bool

	mu sync.Mutex
	m  map[string]*extent
}

type extent struct {
	rng bridge.IndexRange
	at  time.Time
}

func newExtents(rangeOf func(context.Context, string) (bridge.IndexRange, error), readable func(string) bool) *extents {
	return &extents{rangeOf: rangeOf, readable: readable, m: map[string]*extent{}}
}

// get returns a partition's range, from the cache unless it is older than
// extentTTL or fresh is asked for.
func (x *extents) get(ctx context.Context, partition string, fresh bool) (bridge.IndexRange, error) {
	x.mu.Lock()
	e := x.m[partition]
	if e != nil && !fresh && time.Since(e.at) < extentTTL {
		r := e.rng
		x.mu.Unlock()
		return r, nil
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

// fresh says whether get would answer partition from the cache.
func (x *extents) fresh(partition string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.m[partition]
	return e != nil && time.Since(e.at) < extentTTL
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
