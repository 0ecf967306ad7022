// Package producercache keeps a protocol's open producers: one per topic and
// producer options, shared by every connection. Opening a producer costs a
// lookup and a broker round trip on Pulsar, so a protocol opens one per topic
// and keeps it; this cache bounds how many stay open, closes idle ones, and
// opens them outside any lock, so that a slow topic delays only its own
// callers.
//
// It knows only package bridge: a protocol brings its producer options (the
// key) and, when it needs one, its own way to open a producer.
package producercache

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Options configure a Cache. Zero values take the defaults.
type Options struct {
	// Create opens a producer; nil is the backend's CreateProducer.
	Create func(ctx context.Context, o bridge.ProducerOptions) (bridge.Producer, error)
	// Max bounds the producers open or opening; past it the least recently
	// used one without sends in flight is closed. When every one has sends
	// in flight the cache stays over until one is released. Zero is 10000.
	Max int
	// Idle is how long a producer stays open unused; zero is 5 minutes.
	Idle time.Duration
	// CreateTimeout bounds one producer's creation; zero is 30 seconds.
	CreateTimeout time.Duration
}

// Cache is safe for concurrent use.
type Cache struct {
	o      Options
	ctx    context.Context // creations end when the cache closes
	cancel context.CancelFunc
	stop   chan struct{} // ends the idle sweep
	swept  sync.WaitGroup

	mu      sync.Mutex // a leaf: no other lock is taken under it
	entries map[bridge.ProducerOptions]*entry
	lru     list.List // of *entry that are open, most recently released first
	closing map[bridge.ProducerOptions]chan struct{}
	closed  bool
}

// entry is one producer: being created until ready is closed, then open
// (p set) or failed (err set, and already out of the map).
type entry struct {
	key     bridge.ProducerOptions
	ready   chan struct{}
	p       bridge.Producer
	err     error
	waiting []waitingSend // SendAsync calls made while creating, in order
	refs    int           // leases and sends not yet handed to p
	last    time.Time     // last release
	elem    *list.Element // in Cache.lru once open
	seq     sync.Mutex    // Lease.Lock
}

type waitingSend struct {
	ctx context.Context
	msg *bridge.OutMessage
	cb  bridge.SendCallback
}

// New starts a cache of producers of b.
func New(b bridge.Backend, o Options) *Cache {
	if o.Create == nil {
		o.Create = b.CreateProducer
	}
	if o.Max <= 0 {
		o.Max = 10000
	}
	if o.Idle <= 0 {
		o.Idle = 5 * time.Minute
	}
	if o.CreateTimeout <= 0 {
		o.CreateTimeout = 30 * time.Second
	}
	c := &Cache{o: o, stop: make(chan struct{}),
		entries: map[bridge.ProducerOptions]*entry{}, closing: map[bridge.ProducerOptions]chan struct{}{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.swept.Add(1)
	go c.sweep()
	return c
}

// Lease is the use of a cached producer; the producer stays open until the
// lease is released.
type Lease struct {
	c *Cache
	e *entry
}

// Producer is the backend's producer: a protocol may look for the backend's
// extra interfaces on it (bridge.RawProducer, bridge.BatchProducer).
func (l *Lease) Producer() bridge.Producer { return l.e.p }

// Lock and Unlock serialise, among every holder of this producer, runs of
// sends that must reach it back to back (a Kafka batch sent message by
// message gets consecutive offsets).
func (l *Lease) Lock()   { l.e.seq.Lock() }
func (l *Lease) Unlock() { l.e.seq.Unlock() }

// Release ends the lease once its sends are handed to the producer. Call it
// exactly once.
func (l *Lease) Release() { l.c.release(l.e) }

// Acquire returns a lease of o's producer, opening it when none is open. One
// creation serves every caller of one key; callers of other keys do not wait
// for it. A failed creation is not kept: the next caller tries again.
func (c *Cache) Acquire(ctx context.Context, o bridge.ProducerOptions) (*Lease, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, bridge.ErrClosed
	}
	e := c.lookup(o)
	e.refs++
	c.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		c.release(e)
		return nil, ctx.Err()
	}
	if e.err != nil {
		c.release(e)
		return nil, e.err
	}
	return &Lease{c: c, e: e}, nil
}

// SendAsync sends msg with o's producer, opening it when none is open. It
// does not wait for a creation: sends made meanwhile wait in the order they
// were made, whichever goroutine made them, and go first once it is open.
// When the creation fails, cb gets its error.
func (c *Cache) SendAsync(ctx context.Context, o bridge.ProducerOptions, msg *bridge.OutMessage, cb bridge.SendCallback) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cb(bridge.SendResult{}, bridge.ErrClosed)
		return
	}
	e := c.lookup(o)
	if e.p == nil {
		e.waiting = append(e.waiting, waitingSend{ctx, msg, cb})
		c.mu.Unlock()
		return
	}
	e.refs++
	c.mu.Unlock()
	e.p.SendAsync(ctx, msg, cb)
	c.release(e)
}

