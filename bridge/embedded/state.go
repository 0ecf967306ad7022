package embedded

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// State opens a shared keyed table. On one embedded store every handle of
// a table is the same object, so writes are visible at once.
// Shared is false: one process opens the store (Pebble locks it).
func (b *Backend) Shared() bool { return false }

func (b *Backend) State(ctx context.Context, table string) (bridge.StateTable, error) {
	if table == "" || strings.ContainsRune(table, 0) {
		return nil, fmt.Errorf("%w: state table name %q", bridge.ErrInvalid, table)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, bridge.ErrClosed
	}
	if t, ok := b.states[table]; ok {
		return t, nil
	}
	t := &stateTable{b: b, name: table, data: map[string][]byte{}, watchers: map[int]func(string, []byte){}}
	prefix := statePrefix(table)
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	for it.First(); it.Valid(); it.Next() {
		t.data[string(it.Key()[len(prefix):])] = append([]byte{}, it.Value()...)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("state table %s: %w", table, err)
	}
	b.states[table] = t
	return t, nil
}

// stateTable keeps a table in memory and writes through to the store.
type stateTable struct {
	b    *Backend
	name string

	// Writes queue here; one writer at a time stores all those queued in
	// one synced batch (group commit), so many concurrent Puts (a Kafka
	// OffsetCommit of 10,000 partitions) cost a few fsyncs, not one each,
	// and watchers still see changes in the order stored.
	qmu     sync.Mutex
	queue   []*stateWrite
	writing bool

	mu       sync.RWMutex
	data     map[string][]byte
	watchers map[int]func(string, []byte)
	nextW    int
}

// stateWrite is one queued Put (value nil: Delete).
type stateWrite struct {
	key   string
	value []byte
	done  chan error
}

func (t *stateTable) Get(key string) ([]byte, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.data[key]
	if !ok {
		return nil, false
	}
	return append([]byte{}, v...), true
}

func (t *stateTable) Put(ctx context.Context, key string, value []byte) error {
	if value == nil {
		return t.Delete(ctx, key)
	}
	return t.write(key, append([]byte{}, value...))
}

func (t *stateTable) Delete(ctx context.Context, key string) error {
	return t.write(key, nil)
}

// write stores (or deletes, for nil) durably, then updates memory and tells
// the watchers. The first writer to find none writing stores the queue's
// writes, batch after batch, until the queue is empty.
func (t *stateTable) write(key string, value []byte) error {
	if t.b.isClosed() {
		return bridge.ErrClosed
	}
	w := &stateWrite{key: key, value: value, done: make(chan error, 1)}
	t.qmu.Lock()
	t.queue = append(t.queue, w)
	if t.writing {
		t.qmu.Unlock()
		return <-w.done
	}
	t.writing = true
	for len(t.queue) > 0 {
		batch := t.queue
		t.queue = nil
		t.qmu.Unlock()
		err := t.store(batch)
		for _, bw := range batch {
			bw.done <- err
		}
		t.qmu.Lock()
	}
	t.writing = false
	t.qmu.Unlock()
	return <-w.done
}

// store writes a batch durably, then applies it to memory and the watchers
// in order.
func (t *stateTable) store(batch []*stateWrite) error {
	b := t.b.db.NewBatch()
	defer b.Close()
	for _, w := range batch {
		var err error
		if w.value == nil {
			err = b.Delete(stateKey(t.name, w.key), nil)
		} else {
			err = b.Set(stateKey(t.name, w.key), w.value, nil)
		}
		if err != nil {
			return fmt.Errorf("state table %s: %w", t.name, err)
		}
	}
	if err := t.b.commit(b); err != nil {
		return fmt.Errorf("state table %s: %w", t.name, err)
	}
	t.mu.Lock()
	for _, w := range batch {
		if w.value == nil {
			delete(t.data, w.key)
		} else {
			t.data[w.key] = w.value
		}
	}
	watchers := make([]func(string, []byte), 0, len(t.watchers))
	for _, f := range t.watchers {
		watchers = append(watchers, f)
	}
	t.mu.Unlock()
	for _, w := range batch {
		for _, f := range watchers {
			var v []byte
			if w.value != nil {
				v = append([]byte{}, w.value...)
			}
			f(w.key, v)
		}
	}
	return nil
}

func (t *stateTable) Range(prefix string, f func(key string, value []byte) bool) {
	t.mu.RLock()
	keys := make([]string, 0, len(t.data))
	for k := range t.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	vals := make([][]byte, len(keys))
	sort.Strings(keys)
	for i, k := range keys {
		vals[i] = append([]byte{}, t.data[k]...)
	}
	t.mu.RUnlock()
	for i, k := range keys {
		if !f(k, vals[i]) {
			return
		}
	}
}

func (t *stateTable) Watch(f func(key string, value []byte)) (stop func()) {
	t.mu.Lock()
	id := t.nextW
	t.nextW++
	t.watchers[id] = f
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		delete(t.watchers, id)
		t.mu.Unlock()
	}
}
