package mgmt

// The API's objects, with RabbitMQ's field names and JSON types, from the AMQP server's
// snapshot; the user's view (mgmt.go) filters them.

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
)

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
		o := object{"name": q.Name, "vhost": q.VHost, "durable": q.Durable, "auto_delete": q.AutoDelete, "exclusive": q.Exclusive,
			"arguments": q.Arguments, "node": h.node(), "state": "running", "type": "classic", "policy": nil, "operator_policy": nil,
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