// Flush waits until what was sent with o's producer is durable or failed;
// it opens nothing.
func (c *Cache) Flush(ctx context.Context, o bridge.ProducerOptions) error {
	c.mu.Lock()
	e := c.entries[o]
	if e == nil {
		closing := c.closing[o]
		c.mu.Unlock()
		if closing != nil {
			select {
			case <-closing: // closing flushes
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	e.refs++
	c.mu.Unlock()
	defer c.release(e)
	select {
	case <-e.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	if e.p == nil {
		return nil // failed: its sends have their errors
	}
	return e.p.Flush(ctx)
}

// Drop closes o's producer at once, sends in flight or not: its topic is
// being deleted.
func (c *Cache) Drop(o bridge.ProducerOptions) {
	c.mu.Lock()
	e := c.entries[o]
	if e != nil {
		c.forget(e)
	}
	c.mu.Unlock()
	if e != nil {
		<-e.ready
		if e.p != nil {
			e.p.Close()
		}
	}
}

// Len is how many producers are open or opening.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Topics calls f with the topic of every producer open or opening, after
// the cache's lock is released.
func (c *Cache) Topics(f func(topic string)) {
	c.mu.Lock()
	topics := make([]string, 0, len(c.entries))
	for k := range c.entries {
		topics = append(topics, k.Topic)
	}
	c.mu.Unlock()
	for _, t := range topics {
		f(t)
	}
}

// Close flushes and closes every producer. Creations under way get until
// ctx ends to finish (their waiting sends go first); then they are
// cancelled.
func (c *Cache) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	entries := make([]*entry, 0, len(c.entries))
	for _, e := range c.entries {
		entries = append(entries, e)
	}
	closing := make([]chan struct{}, 0, len(c.closing))
	for _, ch := range c.closing {
		closing = append(closing, ch)
	}
	c.entries = map[bridge.ProducerOptions]*entry{}
	c.lru.Init()
	c.mu.Unlock()
	close(c.stop)
	c.swept.Wait()
	defer c.cancel()
	var errs []error
	for _, e := range entries {
		select {
		case <-e.ready:
		case <-ctx.Done():
			c.cancel()
			<-e.ready
		}
		if e.p != nil {
			errs = append(errs, e.p.Flush(ctx), e.p.Close())
		}
	}
	for _, ch := range closing {
		<-ch
	}
	return errors.Join(errs...)
}

// lookup returns o's entry, starting its creation when there is none.
// Called with c.mu held.
func (c *Cache) lookup(o bridge.ProducerOptions) *entry {
	e := c.entries[o]
	if e != nil {
		return e
	}
	e = &entry{key: o, ready: make(chan struct{})}
	c.entries[o] = e
	// A producer of this key still closing is flushed first, so that what
	// it holds stays ahead of what the new one sends.
	go c.create(e, c.closing[o])
	c.trim()
	return e
}

// create opens e's producer with a deadline, not under any caller's context:
// one caller giving up does not fail the others.
func (c *Cache) create(e *entry, previous chan struct{}) {
	if previous != nil {
		select {
		case <-previous:
		case <-c.ctx.Done():
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.o.CreateTimeout)
	p, err := c.o.Create(ctx, e.key)
	cancel()
	if err != nil {
		c.mu.Lock()
		if c.entries[e.key] == e {
			delete(c.entries, e.key)
		}
		waiting := e.waiting
		e.waiting, e.err = nil, err
		close(e.ready)
		c.mu.Unlock()
		for _, w := range waiting {
			w.cb(bridge.SendResult{}, err)
		}
		return
	}
	for {
		c.mu.Lock()
		waiting := e.waiting
		e.waiting = nil
		if len(waiting) == 0 {
			e.p, e.last = p, time.Now()
			if c.entries[e.key] == e { // else dropped or closed meanwhile: they close it
				e.elem = c.lru.PushFront(e)
			}
			close(e.ready)
			c.trim()
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for _, w := range waiting {
			p.SendAsync(w.ctx, w.msg, w.cb)
		}
	}
}

func (c *Cache) release(e *entry) {
	c.mu.Lock()
	e.refs--
	if e.elem != nil && e.p != nil {
		e.last = time.Now()
		c.lru.MoveToFront(e.elem)
	}
	c.trim()
	c.mu.Unlock()
}

// trim closes least recently used producers without sends in flight while
// the cache is over its bound. Called with c.mu held.
func (c *Cache) trim() {
	for el := c.lru.Back(); el != nil && len(c.entries) > c.o.Max; {
		e := el.Value.(*entry)
		el = el.Prev()
		if e.refs == 0 {
			c.evict(e)
		}
	}
}

// sweep closes producers idle for o.Idle.
func (c *Cache) sweep() {
	defer c.swept.Done()
	t := time.NewTicker(max(c.o.Idle/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			c.mu.Lock()
			for el := c.lru.Back(); el != nil; {
				e := el.Value.(*entry)
				if now.Sub(e.last) < c.o.Idle {
					break // the rest were released later
				}
				el = el.Prev()
				if e.refs == 0 {
					c.evict(e)
				}
			}
			c.mu.Unlock()
		}
	}
}

// evict takes an open producer out and closes it in the background, after
// its sends are durable. Called with c.mu held.
func (c *Cache) evict(e *entry) {
	c.forget(e)
	done := make(chan struct{})
	c.closing[e.key] = done
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.o.CreateTimeout)
		e.p.Flush(ctx)
		cancel()
		e.p.Close()
		c.mu.Lock()
		if c.closing[e.key] == done {
			delete(c.closing, e.key)
		}
		c.mu.Unlock()
		close(done)
	}()
}

// forget takes e out of the cache. Called with c.mu held.
func (c *Cache) forget(e *entry) {
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
	}
	if e.elem != nil {
		c.lru.Remove(e.elem)
		e.elem = nil
	}
}
