// Package mgmt serves the part of RabbitMQ's management HTTP API that tools use
// (rabbitmqadmin, KEDA's RabbitMQ scaler, monitoring scripts): overview, vhosts, queues,
// exchanges, bindings, consumers, connections (and closing one), channels, whoami, the aliveness
// test and the alarms health check, with RabbitMQ's JSON field names and types. It reads
// the amqp.Server's snapshot (amqp/snapshot.go); it changes nothing but closing a
// connection.
//
// Logins are HTTP Basic with the AMQP listener's users. When the AMQP listener takes any
// login (no password file, no tokens), only guest/guest from a loopback address gets in,
// as RabbitMQ's default user; when it takes client certificates only, nobody gets in.
// With authorization on (authz rules), RabbitMQ's user tags
// do not exist here: super users are administrators and see everything; other users are
// "management" users who see the vhosts they may DESCRIBE, the queues in them they may
// DESCRIBE, the exchanges and bindings of those vhosts, and only their own connections
// and channels, which they alone (and administrators) may close. Without authorization
// every user who logs in is an administrator.
package mgmt

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
)

// Version is what the API reports as RabbitMQ's and the management plugin's version:
// tools (rabbitmqadmin) branch on it, so it is the RabbitMQ release whose API this is.
const Version = "3.10.8"

// Options configure a Handler.
type Options struct {
	Server *amqp.Server
	Logger *zap.Logger
	// AMQPAddr is the AMQP listener's address, for the overview's listeners.
	AMQPAddr net.Addr
	// SampleEvery is how often rates are sampled; zero is 5s (RabbitMQ's default
	// collect_statistics_interval).
	SampleEvery time.Duration
}

// Handler is the management API's http.Handler. Close stops its rate sampler.
type Handler struct {
	opts  Options
	s     *amqp.Server
	log   *zap.Logger
	rates *rates
	quit  chan struct{}
	once  sync.Once
}

// New starts the handler's rate sampler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = 5 * time.Second
	}
	h := &Handler{opts: opts, s: opts.Server, log: opts.Logger, rates: newRates(), quit: make(chan struct{})}
	go h.sample()
	return h
}

// Close stops the sampler.
func (h *Handler) Close() { h.once.Do(func() { close(h.quit) }) }

// user is who made a request.
type user struct {
	name  string
	admin bool
	who   authz.Who
}

func (h *Handler) login(r *http.Request) (user, bool) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		return user{}, false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	valid, on := h.s.Login(name, pass)
	if !on {
		// As RabbitMQ's default user: guest/guest, from loopback only.
		ip := net.ParseIP(host)
		valid = subtle.ConstantTimeCompare([]byte(name+"\x00"+pass), []byte("guest\x00guest")) == 1 && ip != nil && ip.IsLoopback()
	}
	if !valid {
		return user{}, false
	}
	u := user{name: name, who: authz.Who{Principal: authz.Principal(name), Host: host}}
	az := h.s.Authorizer()
	u.admin = az == nil || az.Super(u.who.Principal)
	return u, true
}

func (u user) tags() []string {
	if u.admin {
		return []string{"administrator"}
	}
	return []string{"management"}
}

func (h *Handler) mayVHost(u user, vhost string) bool {
	return u.admin || h.s.Authorizer().Allowed(u.who, authz.Describe, authz.VHost, vhost)
}

func (h *Handler) mayQueue(u user, vhost, name string) bool {
	return u.admin || h.mayVHost(u, vhost) && h.s.Authorizer().Allowed(u.who, authz.Describe, authz.Topic, name)
}

