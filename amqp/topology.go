package amqp

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"sync"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// topologyTable is the bridge state table holding exchanges, queues and bindings, so that
// every gateway on the backend routes alike. Keys are kind/vhost/name..., each part
// path-escaped so that names may hold any byte:
//
//	x/<vhost>/<exchange>                    exchange
//	q/<vhost>/<queue>                       queue
//	b/<vhost>/<exchange>/<q:queue|x:exchange>/<key>/<h>  binding (h hashes its arguments)
const topologyTable = "amqp-topology"

type exchangeRec struct {
	Type       string `json:"type"`
	Durable    bool   `json:"durable"`
	AutoDelete bool   `json:"auto_delete"`
	Internal   bool   `json:"internal"`
	Args       []byte `json:"args,omitempty"` // wire-encoded table: JSON would lose its types
}

type queueRec struct {
	Durable    bool   `json:"durable"`
	Exclusive  bool   `json:"exclusive"`
	AutoDelete bool   `json:"auto_delete"`
	Owner      string `json:"owner,omitempty"` // connection id of an exclusive queue
	Args       []byte `json:"args,omitempty"`
}

// bindingRec binds exchange (the source) to a queue or, with ToExchange, to another
// exchange (RabbitMQ's exchange.bind); Queue then names that exchange.
type bindingRec struct {
	Exchange   string `json:"exchange"`
	Queue      string `json:"queue"`
	ToExchange bool   `json:"to_exchange,omitempty"`
	Key        string `json:"key"`
	Args       []byte `json:"args,omitempty"`
}

// dest names a binding's destination with its kind, as keys and routing sets use it.
func (b bindingRec) dest() string {
	if b.ToExchange {
		return "x:" + b.Queue
	}
	return "q:" + b.Queue
}

// predeclared are the exchanges every vhost has (RabbitMQ's rabbit_vhost); they are not
// stored. "" is the default exchange.
var predeclared = map[string]string{
	"":            "direct",
	"amq.direct":  "direct",
	"amq.fanout":  "fanout",
	"amq.topic":   "topic",
	"amq.headers": "headers",
	"amq.match":   "headers",
}

// topology reads and writes the records. An exchange's bindings are cached for routing,
// since a state table's Range walks every key; any change to a binding, from this gateway
// or another (seen through Watch), drops the cache.
type topology struct {
	st bridge.StateTable

	mu       sync.Mutex
	gen      uint64
	bindings map[string][]bindingRec // by vhost/exchange prefix
}

func (t *topology) invalidate() {
	t.mu.Lock()
	t.gen++
	t.bindings = nil
	t.mu.Unlock()
}

func esc(s string) string { return url.PathEscape(s) }

func key(parts ...string) string {
	for i, p := range parts[1:] {
		parts[i+1] = esc(p)
	}
	return strings.Join(parts, "/")
}

func encodeArgs(t wire.Table) []byte {
	if len(t) == 0 {
		return nil
	}
	b, err := wire.AppendTable(nil, t)
	if err != nil {
		return nil
	}
	return b
}

func decodeArgs(b []byte) wire.Table {
	if len(b) == 0 {
		return nil
	}
	t, _ := wire.DecodeTable(b)
	return t
}

func (t *topology) exchange(vhost, name string) (exchangeRec, bool) {
	if typ, ok := predeclared[name]; ok {
		return exchangeRec{Type: typ, Durable: true}, true
	}
	var x exchangeRec
	b, ok := t.st.Get(key("x", vhost, name))
	if !ok || json.Unmarshal(b, &x) != nil {
		return x, false
	}
	return x, true
}

func (t *topology) putExchange(ctx context.Context, vhost, name string, x exchangeRec) error {
	b, _ := json.Marshal(x)
	return t.st.Put(ctx, key("x", vhost, name), b)
}

