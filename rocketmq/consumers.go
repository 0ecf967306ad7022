package rocketmq

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/sqlfilter"
)

// heartbeatData is HeartbeatData's JSON (the parts the gateway uses). codeSet is left out:
// Go sends its hashes as strings, Java as numbers, and the gateway filters by tag string.
type heartbeatData struct {
	ClientID        string `json:"clientID"`
	ConsumerDataSet []struct {
		GroupName           string `json:"groupName"`
		MessageModel        string `json:"messageModel"`
		ConsumeType         string `json:"consumeType"`
		ConsumeFromWhere    string `json:"consumeFromWhere"`
		SubscriptionDataSet []struct {
			Topic          string   `json:"topic"`
			SubString      string   `json:"subString"`
			TagsSet        []string `json:"tagsSet"`
			ExpressionType string   `json:"expressionType"`
		} `json:"subscriptionDataSet"`
	} `json:"consumerDataSet"`
}

func parseHeartbeat(b []byte) (*heartbeatData, error) {
	var hb heartbeatData
	if err := json.Unmarshal(b, &hb); err != nil {
		return nil, err
	}
	return &hb, nil
}

// filter is a subscription's tag filter: nil matches every message.
type filter map[string]bool

// parseFilter reads a TAG expression ("*", "", "TagA || TagB").
func parseFilter(expr string) filter {
	expr = strings.TrimSpace(expr)
	if expr == "" || expr == "*" {
		return nil
	}
	f := filter{}
	for _, t := range strings.Split(expr, "||") {
		if t = strings.TrimSpace(t); t != "" {
			f[t] = true
		}
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

func (f filter) match(tag string) bool { return f == nil || f[tag] }

// Expression types (ExpressionType).
const (
	exprTag   = "TAG"
	exprSQL92 = "SQL92"
)

// subscription is a group's subscription of a topic: a TAG expression filters by tag, a
// SQL92 one by properties (the broker's property filter, enablePropertyFilter=true).
type subscription struct {
	typ  string // exprTag or exprSQL92 (or an unknown type, which filters nothing through)
	expr string
	f    filter          // TAG
	sql  *sqlfilter.Expr // SQL92
	err  error           // SQL92 expression the filter module refuses, or an unknown type
}

// newSubscription reads an expression of a type; an empty type is TAG.
func newSubscription(typ, expr string) subscription {
	if typ == "" || typ == exprTag {
		return subscription{typ: exprTag, expr: expr, f: parseFilter(expr)}
	}
	sub := subscription{typ: typ, expr: expr}
	if typ != exprSQL92 {
		sub.err = errors.New("java.lang.NullPointerException") // FilterFactory has no filter of that type
		return sub
	}
	sub.sql, sub.err = sqlfilter.Parse(expr)
	return sub
}

// match says whether the subscription takes a stored message.
func (s *subscription) match(m *bridge.Message) bool {
	if s.sql != nil {
		return s.sql.Match(func(name string) (string, bool) { return propertyOf(m, name) })
	}
	if s.typ != exprTag {
		return false
	}
	return s.f.match(tagOf(m))
}

// subscriptions keeps, per group and topic, the subscription the group's heartbeats gave:
// pulls without a subscription of their own use it (clients heartbeat and pull on one
// connection, so the gateway they pull from has it).
type subscriptions struct {
	mu sync.Mutex
	m  map[string]map[string]subscription // group → topic → subscription
}

func (s *subscriptions) set(group, topic string, sub subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]map[string]subscription{}
	}
	g := s.m[group]
	if g == nil {
		if len(s.m) > 100000 {
			clear(s.m)
		}
		g = map[string]subscription{}
		s.m[group] = g
	}
	if old, ok := g[topic]; ok && old.typ == sub.typ && old.expr == sub.expr {
		return // heartbeats repeat it every 30 s: parsed once
	}
	g[topic] = sub
}

func (s *subscriptions) get(group, topic string) (subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.m[group][topic]
	return sub, ok
}

// of is a group's subscriptions by topic.
func (s *subscriptions) of(group string) map[string]subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]subscription{}
	for t, sub := range s.m[group] {
		out[t] = sub
	}
	return out
}

// checkClientConfig is CHECK_CLIENT_CONFIG, which the Java client sends for a SQL92
// subscription before it starts: as a broker with enablePropertyFilter=true, the expression
// must compile (ClientManageProcessor.checkClientConfig); the remark is the compile error.
func (c *conn) checkClientConfig(req *remoting.Command) {
	var body struct {
		SubscriptionData *struct {
			SubString      string `json:"subString"`
			ExpressionType string `json:"expressionType"`
		} `json:"subscriptionData"`
	}
	if len(req.Body) > 0 && json.Unmarshal(req.Body, &body) != nil {
		c.errorReply(req, remoting.ResSystemError, "CHECK_CLIENT_CONFIG body is not CheckClientRequestBody")
		return
	}
	if sd := body.SubscriptionData; sd != nil {
		if sub := newSubscription(sd.ExpressionType, sd.SubString); sub.err != nil {
			c.errorReply(req, remoting.ResSubscriptionParseFailed, sub.err.Error())
			return
		}
	}
	c.reply(req, req.NewResponse(remoting.ResSuccess, ""))
}