// ServeHTTP routes /api/... as RabbitMQ's management plugin.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, ok := h.login(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="RabbitMQ Management"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not_authorized", "reason": "Not_Authorized"})
		return
	}
	// Segments of the escaped path, each unescaped: vhost "/" is %2F.
	var parts []string
	for _, p := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		s, err := url.PathUnescape(p)
		if err != nil {
			notFound(w)
			return
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 || parts[0] != "api" {
		notFound(w)
		return
	}
	parts = parts[1:]
	if len(parts) == 0 {
		notFound(w)
		return
	}
	if r.Method == http.MethodDelete {
		if len(parts) == 2 && parts[0] == "connections" {
			h.closeConnection(w, r, u, parts[1])
			return
		}
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "Method Not Allowed", "reason": "Method Not Allowed"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "Method Not Allowed", "reason": "Method Not Allowed"})
		return
	}
	arg := func(i int) string { return parts[i] }
	n := len(parts)
	switch {
	case n == 1 && parts[0] == "overview":
		h.overview(w, r, u)
	case n == 1 && parts[0] == "whoami":
		writeJSON(w, http.StatusOK, map[string]any{"name": u.name, "tags": u.tags()})
	case n == 1 && parts[0] == "vhosts":
		h.list(w, r, h.vhosts(r.Context(), u, ""))
	case n == 2 && parts[0] == "vhosts":
		h.one(w, r, h.vhosts(r.Context(), u, arg(1)))
	case n <= 2 && parts[0] == "queues":
		vhost := ""
		if n == 2 {
			vhost = arg(1)
		}
		h.list(w, r, h.queues(r, u, vhost, ""))
	case n == 3 && parts[0] == "queues":
		h.one(w, r, h.queues(r, u, arg(1), arg(2)))
	case n <= 2 && parts[0] == "exchanges":
		vhost := ""
		if n == 2 {
			vhost = arg(1)
		}
		h.list(w, r, h.exchanges(u, vhost, nil))
	case n == 3 && parts[0] == "exchanges":
		name := arg(2)
		h.one(w, r, h.exchanges(u, arg(1), &name))
	case n <= 2 && parts[0] == "bindings":
		vhost := ""
		if n == 2 {
			vhost = arg(1)
		}
		h.list(w, r, h.bindings(u, vhost))
	case n == 1 && parts[0] == "connections":
		h.list(w, r, h.connections(u, ""))
	case n == 2 && parts[0] == "connections":
		h.one(w, r, h.connections(u, arg(1)))
	case n == 1 && parts[0] == "channels":
		h.list(w, r, h.channels(u))
	case n <= 2 && parts[0] == "consumers":
		vhost := ""
		if n == 2 {
			vhost = arg(1)
		}
		h.list(w, r, h.consumers(u, vhost, ""))
	case n == 2 && parts[0] == "aliveness-test":
		h.aliveness(w, r, u, arg(1))
	case n == 3 && parts[0] == "health" && parts[1] == "checks" && parts[2] == "alarms":
		h.alarms(w)
	default:
		notFound(w)
	}
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "Object Not Found", "reason": "Not Found"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal_server_error","reason":"encoding"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	w.Write(b)
}

type object = map[string]any

// one answers a single object, or 404.
func (h *Handler) one(w http.ResponseWriter, r *http.Request, items []object) {
	if len(items) == 0 {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, columns(r, items[0]))
}

// columns keeps the fields the request's columns parameter names (dotted paths reach into
// nested objects: message_stats.publish), as RabbitMQ does; none named keeps all.
func columns(r *http.Request, o object) object {
	cols := r.URL.Query().Get("columns")
	if cols == "" {
		return o
	}
	out := object{}
	for _, c := range strings.Split(cols, ",") {
		path := strings.Split(c, ".")
		src, dst := o, out
		for i, k := range path {
			v, ok := src[k]
			if !ok {
				break
			}
			if i == len(path)-1 {
				dst[k] = v
				break
			}
			sub, ok := v.(object)
			if !ok {
				dst[k] = v
				break
			}
			next, _ := dst[k].(object)
			if next == nil {
				next = object{}
				dst[k] = next
			}
			src, dst = sub, next
		}
	}
	return out
}

