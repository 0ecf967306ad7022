package kafka

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// maxCursors bounds the readers one connection keeps open, beyond those its
// Fetches in flight hold.
const maxCursors = 1024

// evictTries bounds the cursors one acquire tries to evict.
const evictTries = 8

// Read-ahead: each cursor's pump reads its partition into a buffer while
// the connection is busy elsewhere (answering, waiting for the client's
// next Fetch), so a Fetch takes what is there instead of paying the
// backend reader's per-message cost on its critical path (on Pulsar a
// 1 MiB Fetch spent 3-10 ms in it). A cursor buffers at most
// readAheadBytes; a connection at most connReadAheadBytes over all of
// them, so a consumer of many partitions buffers less of each.
const (
	readAheadBytes     = 2 << 20
	connReadAheadBytes = 64 << 20
	minReadAheadBytes  = 64 << 10
)

// cursorCache keeps one backend reader per partition of a connection, at
// the offset the next Fetch is expected to ask for: a consumer reading on
// costs no seek.
type cursorCache struct {
	mu sync.Mutex
	m  map[string]*cursor
	// n is len(m), for limit: pumps ask it holding their cursor's lock,
	// which must not wait for mu (held while cursors are closed).
	n atomic.Int32

	// arrived is closed (and replaced) when any cursor's read-ahead gets
	// something after being empty, or fails: a Fetch of 10,000 partitions
	// waits on it, not on a goroutine per partition. A leaf lock.
	sigMu   sync.Mutex
	arrived chan struct{}
}

// arrivals is the channel closed at the next arrival on any cursor.
func (fs *cursorCache) arrivals() <-chan struct{} {
	fs.sigMu.Lock()
	defer fs.sigMu.Unlock()
	if fs.arrived == nil {
		fs.arrived = make(chan struct{})
	}
	return fs.arrived
}

func (fs *cursorCache) signal() {
	fs.sigMu.Lock()
	if fs.arrived != nil {
		close(fs.arrived)
		fs.arrived = nil
	}
	fs.sigMu.Unlock()
}

// cursor is a reader, its read-ahead and where the Fetches stand. mu is
// held by the Fetch using the cursor; ra guards what the pump shares.
type cursor struct {
	mu     sync.Mutex
	r      bridge.Reader
	next   int64
	peeked *fetched   // put back by unread, returned first
	limit  func() int // current read-ahead bound in bytes
	signal func()     // tells the connection of an arrival

	ra    sync.Mutex
	buf   []fetched
	bytes int
	err   error         // the pump's end (not a stop)
	more  chan struct{} // closed when buf grows or err is set
	room  chan struct{} // a token when the reader took from a full buf
	stop  context.CancelFunc
	done  chan struct{}
}

func newCursor(r bridge.Reader, offset int64, limit func() int, signal func()) *cursor {
	c := &cursor{r: r, next: offset, limit: limit, signal: signal, room: make(chan struct{}, 1)}
	c.start()
	return c
}

// start runs the pump; stopPump ends it.
func (c *cursor) start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.ra.Lock()
	c.buf, c.bytes, c.err = nil, 0, nil
	c.more = make(chan struct{})
	c.stop, c.done = cancel, make(chan struct{})
	c.ra.Unlock()
	go c.pump(ctx, c.done)
}

func (c *cursor) stopPump() {
	c.stop()
	<-c.done
}

func (c *cursor) pump(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		c.ra.Lock()
		for c.bytes >= c.limit() {
			c.ra.Unlock()
			select {
			case <-c.room:
			case <-ctx.Done():
				return
			}
			c.ra.Lock()
		}
		c.ra.Unlock()
		fs, err := c.readBackend(ctx)
		c.ra.Lock()
		if err != nil {
			failed := ctx.Err() == nil
			if failed {
				c.err = err
				close(c.more)
			}
			c.ra.Unlock()
			if failed {
				c.signal()
			}
			return
		}
		wasEmpty := len(c.buf) == 0
		for _, f := range fs {
			c.buf = append(c.buf, f)
			c.bytes += f.size()
		}
		if wasEmpty {
			close(c.more)
			c.more = make(chan struct{})
		}
		c.ra.Unlock()
		if wasEmpty {
			c.signal()
		}
	}
}

// hasArrival says whether the cursor has something to read (or failed).
func (c *cursor) hasArrival() bool {
	c.ra.Lock()
	defer c.ra.Unlock()
	return c.peeked != nil || len(c.buf) > 0 || c.err != nil
}

// newest is the index of the last message read ahead.
func (c *cursor) newest() (int64, bool) {
	c.ra.Lock()
	defer c.ra.Unlock()
	if n := len(c.buf); n > 0 {
		return c.buf[n-1].last(), true
	}
	if c.peeked != nil {
		return c.peeked.last(), true
	}
	return 0, false
}

// errCursorBusy: another Fetch of the connection holds the partition's
// cursor. Waiting for it while holding others could deadlock two pipelined
// Fetches that name partitions in different orders, so the caller answers
// the partition without records this round.
var errCursorBusy = errors.New("kafka: cursor held by another fetch")

