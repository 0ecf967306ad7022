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

	// writeMu orders writes, so watchers see changes in the order stored.
	writeMu sync.Mutex

	mu       sync.RWMutex
	data     map[string][]byte
	watchers map[int]func(string, []byte)
	nextW    int
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
// the watchers.
func (t *stateTable) write(key string, value []byte) error {
	if t.b.isClosed() {
		return bridge.ErrClosed
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	var err error
	if value == nil {
		err = t.b.db.Delete(stateKey(t.name, key), pebble.Sync)
	} else {
		err = t.b.db.Set(stateKey(t.name, key), value, pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("state table %s: %w", t.name, err)
	}
	t.mu.Lock()
	if value == nil {
		delete(t.data, key)
	} else {
		t.data[key] = value
	}
	watchers := make([]func(string, []byte), 0, len(t.watchers))
	for _, f := range t.watchers {
		watchers = append(watchers, f)
	}
	t.mu.Unlock()
	for _, f := range watchers {
		var v []byte
		if value != nil {
			v = append([]byte{}, value...)
		}
		f(key, v)
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