// sortItems orders a list by the request's sort field (dotted paths too), reversed with
// sort_reverse=true, as RabbitMQ does.
func sortItems(r *http.Request, items []object) {
	key := r.URL.Query().Get("sort")
	if key == "" {
		return
	}
	get := func(o object) any {
		var v any = o
		for _, k := range strings.Split(key, ".") {
			m, ok := v.(object)
			if !ok {
				return nil
			}
			v = m[k]
		}
		return v
	}
	less := func(a, b any) bool {
		switch a := a.(type) {
		case string:
			b, _ := b.(string)
			return a < b
		case int, int64, uint16, uint32, float64:
			return toFloat(a) < toFloat(b)
		}
		return false
	}
	reverse := r.URL.Query().Get("sort_reverse") == "true"
	sort.SliceStable(items, func(i, j int) bool {
		if reverse {
			return less(get(items[j]), get(items[i]))
		}
		return less(get(items[i]), get(items[j]))
	})
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint16:
		return float64(v)
	case uint32:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// list answers a list, filtered by name (use_regex) and paginated as RabbitMQ when
// the request asks for a page: {items, page, page_count, ...}, which KEDA's regex mode reads.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, items []object) {
	q := r.URL.Query()
	total := len(items)
	if name := q.Get("name"); name != "" {
		match := func(s string) bool { return strings.Contains(s, name) }
		if q.Get("use_regex") == "true" {
			re, err := regexp.Compile(name)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request", "reason": "invalid regex: " + err.Error()})
				return
			}
			match = re.MatchString
		}
		kept := items[:0]
		for _, it := range items {
			if s, _ := it["name"].(string); match(s) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if items == nil {
		items = []object{}
	}
	sortItems(r, items)
	for i := range items {
		items[i] = columns(r, items[i])
	}
	if q.Get("page") == "" {
		writeJSON(w, http.StatusOK, items)
		return
	}
	page, err1 := strconv.Atoi(q.Get("page"))
	size := 100
	var err2 error
	if s := q.Get("page_size"); s != "" {
		size, err2 = strconv.Atoi(s)
	}
	if err1 != nil || err2 != nil || page < 1 || size < 1 || size > 500 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request", "reason": "invalid page or page_size"})
		return
	}
	filtered := len(items)
	pages := (filtered + size - 1) / size
	start := min((page-1)*size, filtered)
	end := min(start+size, filtered)
	writeJSON(w, http.StatusOK, object{"filtered_count": filtered, "item_count": end - start, "items": items[start:end],
		"page": page, "page_count": pages, "page_size": size, "total_count": total})
}

func detail(v float64) object { return object{"rate": v} }

func (h *Handler) node() string { return h.s.Node() }

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, u user) {
	counts := h.s.Counts()
	var ready, unacked, msgs int64
	queues, consumers := 0, 0
	for _, q := range h.queueInfos(r.Context(), u, "", "") {
		ready += q.Ready
		unacked += q.Unacked
		msgs += q.Messages
		consumers += q.Consumers
		queues++
	}
	conns := h.connections(u, "")
	chans := h.channels(u)
	exchanges := h.exchanges(u, "", nil)
	listeners := []object{}
	if a, ok := h.opts.AMQPAddr.(*net.TCPAddr); ok {
		listeners = append(listeners, object{"node": h.node(), "protocol": "amqp", "ip_address": a.IP.String(), "port": a.Port, "socket_opts": object{}})
	}
	ov := object{
		"management_version":        Version,
		"rates_mode":                "basic",
		"sample_retention_policies": object{"global": []int{600, 3600, 28800, 86400}, "basic": []int{600, 3600}, "detailed": []int{600}},
		"exchange_types": []object{
			{"name": "direct", "description": "AMQP direct exchange, as per the AMQP specification", "enabled": true},
			{"name": "fanout", "description": "AMQP fanout exchange, as per the AMQP specification", "enabled": true},
			{"name": "headers", "description": "AMQP headers exchange, as per the AMQP specification", "enabled": true},
			{"name": "topic", "description": "AMQP topic exchange, as per the AMQP specification", "enabled": true},
		},
		"product_version":               amqp.Version,
		"product_name":                  "pulsar-gateway",
		"rabbitmq_version":              Version,
		"cluster_name":                  "pulsar-gateway",
		"erlang_version":                "none (Go)",
		"erlang_full_version":           "none (Go)",
		"release_series_support_status": "supported",
		"disable_stats":                 false,
		"enable_queue_totals":           false,
		"message_stats":                 h.messageStats("", counts, true),
		"churn_rates":                   object{},
		"queue_totals": object{
			"messages": msgs, "messages_details": detail(0),
			"messages_ready": ready, "messages_ready_details": detail(0),
			"messages_unacknowledged": unacked, "messages_unacknowledged_details": detail(0),
		},
		"object_totals": object{"channels": len(chans), "connections": len(conns), "consumers": consumers,
			"exchanges": len(exchanges), "queues": queues},
		"statistics_db_event_queue": 0,
		"node":                      h.node(),
		"listeners":                 listeners,
		"contexts":                  []object{},
	}
	writeJSON(w, http.StatusOK, ov)
}

