package pulsar

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// table is a state table: a compacted topic (key = record key) read by one
// Reader per backend, shared by every handle of that table.
//
// A Put returns once the message is durable AND this backend's reader has
// applied it, so reads of this process see their own writes at once, and
// watchers see changes in log order, whichever gateway wrote them. Each
// record carries a token (random per table, then a counter) and the Put
// waits until the reader has applied its token.
//
// Not pulsar-client-go's TableView: its ForEachAndListen appends the
// listener while its reader goroutine ranges over the listeners (a data
// race the race detector reports), a record that arrives between its
// ForEach and that append reaches no listener, and its reader retries a
// failed read at once, in a loop, while the broker is away.
//
// Record payloads (first byte):
//
//	2 token(8) value   a value (may be empty)
//	3 token(8)         a delete
//	1 value, 0         the same without a token (written before tokens)
//
// A delete is a record, not an empty payload: the Go client does not deliver
// empty-payload messages to readers reliably. Compaction still keeps only
// the latest record of a key.
type table struct {
	b     *Backend
	topic string
	p     pulsar.Producer
	r     pulsar.Reader

	stopFollow context.CancelFunc
	followDone chan struct{}

	tokenBase uint64
	seq       atomic.Uint64

	mu       sync.Mutex
	data     map[string][]byte
	waiting  map[uint64]chan struct{}
	watchers map[int]func(string, []byte)
	nextW    int
	closed   bool
}

// handle is one State() result; Close of the backend ends them all.
type handle struct{ t *table }

const (
	recDeleteLegacy = 0
	recValueLegacy  = 1
	recValue        = 2
	recDelete       = 3
	tokenLen        = 8
)

// Shared is true: any number of gateways may use one Pulsar.
func (b *Backend) Shared() bool { return true }

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
	t, err := b.openTable(ctx, name)
	if err != nil {
		return nil, err
	}
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

// openTable creates the table's topic when missing and loads it.
func (b *Backend) openTable(ctx context.Context, name string) (*table, error) {
	topic := "persistent://" + b.opts.Tenant + "/" + b.opts.Namespace + "/__pgw-state-" + name
	ut := mustUtilsTopic(topic)
	if err := b.admin.Topics().CreateWithContext(ctx, ut, 0); err != nil && !isConflict(err) {
		return nil, mapErr(err, topicScope, "state topic "+topic)
	}
	// Compact once the topic holds 1 MiB of history (best effort).
	_ = b.admin.Topics().SetCompactionThreshold(ut, 1<<20)
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	t := &table{b: b, topic: topic, data: map[string][]byte{}, waiting: map[uint64]chan struct{}{},
		watchers: map[int]func(string, []byte){},
		// The high 32 bits tell this table apart from other writers; the
		// counter fills the low 32 (wrapping is harmless: only tokens still
		// awaited matter).
		tokenBase: binary.BigEndian.Uint64(seed[:]) &^ (1<<32 - 1)}
	var err error
	if t.p, err = b.client.CreateProducer(pulsar.ProducerOptions{Topic: topic, DisableBatching: true, SendTimeout: -1,
		Schema: pulsar.NewBytesSchema(nil)}); err != nil {
		return nil, mapErr(err, topicScope, "state producer")
	}
	if t.r, err = b.client.CreateReader(pulsar.ReaderOptions{Topic: topic,
		StartMessageID: pulsar.EarliestMessageID(), ReadCompacted: true}); err != nil {
		t.p.Close()
		return nil, mapErr(err, topicScope, "state reader "+name)
	}
	// Load: read the topic to its end before the table is handed out.
	for t.r.HasNext() {
		msg, err := t.r.Next(ctx)
		if err != nil {
			t.r.Close()
			t.p.Close()
			return nil, mapErr(err, topicScope, "load state "+name)
		}
		t.apply(msg.Key(), msg.Payload())
	}
	followCtx, stop := context.WithCancel(context.Background())
	t.stopFollow, t.followDone = stop, make(chan struct{})
	go t.follow(followCtx)
	return t, nil
}

// follow applies every later record, in log order, until the table closes.
// A failed read (the broker is away) is retried with a growing pause, so an
// outage costs a few log lines, not a busy loop.
func (t *table) follow(ctx context.Context) {
	defer close(t.followDone)
	pause := 50 * time.Millisecond
	for {
		msg, err := t.r.Next(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			t.b.log.Debug("state table read failed; retrying", zap.String("topic", t.topic), zap.Error(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, 5*time.Second)
			continue
		}
		pause = 50 * time.Millisecond
		t.apply(msg.Key(), msg.Payload())
	}
}

// apply applies one record of the table's topic, in log order.
func (t *table) apply(key string, p []byte) {
	var (
		val      []byte
		token    uint64
		hasToken bool
	)
	switch {
	case len(p) == 0: // a tombstone someone else wrote
	case p[0] == recValueLegacy:
		val = slices.Clone(p[1:])
	case (p[0] == recValue || p[0] == recDelete) && len(p) >= 1+tokenLen:
		token, hasToken = binary.BigEndian.Uint64(p[1:]), true
		if p[0] == recValue {
			val = append([]byte{}, p[1+tokenLen:]...)
		}
	}
	t.mu.Lock()
	if val == nil {
		delete(t.data, key)
	} else {
		t.data[key] = val
	}
	if ch, ok := t.waiting[token]; hasToken && ok {
		delete(t.waiting, token)
		close(ch)
	}
	ids := make([]int, 0, len(t.watchers))
	for id := range t.watchers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ws := make([]func(string, []byte), 0, len(ids))
	for _, id := range ids {
		ws = append(ws, t.watchers[id])
	}
	t.mu.Unlock()
	for _, w := range ws {
		w(key, slices.Clone(val))
	}
}

func (t *table) closeForBackend() { t.close() }

func (t *table) close() {
	t.mu.Lock()
	t.closed = true
	for tok, ch := range t.waiting {
		delete(t.waiting, tok)
		close(ch)
	}
	t.mu.Unlock()
	t.stopFollow()
	t.r.Close()
	<-t.followDone
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
	// (No check of the backend: it saves batch acks here while closing.)
	token := t.tokenBase | t.seq.Add(1)&(1<<32-1)
	payload := make([]byte, 1+tokenLen, 1+tokenLen+len(value))
	payload[0] = recDelete
	if value != nil {
		payload[0] = recValue
		payload = append(payload, value...)
	}
	binary.BigEndian.PutUint64(payload[1:], token)
	ch := make(chan struct{})
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return errClosed("state table")
	}
	t.waiting[token] = ch
	t.mu.Unlock()
	forget := func() {
		t.mu.Lock()
		delete(t.waiting, token)
		t.mu.Unlock()
	}
	if _, err := t.p.Send(ctx, &pulsar.ProducerMessage{Key: key, Payload: payload}); err != nil {
		forget()
		return mapErr(err, topicScope, "state put")
	}
	// Wait until the reader applied it (so Get sees it at once).
	select {
	case <-ch:
		t.mu.Lock()
		closed := t.closed
		t.mu.Unlock()
		if closed {
			return errClosed("state table")
		}
		return nil
	case <-ctx.Done():
		forget()
		return ctx.Err()
	}
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
