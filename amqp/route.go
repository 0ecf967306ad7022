package amqp

import (
	"strings"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// route returns the queues a message reaches, each once, in binding order. It follows
// exchange-to-exchange bindings, and an exchange that routes nowhere hands the message to
// its alternate-exchange; each exchange is visited once, so cycles end. Extra keys are the
// CC and BCC headers (sender-selected distribution).
func (t *topology) route(vhost, exchange string, x exchangeRec, routingKey string, headers wire.Table) []string {
	keys := append([]string{routingKey}, ccKeys(headers)...)
	r := router{t: t, vhost: vhost, keys: keys, headers: headers, visited: map[string]bool{}, queued: map[string]bool{}}
	r.exchange(exchange, x)
	return r.out
}

type router struct {
	t       *topology
	vhost   string
	keys    []string
	headers wire.Table
	visited map[string]bool // exchanges
	queued  map[string]bool
	out     []string
}

// exchange routes through one exchange and reports whether it reached anything.
func (r *router) exchange(name string, x exchangeRec) bool {
	if r.visited[name] {
		return false
	}
	r.visited[name] = true
	reached := false
	if name == "" {
		for _, k := range r.keys {
			if _, ok := r.t.queue(r.vhost, k); ok {
				r.queue(k)
				reached = true
			}
		}
		return reached
	}
	for _, b := range r.t.bindingsFrom(r.vhost, name) {
		if !r.matches(x.Type, b) {
			continue
		}
		if !b.ToExchange {
			r.queue(b.Queue)
			reached = true
		} else if dx, ok := r.t.exchange(r.vhost, b.Queue); ok && r.exchange(b.Queue, dx) {
			reached = true
		}
	}
	if !reached {
		if ae, ok := decodeArgs(x.Args)["alternate-exchange"].(string); ok {
			if ax, ok := r.t.exchange(r.vhost, ae); ok {
				reached = r.exchange(ae, ax) // counts as routed for mandatory
			}
		}
	}
	return reached
}

func (r *router) queue(name string) {
	if !r.queued[name] {
		r.queued[name] = true
		r.out = append(r.out, name)
	}
}

func (r *router) matches(typ string, b bindingRec) bool {
	switch typ {
	case "fanout":
		return true
	case "headers":
		return headersMatch(decodeArgs(b.Args), r.headers)
	}
	for _, k := range r.keys {
		if typ == "direct" && b.Key == k || typ == "topic" && topicMatch(strings.Split(b.Key, "."), strings.Split(k, ".")) {
			return true
		}
	}
	return false
}

// ccKeys are the routing keys of the CC and BCC headers (arrays of strings).
func ccKeys(h wire.Table) []string {
	var out []string
	for _, name := range []string{"CC", "BCC"} {
		if arr, ok := h[name].([]any); ok {
			for _, v := range arr {
				switch v := v.(type) {
				case string:
					out = append(out, v)
				case []byte:
					out = append(out, string(v))
				}
			}
		}
	}
	return out
}

// topicMatch matches dot-separated words: "*" is exactly one word, "#" zero or more. As in
// RabbitMQ, "" is zero words, so it matches only patterns made of "#".
func topicMatch(pattern, words []string) bool {
	if len(pattern) == 1 && pattern[0] == "" {
		pattern = nil
	}
	if len(words) == 1 && words[0] == "" {
		words = nil
	}
	return topicMatchWords(pattern, words)
}

func topicMatchWords(p, w []string) bool {
	for len(p) > 0 {
		switch p[0] {
		case "#":
			for len(p) > 1 && p[1] == "#" {
				p = p[1:] // "#.#" is "#"
			}
			if len(p) == 1 {
				return true
			}
			for i := 0; i <= len(w); i++ {
				if topicMatchWords(p[1:], w[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(w) == 0 {
				return false
			}
		default:
			if len(w) == 0 || w[0] != p[0] {
				return false
			}
		}
		p, w = p[1:], w[1:]
	}
	return len(w) == 0
}

// headersMatch applies a headers binding (RabbitMQ's rabbit_exchange_type_headers): x-match
// all (default) or any; the -with-x variants also compare x- keys. A void binding value only
// asks for the header's presence. An empty "any" matches nothing, an empty "all" everything.
func headersMatch(args, headers wire.Table) bool {
	mode, _ := args["x-match"].(string)
	if mode == "" {
		mode = "all"
	}
	withX := strings.HasSuffix(mode, "-with-x")
	any := strings.HasPrefix(mode, "any")
	for k, want := range args {
		if k == "x-match" || (!withX && strings.HasPrefix(k, "x-")) {
			continue
		}
		got, present := headers[k]
		ok := present && (want == nil || equalValue(want, got))
		if any && ok {
			return true
		}
		if !any && !ok {
			return false
		}
	}
	return !any
}

// equalValue compares field values, integers by value whatever their width.
func equalValue(a, b any) bool {
	if x, ok := asInt(a); ok {
		y, ok := asInt(b)
		return ok && x == y
	}
	switch av := a.(type) {
	case []byte:
		bv, ok := b.([]byte)
		return ok && string(av) == string(bv)
	case string:
		switch bv := b.(type) {
		case string:
			return av == bv
		case []byte:
			return av == string(bv)
		}
		return false
	case wire.Table, []any, map[string]any:
		return false // RabbitMQ compares these structurally; rare in bindings
	}
	return a == b
}

func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int8:
		return int64(v), true
	case uint8:
		return int64(v), true
	case int16:
		return int64(v), true
	case uint16:
		return int64(v), true
	case int32:
		return int64(v), true
	case uint32:
		return int64(v), true
	case int64:
		return v, true
	case int:
		return int64(v), true
	}
	return 0, false
}