// messageStats is a message_stats object: each counter and its _details rate. key names
// the rate series ("" the overview's).
func (h *Handler) messageStats(key string, c amqp.MessageCounts, overview bool) object {
	rate := h.rates.rate(key)
	m := object{}
	put := func(name string, v int64, f func(amqp.MessageCounts) int64) {
		m[name] = v
		m[name+"_details"] = detail(rate(f))
	}
	put("publish", c.Publish, func(c amqp.MessageCounts) int64 { return c.Publish })
	put("deliver", c.Deliver, func(c amqp.MessageCounts) int64 { return c.Deliver })
	put("deliver_no_ack", c.DeliverNoAck, func(c amqp.MessageCounts) int64 { return c.DeliverNoAck })
	put("get", c.Get, func(c amqp.MessageCounts) int64 { return c.Get })
	put("get_no_ack", c.GetNoAck, func(c amqp.MessageCounts) int64 { return c.GetNoAck })
	put("get_empty", c.GetEmpty, func(c amqp.MessageCounts) int64 { return c.GetEmpty })
	put("deliver_get", deliverGet(c), deliverGet)
	put("ack", c.Ack, func(c amqp.MessageCounts) int64 { return c.Ack })
	put("redeliver", c.Redeliver, func(c amqp.MessageCounts) int64 { return c.Redeliver })
	if overview {
		put("confirm", c.Confirm, func(c amqp.MessageCounts) int64 { return c.Confirm })
		put("return_unroutable", c.ReturnUnroutable, func(c amqp.MessageCounts) int64 { return c.ReturnUnroutable })
		put("drop_unroutable", c.DropUnroutable, func(c amqp.MessageCounts) int64 { return c.DropUnroutable })
		put("disk_reads", 0, func(amqp.MessageCounts) int64 { return 0 })
		put("disk_writes", 0, func(amqp.MessageCounts) int64 { return 0 })
	}
	return m
}

// channelStats is a channel's message_stats as RabbitMQ shows them: the publishing side's
// counters once it published, the consuming side's once it consumed or got.
func (h *Handler) channelStats(ch amqp.ChannelInfo) object {
	key := "c\x00" + ch.Connection + "\x00" + strconv.Itoa(int(ch.Number))
	all := h.messageStats(key, ch.Counts, true)
	c := ch.Counts
	m := object{}
	keep := func(names ...string) {
		for _, n := range names {
			m[n], m[n+"_details"] = all[n], all[n+"_details"]
		}
	}
	if c.Publish+c.Confirm+c.ReturnUnroutable+c.DropUnroutable > 0 {
		keep("publish", "confirm", "return_unroutable", "drop_unroutable")
	}
	if deliverGet(c)+c.GetEmpty+c.Ack+c.Redeliver > 0 {
		keep("deliver", "deliver_no_ack", "get", "get_no_ack", "get_empty", "deliver_get", "ack", "redeliver")
	}
	return m
}