// acquire returns the partition's cursor positioned at offset, locked, or
// errCursorBusy.
func (fs *cursorCache) acquire(ctx context.Context, b bridge.Backend, partition, principal string, offset int64) (*cursor, error) {
	fs.mu.Lock()
	if fs.m == nil {
		fs.m = map[string]*cursor{}
	}
	c := fs.m[partition]
	if c == nil {
		// Evict one not in use (a consumer this wide re-seeks). One Fetch
		// holds the cursors of all its partitions, so waiting for a held one
		// may wait for the caller itself: when every cursor is held, the
		// cache holds one more until a later acquire finds one free. A few
		// are tried (from a random place: map order), not all: trying all
		// made the first Fetch of 10,000 partitions quadratic.
		tried := 0
		for k, old := range fs.m {
			if len(fs.m) < maxCursors || tried == evictTries {
				break
			}
			tried++
			if !old.mu.TryLock() {
				continue
			}
			delete(fs.m, k)
			fs.n.Store(int32(len(fs.m)))
			old.close()
			old.mu.Unlock()
		}
		r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: partition, Principal: principal, Start: bridge.StartAtIndex(offset), Batches: true})
		if err != nil {
			fs.mu.Unlock()
			return nil, err
		}
		c = newCursor(r, offset, fs.limit, fs.signal)
		fs.m[partition] = c
		fs.n.Store(int32(len(fs.m)))
	}
	fs.mu.Unlock()
	if !c.mu.TryLock() {
		return nil, errCursorBusy
	}
	if c.next != offset {
		c.stopPump()
		if err := c.r.Seek(ctx, bridge.StartAtIndex(offset)); err != nil {
			c.mu.Unlock()
			fs.forget(partition, c)
			return nil, err
		}
		c.next, c.peeked = offset, nil
		c.start()
	}
	return c, nil
}

// has says whether the connection keeps a cursor of partition.
func (fs *cursorCache) has(partition string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.m[partition] != nil
}

// open adds a cursor of partition at offset unless there is one, creating
// the reader without holding mu: a Fetch opens those of many partitions
// side by side (warmFetch). acquire evicts past maxCursors, as before.
func (fs *cursorCache) open(ctx context.Context, b bridge.Backend, partition, principal string, offset int64) {
	if fs.has(partition) {
		return
	}
	r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: partition, Principal: principal, Start: bridge.StartAtIndex(offset), Batches: true})
	if err != nil {
		return // acquire tries again and answers the error
	}
	fs.mu.Lock()
	if fs.m == nil {
		fs.m = map[string]*cursor{}
	}
	if fs.m[partition] != nil {
		fs.mu.Unlock()
		r.Close()
		return
	}
	fs.m[partition] = newCursor(r, offset, fs.limit, fs.signal)
	fs.n.Store(int32(len(fs.m)))
	fs.mu.Unlock()
}

// limit is each cursor's read-ahead bound: the connection's budget shared.
func (fs *cursorCache) limit() int {
	n := int(fs.n.Load())
	return max(minReadAheadBytes, min(readAheadBytes, connReadAheadBytes/max(n, 1)))
}

func (fs *cursorCache) forget(partition string, c *cursor) {
	fs.mu.Lock()
	if fs.m[partition] == c {
		delete(fs.m, partition)
		fs.n.Store(int32(len(fs.m)))
	}
	fs.mu.Unlock()
	c.close()
}

func (fs *cursorCache) close() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, c := range fs.m {
		c.close()
	}
	fs.m = nil
	fs.n.Store(0)
}

// read returns the next message or batch: the one put back, else the
// read-ahead's first, waiting for the pump.
func (c *cursor) read(ctx context.Context) (fetched, error) {
	if f := c.peeked; f != nil {
		c.peeked = nil
		return *f, nil
	}
	for {
		c.ra.Lock()
		if len(c.buf) > 0 {
			f := c.buf[0]
			c.buf[0] = fetched{}
			c.buf = c.buf[1:]
			full := c.bytes >= c.limit()
			c.bytes -= f.size()
			c.ra.Unlock()
			if full {
				select {
				case c.room <- struct{}{}:
				default:
				}
			}
			return f, nil
		}
		if c.err != nil {
			err := c.err
			c.ra.Unlock()
			return fetched{}, err
		}
		more := c.more
		c.ra.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return fetched{}, ctx.Err()
		}
	}
}

// unread puts what read returned back, to be returned by the next read.
func (c *cursor) unread(f fetched) { c.peeked = &f }

// readBackend reads from the backend: stored record batches whole where the
// backend keeps them (bridge.RawReader), a stored unit's messages at once
// where it can (bridge.BatchReader), else a message.
func (c *cursor) readBackend(ctx context.Context) ([]fetched, error) {
	return readUnits(ctx, c.r)
}

// readUnits reads what readBackend does from any reader.
func readUnits(ctx context.Context, r bridge.Reader) ([]fetched, error) {
	switch r := r.(type) {
	case bridge.RawReader:
		m, rb, err := r.NextRaw(ctx)
		return []fetched{{m: m, rb: rb}}, err
	case bridge.BatchReader:
		ms, err := r.NextBatch(ctx)
		fs := make([]fetched, len(ms))
		for i, m := range ms {
			fs[i].m = m
		}
		return fs, err
	}
	m, err := r.Next(ctx)
	return []fetched{{m: m}}, err
}

// fetched is a message or a stored record batch a cursor read.
type fetched struct {
	m  *bridge.Message
	rb *bridge.RawBatch
}

// last is the offset of its last record.
func (f fetched) last() int64 {
	if f.rb != nil {
		return f.rb.First + int64(f.rb.Count) - 1
	}
	return f.m.Index
}

// size is its size in a Fetch answer, estimated for a message.
func (f fetched) size() int {
	if f.rb != nil {
		return len(f.rb.Data)
	}
	return messageSize(f.m)
}

func (c *cursor) close() {
	c.stopPump()
	c.r.Close()
}
