package kafka

import (
	"context"
	"sync"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// maxCursors bounds the readers one connection keeps open.
const maxCursors = 1024

// cursorReadAhead is how many messages a cursor's reader fetches ahead: a
// Fetch answers up to 1 MiB per partition by default (10,000 records of
// 100 bytes), and a read-ahead of 1000 (Pulsar's default) left the reader
// waiting on the broker several times per Fetch.
const cursorReadAhead = 4096

// cursorCache keeps one backend reader per partition of a connection, at
// the offset the next Fetch is expected to ask for: a consumer reading on
// costs no seek.
type cursorCache struct {
	mu sync.Mutex
	m  map[string]*cursor
}

// cursor is a reader and where it stands. peeked is a message read while
// waiting for data (long polling) and not yet returned.
type cursor struct {
	mu     sync.Mutex
	r      bridge.Reader
	next   int64
	peeked *bridge.Message
}

// acquire returns the partition's cursor positioned at offset, locked.
func (fs *cursorCache) acquire(ctx context.Context, b bridge.Backend, partition string, offset int64) (*cursor, error) {
	fs.mu.Lock()
	if fs.m == nil {
		fs.m = map[string]*cursor{}
	}
	c := fs.m[partition]
	if c == nil {
		if len(fs.m) >= maxCursors {
			for k, old := range fs.m { // evict any: a consumer this wide re-seeks
				delete(fs.m, k)
				old.mu.Lock()
				old.r.Close()
				old.mu.Unlock()
				break
			}
		}
		r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: partition, Start: bridge.StartAtIndex(offset),
			ReceiverQueueSize: cursorReadAhead})
		if err != nil {
			fs.mu.Unlock()
			return nil, err
		}
		c = &cursor{r: r, next: offset}
		fs.m[partition] = c
	}
	fs.mu.Unlock()
	c.mu.Lock()
	if c.next != offset {
		if err := c.r.Seek(ctx, bridge.StartAtIndex(offset)); err != nil {
			c.mu.Unlock()
			fs.forget(partition, c)
			return nil, err
		}
		c.next, c.peeked = offset, nil
	}
	return c, nil
}

func (fs *cursorCache) forget(partition string, c *cursor) {
	fs.mu.Lock()
	if fs.m[partition] == c {
		delete(fs.m, partition)
	}
	fs.mu.Unlock()
	c.r.Close()
}

func (fs *cursorCache) close() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, c := range fs.m {
		c.r.Close()
	}
	fs.m = nil
}

// read returns the next message, the peeked one first.
func (c *cursor) read(ctx context.Context) (*bridge.Message, error) {
	if m := c.peeked; m != nil {
		c.peeked = nil
		return m, nil
	}
	return c.r.Next(ctx)
}

// unread puts a message back to be returned by the next read.
func (c *cursor) unread(m *bridge.Message) { c.peeked = m }