func deliverGet(c amqp.MessageCounts) int64 { return c.Deliver + c.DeliverNoAck + c.Get + c.GetNoAck }

func (h *Handler) vhosts(ctx context.Context, u user, only string) []object {
	var out []object
	for _, v := range h.s.VHosts() {
		if only != "" && v != only || !h.mayVHost(u, v) {
			continue
		}
		var ready, unacked, msgs int64
		for _, q := range h.queueInfos(ctx, u, v, "") {
			ready += q.Ready
			unacked += q.Unacked
			msgs += q.Messages
		}
		desc := ""
		if v == "/" {
			desc = "Default virtual host"
		}
		out = append(out, object{"name": v, "description": desc, "tags": []string{}, "default_queue_type": "undefined",
			"message_stats": h.messageStats("v\x00"+v, h.s.VHostCounts(v), true),
			"metadata":      object{"description": desc, "tags": []string{}}, "tracing": false,
			"cluster_state": object{h.node(): "running"},
			"messages":      msgs, "messages_details": detail(0), "messages_ready": ready, "messages_ready_details": detail(0),
			"messages_unacknowledged": unacked, "messages_unacknowledged_details": detail(0)})
	}
	return out
}

// queueInfos lists the queues the user may see, with counts (one backend call each).
func (h *Handler) queueInfos(ctx context.Context, u user, vhost, name string) []amqp.QueueInfo {
	var out []amqp.QueueInfo
	if vhost != "" && name != "" {
		if q, ok := h.s.Queue(ctx, vhost, name); ok && h.mayQueue(u, vhost, name) {
			out = append(out, q)
		}
		return out
	}
	var names [][2]string
	for _, vn := range h.s.QueueNames(vhost) {
		if h.mayQueue(u, vn[0], vn[1]) {
			names = append(names, vn)
		}
	}
	// Each queue's backlog is a call to the backend (Pulsar's admin API): a few at a time.
	infos := make([]*amqp.QueueInfo, len(names))
	sem := make(chan struct{}, queueLookups)
	var wg sync.WaitGroup
	for i, vn := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if q, ok := h.s.Queue(ctx, vn[0], vn[1]); ok {
				infos[i] = &q
			}
		})
	}
	wg.Wait()
	for _, q := range infos {
		if q != nil {
			out = append(out, *q)
		}
	}
	return out
}

// queueLookups bounds the backend calls one listing makes at once.
const queueLookups = 16

func (h *Handler) queues(r *http.Request, u user, vhost, name string) []object {
	var out []object
	for _, q := range h.queueInfos(r.Context(), u, vhost, name) {
		state := "running"
		o := object{"name": q.Name, "vhost": q.VHost, "durable": q.Durable, "auto_delete": q.AutoDelete, "exclusive": q.Exclusive,
			"arguments": q.Arguments, "node": h.node(), "state": state, "type": "classic", "policy": nil, "operator_policy": nil,
			"effective_policy_definition": object{}, "exclusive_consumer_tag": nil, "single_active_consumer_tag": nil,
			"consumers": q.Consumers, "messages": q.Messages, "messages_details": detail(0),
			"messages_ready": q.Ready, "messages_ready_details": detail(0),
			"messages_unacknowledged": q.Unacked, "messages_unacknowledged_details": detail(0),
			"head_message_timestamp": nil, "recoverable_slaves": nil}
		if (q.Counts != amqp.MessageCounts{}) {
			o["message_stats"] = h.messageStats(queueKey(q.VHost, q.Name), q.Counts, false)
		}
		if name != "" {
			// One queue: its consumers on this gateway, as RabbitMQ details them.
			cd := h.consumers(u, q.VHost, q.Name)
			if cd == nil {
				cd = []object{}
			}
			o["consumer_details"], o["deliveries"], o["incoming"] = cd, []object{}, []object{}
		}
		out = append(out, o)
	}
	return out
}