func (c *conn) heartbeat(req *remoting.Command) {
	hb, err := parseHeartbeat(req.Body)
	if err != nil || hb.ClientID == "" {
		c.errorReply(req, remoting.ResSystemError, "heartbeat body is not HeartbeatData")
		return
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	for _, cd := range hb.ConsumerDataSet {
		if cd.GroupName == "" {
			continue
		}
		for _, sd := range cd.SubscriptionDataSet {
			// A SQL92 expression that does not parse is kept too: the broker registers the
			// subscription without filter data, and pulls get FILTER_DATA_NOT_EXIST.
			c.h.subs.set(cd.GroupName, sd.Topic, newSubscription(sd.ExpressionType, sd.SubString))
		}
		c.mu.Lock()
		if c.clients[hb.ClientID] == nil {
			c.clients[hb.ClientID] = map[string]bool{}
		}
		c.clients[hb.ClientID][cd.GroupName] = true
		c.mu.Unlock()
		if cd.MessageModel == "BROADCASTING" {
			continue // no rebalance: members need not be known
		}
		// As the broker's heartbeat does: the group's retry topic exists from its first
		// member on, so the client's route lookup of it succeeds before any send-back.
		if _, err := c.h.sendTopic(ctx, retryPrefix+cd.GroupName, sendHeader{}); err != nil {
			c.h.log.Warn("heartbeat: retry topic", zap.String("group", cd.GroupName), zap.Error(err))
		}
		info := memberRecord{Addr: c.remote, Lang: req.Language.String(), Ver: req.Version,
			Model: cd.MessageModel, Type: cd.ConsumeType, From: cd.ConsumeFromWhere}
		if err := c.h.members.join(ctx, cd.GroupName, hb.ClientID, info); err != nil {
			c.h.log.Warn("heartbeat: register member", zap.String("group", cd.GroupName), zap.Error(err))
		}
	}
	c.reply(req, req.NewResponse(remoting.ResSuccess, ""))
}

func (c *conn) unregisterClient(req *remoting.Command) {
	client, group := req.ExtFields["clientID"], req.ExtFields["consumerGroup"]
	if client != "" && group != "" {
		ctx, cancel := c.opCtx()
		c.h.members.leave(ctx, group, client)
		cancel()
		c.mu.Lock()
		delete(c.clients[client], group)
		c.mu.Unlock()
	}
	c.reply(req, req.NewResponse(remoting.ResSuccess, ""))
}

// unregisterAll drops the members this connection registered: the broker notices a closed
// channel the same way (the Go client sends no UNREGISTER_CLIENT).
func (c *conn) unregisterAll() {
	c.mu.Lock()
	clients := c.clients
	c.clients = map[string]map[string]bool{}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for client, groups := range clients {
		for g := range groups {
			c.h.members.leave(ctx, g, client)
		}
	}
}

func (c *conn) consumerList(req *remoting.Command) {
	group := req.ExtFields["consumerGroup"]
	ids := c.h.members.list(group)
	if len(ids) == 0 {
		c.errorReply(req, remoting.ResSystemError, "no consumer for this group, "+group)
		return
	}
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body, _ = json.Marshal(map[string][]string{"consumerIdList": ids})
	c.reply(req, res)
}

// hasClientOf says whether a client of this connection is a member of group.
func (c *conn) hasClientOf(group string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, gs := range c.clients {
		if gs[group] {
			return true
		}
	}
	return false
}

// notifyGroup sends NOTIFY_CONSUMER_IDS_CHANGED (oneway) to this gateway's connections with a
// member of group, so their clients rebalance now rather than within 20 s.
func (h *Handler) notifyGroup(group string) {
	h.mu.Lock()
	var targets []*conn
	for c := range h.conns {
		if c.hasClientOf(group) {
			targets = append(targets, c)
		}
	}
	h.mu.Unlock()
	for _, c := range targets {
		cmd := &remoting.Command{Code: remoting.ReqNotifyConsumerIDsChanged, Language: remoting.Java,
			Opaque: c.opaque.Add(1), Flag: remoting.FlagOneway, ExtFields: map[string]string{"consumerGroup": group}}
		go c.write(cmd)
	}
}

// memberTableName is the bridge state table of consumer group members, shared by every
// gateway: key group NUL clientID, value the last heartbeat's time (JSON).
const memberTableName = "rocketmq-members"

// memberTable is the groups' members in the shared state table: a member heartbeats (every
// 30 s) to the gateway it is connected to, which writes its record; every gateway lists a
// group from the table, so rebalancing sees members of all gateways. Records not refreshed
// within the expiry are not listed, and are deleted by whichever gateway notices.
type memberTable struct {
	t        bridge.StateTable
	expiry   time.Duration
	onChange func(group string)
	stop     func()
	done     chan struct{}
	wg       sync.WaitGroup

	mu      sync.Mutex
	known   map[string]map[string]bool // group → members listed, as last seen
	written map[string]time.Time       // key → when this gateway last wrote it
}

type memberRecord struct {
	At    int64  `json:"at"`   // ms of the last heartbeat
	Addr  string `json:"addr"` // the client's address, as the gateway sees it
	Lang  string `json:"lang"`
	Ver   int32  `json:"ver"`
	Model string `json:"model"`
	Type  string `json:"type"`
	From  string `json:"from"`
}

func newMemberTable(t bridge.StateTable, expiry time.Duration, onChange func(string)) *memberTable {
	m := &memberTable{t: t, expiry: expiry, onChange: onChange, done: make(chan struct{}),
		known: map[string]map[string]bool{}, written: map[string]time.Time{}}
	m.stop = t.Watch(func(key string, value []byte) {
		group, client, ok := strings.Cut(key, "\x00")
		if ok {
			go m.seen(group, client, value != nil)
		}
	})
	m.wg.Add(1)
	go m.sweep()
	return m
}

func (m *memberTable) close() {
	m.stop()
	close(m.done)
	m.wg.Wait()
}

// seen records whether client is a member of group and tells onChange when that changed.
func (m *memberTable) seen(group, client string, present bool) {
	m.mu.Lock()
	g := m.known[group]
	was := g[client]
	if present && !was {
		if g == nil {
			g = map[string]bool{}
			m.known[group] = g
		}
		g[client] = true
	} else if !present {
		delete(m.written, group+"\x00"+client) // a record deleted elsewhere is rewritten at the next heartbeat
	}
	if !present && was {
		delete(g, client)
		if len(g) == 0 {
			delete(m.known, group)
		}
	}
	m.mu.Unlock()
	if present != was {
		m.onChange(group)
	}
}

// join records a heartbeat of client in group. The record is rewritten at most every third
// of the expiry, so steady heartbeats cost a write per member every 40 s.
func (m *memberTable) join(ctx context.Context, group, client string, info memberRecord) error {
	key := group + "\x00" + client
	now := time.Now()
	m.mu.Lock()
	last, ok := m.written[key]
	m.mu.Unlock()
	if ok && now.Sub(last) < m.expiry/3 {
		return nil
	}
	info.At = now.UnixMilli()
	v, _ := json.Marshal(info)
	if err := m.t.Put(ctx, key, v); err != nil {
		return err
	}
	m.mu.Lock()
	m.written[key] = now
	m.mu.Unlock()
	m.seen(group, client, true)
	return nil
}

func (m *memberTable) leave(ctx context.Context, group, client string) {
	key := group + "\x00" + client
	m.mu.Lock()
	delete(m.written, key)
	m.mu.Unlock()
	m.t.Delete(ctx, key)
	m.seen(group, client, false)
}

// list is a group's live members, sorted (as the client sorts them).
func (m *memberTable) list(group string) []string {
	var ids []string
	m.each(group, func(id string, _ memberRecord) { ids = append(ids, id) })
	slices.Sort(ids)
	return ids
}

// each calls f for every live member of group, in id order.
func (m *memberTable) each(group string, f func(id string, r memberRecord)) {
	cutoff := time.Now().Add(-m.expiry).UnixMilli()
	m.t.Range(group+"\x00", func(key string, value []byte) bool {
		var r memberRecord
		if json.Unmarshal(value, &r) == nil && r.At >= cutoff {
			f(strings.TrimPrefix(key, group+"\x00"), r)
		}
		return true
	})
}

// sweep deletes expired records (a client gone without a closed connection, or a gateway
// that died with its members' records), so the others rebalance.
func (m *memberTable) sweep() {
	defer m.wg.Done()
	tick := time.NewTicker(min(m.expiry/4, 30*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-tick.C:
		}
		cutoff := time.Now().Add(-m.expiry).UnixMilli()
		var expired []string
		m.t.Range("", func(key string, value []byte) bool {
			var r memberRecord
			if json.Unmarshal(value, &r) != nil || r.At < cutoff {
				expired = append(expired, key)
			}
			return true
		})
		for _, key := range expired {
			group, client, _ := strings.Cut(key, "\x00")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			m.leave(ctx, group, client)
			cancel()
		}
	}
}
