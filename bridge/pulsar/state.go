package pulsar

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// table is a state table: a compacted topic (key = record key) read by one
// reader per backend, shared by every handle of that table. A value is
// stored with a one-byte prefix so an empty value stays apart from a delete,
// which is an empty payload (a compaction tombstone).
//
// A Put returns once the message is durable AND this backend's reader has
// applied it: reads of this process see their own writes at once, and
// watchers see changes in log order, whichever gateway wrote them. This is
// our own reader rather than TableView because TableView offers no way to
// wait for a given write and needs a schema on both sides.
type table struct {
	b     *Backend
	topic string
	p     pulsar.Producer
	r     pulsar.Reader

	mu       sync.Mutex
	cond     *sync.Cond
	data     map[string][]byte
	applied  pulsar.MessageID
	watchers map[int]func(string, []byte)
	nextW    int
	err      error
	cancel   context.CancelFunc
	done     chan struct{}
	refs     int
}

// handle is one State() result; Close of the backend ends them all.
type handle struct{ t *table }

const valuePrefix = 1

func (b *Backend) State(ctx context.Context, name string) (bridge.StateTable, error) {
	if b.isClosed() {
		return nil, errClosed("backend")
	}
	if name == "" {
		return nil, bridge.ErrInvalid
	}
	b.mu.Lock()
	t := b.tables[name]
	b.mu.Unlock()
	if t != nil {
		return &handle{t}, nil
	}
	topic := "persistent://" + b.opts.Tenant + "/" + b.opts.Namespace + "/__pgw-state-" + name
	ut := mustUtilsTopic(topic)
	if err := b.admin.Topics().CreateWithContext(ctx, ut, 0); err != nil && !isConflict(err) {
		return nil, mapErr(err, topicScope, "state topic "+topic)
	}
	// Compact once the topic holds 1 MiB of history (best effort).
	_ = b.admin.Topics().SetCompactionThreshold(ut, 1<<20)
	t = &table{b: b, topic: topic, data: map[string][]byte{}, watchers: map[int]func(string, []byte){}, done: make(chan struct{})}
	t.cond = sync.NewCond(&t.mu)
	var err error
	if t.p, err = b.client.CreateProducer(pulsar.ProducerOptions{Topic: topic, DisableBatching: true, SendTimeout: -1}); err != nil {
		return nil, mapErr(err, topicScope, "state producer")
	}
	if t.r, err = b.client.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID(),
		ReadCompacted: true}); err != nil {
		t.p.Close()
		return nil, mapErr(err, topicScope, "state reader")
	}
	for t.r.HasNext() {
		m, err := t.r.Next(ctx)
		if err != nil {
			t.r.Close()
			t.p.Close()
			return nil, mapErr(err, topicScope, "load state "+name)
		}
		t.apply(m, false)
	}
	rctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	go t.run(rctx)
	b.mu.Lock()
	if old := b.tables[name]; old != nil || b.closed {
		b.mu.Unlock()
		t.close()
		if old == nil {
			return nil, errClosed("backend")
		}
		return &handle{old}, nil
	}
	b.tables[name] = t
	b.handles[t] = struct{}{}
	b.mu.Unlock()
	return &handle{t}, nil
}

func (t *table) run(ctx context.Context) {
	defer close(t.done)
	for {
		m, err := t.r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		t.apply(m, true)
	}
}

func (t *table) apply(m pulsar.Message, notify bool) {
	key := m.Key()
	var v []byte
	if p := m.Payload(); len(p) > 0 && p[0] == valuePrefix {
		v = slices.Clone(p[1:])
	}
	t.mu.Lock()
	if v == nil {
		delete(t.data, key)
	} else {
		t.data[key] = v
	}
	t.applied = m.ID()
	ws := make([]func(string, []byte), 0, len(t.watchers))
	if notify {
		ids := make([]int, 0, len(t.watchers))
		for id := range t.watchers {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			ws = append(ws, t.watchers[id])
		}
	}
	t.cond.Broadcast()
	t.mu.Unlock()
	for _, w := range ws {
		w(key, slices.Clone(v))
	}
}

func idAtLeast(a, b pulsar.MessageID) bool {
	if a == nil {
		return false
	}
	if a.LedgerID() != b.LedgerID() {
		return a.LedgerID() > b.LedgerID()
	}
	return a.EntryID() >= b.EntryID()
}

func (t *table) closeForBackend() { t.close() }

func (t *table) close() {
	if t.cancel != nil {
		t.cancel()
		<-t.done
	}
	t.mu.Lock()
	t.err = bridge.ErrClosed
	t.cond.Broadcast()
	t.mu.Unlock()
	t.r.Close()
	t.p.Close()
}

func (h *handle) Get(key string) ([]byte, bool) {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	v, ok := h.t.data[key]
	return slices.Clone(v), ok
}

func (h *handle) Put(ctx context.Context, key string, value []byte) error {
	t := h.t
	if t.b.isClosed() {
		return errClosed("backend")
	}
	// A delete is a one-byte 0 record, not an empty payload: the Go
	// client does not deliver empty-payload messages to readers reliably.
	// Compaction still keeps only the latest record of a key.
	payload := []byte{0}
	if value != nil {
		payload = append([]byte{valuePrefix}, value...)
	}
	id, err := t.p.Send(ctx, &pulsar.ProducerMessage{Key: key, Payload: payload})
	if err != nil {
		return mapErr(err, topicScope, "state put")
	}
	// Wait until our reader applied it (so Get sees it at once).
	stop := context.AfterFunc(ctx, func() { t.mu.Lock(); t.cond.Broadcast(); t.mu.Unlock() })
	defer stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for !idAtLeast(t.applied, id) {
		if t.err != nil {
			return t.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t.cond.Wait()
	}
	return nil
}

func (h *handle) Delete(ctx context.Context, key string) error { return h.Put(ctx, key, nil) }

func (h *handle) Range(prefix string, f func(string, []byte) bool) {
	h.t.mu.Lock()
	keys := make([]string, 0, len(h.t.data))
	for k := range h.t.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = slices.Clone(h.t.data[k])
	}
	h.t.mu.Unlock()
	for i, k := range keys {
		if !f(k, vals[i]) {
			return
		}
	}
}

func (h *handle) Watch(f func(string, []byte)) func() {
	t := h.t
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