func queueKey(vhost, name string) string { return "q\x00" + vhost + "\x00" + name }

func (h *Handler) exchanges(u user, vhost string, only *string) []object {
	var out []object
	for _, x := range h.s.Exchanges(vhost) {
		if only != nil && x.Name != *only || !h.mayVHost(u, x.VHost) {
			continue
		}
		o := object{"name": x.Name, "vhost": x.VHost, "type": x.Type, "durable": x.Durable,
			"auto_delete": x.AutoDelete, "internal": x.Internal, "arguments": x.Arguments, "user_who_performed_action": "rmq-internal"}
		if in, pubOut, ok := h.s.ExchangeCounts(x.VHost, x.Name); ok {
			// As RabbitMQ: only exchanges that saw publishes have message_stats.
			key := "x\x00" + x.VHost + "\x00" + x.Name
			rate := h.rates.rate(key)
			o["message_stats"] = object{"publish_in": in, "publish_in_details": detail(rate(func(c amqp.MessageCounts) int64 { return c.Publish })),
				"publish_out": pubOut, "publish_out_details": detail(rate(func(c amqp.MessageCounts) int64 { return c.Deliver }))}
		}
		out = append(out, o)
	}
	return out
}

func (h *Handler) bindings(u user, vhost string) []object {
	var out []object
	for _, b := range h.s.Bindings(vhost) {
		if !h.mayVHost(u, b.VHost) {
			continue
		}
		args := b.Arguments
		if args == nil {
			args = map[string]any{}
		}
		out = append(out, object{"source": b.Source, "vhost": b.VHost, "destination": b.Destination,
			"destination_type": b.DestinationType, "routing_key": b.RoutingKey, "arguments": args,
			"properties_key": propertiesKey(b.RoutingKey, len(args) > 0)})
	}
	return out
}

// propertiesKey is RabbitMQ's binding id in URLs: the routing key escaped, "~" and a hash
// when the binding has arguments (ours: a marker, as the hash is Erlang's).
func propertiesKey(key string, args bool) string {
	k := url.PathEscape(key)
	if key == "" {
		k = "~"
	}
	if args {
		k += "~args"
	}
	return k
}