func (t *topology) deleteExchange(ctx context.Context, vhost, name string) error {
	defer t.invalidate()
	var dead []string
	var sources []string // exchanges bound to this one: they may now be unused
	t.st.Range("b/"+esc(vhost)+"/", func(k string, v []byte) bool {
		var b bindingRec
		if json.Unmarshal(v, &b) == nil && (b.Exchange == name || b.ToExchange && b.Queue == name) {
			dead = append(dead, k)
			if b.Exchange != name {
				sources = append(sources, b.Exchange)
			}
		}
		return true
	})
	for _, k := range dead {
		t.st.Delete(ctx, k)
	}
	if err := t.st.Delete(ctx, key("x", vhost, name)); err != nil {
		return err
	}
	return t.autoDelete(ctx, vhost, sources)
}

// autoDelete deletes the auto-delete exchanges among sources that have no
// binding left as a source, as RabbitMQ does once their last one goes.
func (t *topology) autoDelete(ctx context.Context, vhost string, sources []string) error {
	for _, ex := range sources {
		x, ok := t.exchange(vhost, ex)
		if !ok || !x.AutoDelete {
			continue
		}
		t.invalidate()
		if len(t.bindingsFrom(vhost, ex)) > 0 {
			continue
		}
		if err := t.deleteExchange(ctx, vhost, ex); err != nil {
			return err
		}
	}
	return nil
}

func (t *topology) queue(vhost, name string) (queueRec, bool) {
	var q queueRec
	b, ok := t.st.Get(key("q", vhost, name))
	if !ok || json.Unmarshal(b, &q) != nil {
		return q, false
	}
	return q, true
}

func (t *topology) putQueue(ctx context.Context, vhost, name string, q queueRec) error {
	b, _ := json.Marshal(q)
	return t.st.Put(ctx, key("q", vhost, name), b)
}

// deleteQueue removes a queue and every binding to it.
func (t *topology) deleteQueue(ctx context.Context, vhost, name string) error {
	defer t.invalidate()
	var dead, sources []string
	t.st.Range("b/"+esc(vhost)+"/", func(k string, v []byte) bool {
		var b bindingRec
		if json.Unmarshal(v, &b) == nil && b.Queue == name && !b.ToExchange {
			dead = append(dead, k)
			sources = append(sources, b.Exchange)
		}
		return true
	})
	for _, k := range dead {
		t.st.Delete(ctx, k)
	}
	if err := t.st.Delete(ctx, key("q", vhost, name)); err != nil {
		return err
	}
	return t.autoDelete(ctx, vhost, sources)
}

func bindingKey(vhost string, b bindingRec) string {
	h := sha1.Sum(b.Args)
	return key("b", vhost, b.Exchange, b.dest(), b.Key, hex.EncodeToString(h[:8]))
}

func (t *topology) bind(ctx context.Context, vhost string, b bindingRec) error {
	v, _ := json.Marshal(b)
	defer t.invalidate()
	return t.st.Put(ctx, bindingKey(vhost, b), v)
}

func (t *topology) unbind(ctx context.Context, vhost string, b bindingRec) error {
	defer t.invalidate()
	if err := t.st.Delete(ctx, bindingKey(vhost, b)); err != nil {
		return err
	}
	return t.autoDelete(ctx, vhost, []string{b.Exchange})
}

// bindingsFrom lists an exchange's bindings; the slice is shared, not to be changed.
func (t *topology) bindingsFrom(vhost, exchange string) []bindingRec {
	prefix := "b/" + esc(vhost) + "/" + esc(exchange) + "/"
	t.mu.Lock()
	out, ok := t.bindings[prefix]
	gen := t.gen
	t.mu.Unlock()
	if ok {
		return out
	}
	t.st.Range(prefix, func(_ string, v []byte) bool {
		var b bindingRec
		if json.Unmarshal(v, &b) == nil {
			out = append(out, b)
		}
		return true
	})
	t.mu.Lock()
	if t.gen == gen { // nothing changed while reading
		if t.bindings == nil {
			t.bindings = map[string][]bindingRec{}
		}
		t.bindings[prefix] = out
	}
	t.mu.Unlock()
	return out
}

func unesc(s string) (string, error) { return url.PathUnescape(s) }