func hostPort(a net.Addr) (string, int) {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String(), 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

func (h *Handler) visibleConn(u user, c amqp.ConnectionInfo) bool { return u.admin || c.User == u.name }

func (h *Handler) connections(u user, only string) []object {
	var out []object
	for _, c := range h.s.Connections() {
		if only != "" && c.Name != only || !h.visibleConn(u, c) {
			continue
		}
		peerHost, peerPort := hostPort(c.Peer)
		host, port := hostPort(c.Local)
		o := object{"name": c.Name, "node": h.node(), "user": c.User, "user_who_performed_action": c.User,
			"vhost": c.VHost, "peer_host": peerHost, "peer_port": peerPort, "host": host, "port": port,
			"channels": c.Channels, "state": "running", "protocol": "AMQP 0-9-1", "type": "network",
			"auth_mechanism": c.AuthMechanism, "client_properties": c.ClientProperties,
			"connected_at": c.ConnectedAt.UnixMilli(), "frame_max": c.FrameMax, "channel_max": c.ChannelMax,
			"timeout": int(c.Heartbeat / time.Second), "ssl": c.TLS, "ssl_protocol": nil, "ssl_cipher": nil,
			"ssl_hash": nil, "ssl_key_exchange": nil, "peer_cert_issuer": nil, "peer_cert_subject": nil, "peer_cert_validity": nil}
		if n, ok := c.ClientProperties["connection_name"].(string); ok {
			o["user_provided_name"] = n // as RabbitMQ, from the client's connection_name
		}
		out = append(out, o)
	}
	return out
}

func (h *Handler) channels(u user) []object {
	var out []object
	for _, ch := range h.s.Channels() {
		if !u.admin && ch.User != u.name {
			continue
		}
		peerHost, peerPort := hostPort(ch.Peer)
		o := object{"name": ch.Connection + " (" + strconv.Itoa(int(ch.Number)) + ")", "number": ch.Number,
			"node": h.node(), "user": ch.User, "user_who_performed_action": ch.User, "vhost": ch.VHost, "state": "running",
			"connection_details": object{"name": ch.Connection, "peer_host": peerHost, "peer_port": peerPort},
			"consumer_count":     ch.Consumers, "messages_unacknowledged": ch.Unacked, "messages_unconfirmed": 0,
			"messages_uncommitted": 0, "acks_uncommitted": 0, "prefetch_count": ch.Prefetch,
			"global_prefetch_count": ch.GlobalPrefetch, "confirm": ch.Confirm, "transactional": ch.Transactional,
			"pending_raft_commands": 0}
		if ms := h.channelStats(ch); len(ms) > 0 {
			o["message_stats"] = ms
		}
		out = append(out, o)
	}
	return out
}

// consumers lists the basic.consume consumers of this gateway's channels the user may
// see, in vhost ("" every one) and of queue ("" every one).
func (h *Handler) consumers(u user, vhost, queue string) []object {
	var out []object
	for _, ch := range h.s.Channels() {
		if !u.admin && ch.User != u.name || vhost != "" && ch.VHost != vhost {
			continue
		}
		peerHost, peerPort := hostPort(ch.Peer)
		for _, cs := range ch.ConsumerList {
			if queue != "" && cs.Queue != queue {
				continue
			}
			out = append(out, object{"consumer_tag": cs.Tag, "ack_required": cs.AckRequired, "exclusive": cs.Exclusive,
				"prefetch_count": cs.Prefetch, "arguments": cs.Arguments, "active": true, "activity_status": "up",
				"queue": object{"name": cs.Queue, "vhost": ch.VHost},
				"channel_details": object{"connection_name": ch.Connection, "name": ch.Connection + " (" + strconv.Itoa(int(ch.Number)) + ")",
					"node": h.node(), "number": ch.Number, "peer_host": peerHost, "peer_port": peerPort, "user": ch.User}})
		}
	}
	return out
}

// closeConnection is DELETE /api/connections/{name}: connection.close 320 with RabbitMQ's
// reason, the X-Reason header's text or "Closed via management plugin".
func (h *Handler) closeConnection(w http.ResponseWriter, r *http.Request, u user, name string) {
	for _, c := range h.s.Connections() {
		if c.Name != name {
			continue
		}
		if !h.visibleConn(u, c) {
			break
		}
		reason := r.Header.Get("X-Reason")
		if reason == "" {
			reason = "Closed via management plugin"
		}
		if h.s.CloseConnection(name, reason) {
			h.log.Info("connection closed via the management API", zap.String("connection", name), zap.String("by", u.name))
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	notFound(w)
}

// aliveness declares, publishes to and gets from the queue aliveness-test in vhost, as
// RabbitMQ's aliveness test, through an AMQP connection to this gateway.
func (h *Handler) aliveness(w http.ResponseWriter, r *http.Request, u user, vhost string) {
	if !h.mayVHost(u, vhost) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not_authorized", "reason": "Not_Authorized"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	name, pass, _ := r.BasicAuth()
	if err := h.alivenessCheck(ctx, vhost, name, pass); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failed", "reason": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// alarms is /api/health/checks/alarms: 200 ok, or 503 with the raised alarms.
func (h *Handler) alarms(w http.ResponseWriter) {
	raised := h.s.Alarms()
	if len(raised) == 0 {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	sort.Strings(raised)
	alarms := []object{}
	for _, a := range raised {
		alarms = append(alarms, object{"node": h.node(), "resource": a})
	}
	writeJSON(w, http.StatusServiceUnavailable, object{"status": "failed", "reason": "resource alarm(s) in effect in the cluster", "alarms": alarms})
}
