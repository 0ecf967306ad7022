package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// idProp names every message the suite sends: the collector keys deliveries by it.
const idProp = "suite-id"

var instances atomic.Int64

// instance is a client instance name of its own: the Go client shares one connection set per
// client id (ip@instance), so two members of one group in this process need two.
func instance(what string) string {
	return fmt.Sprintf("%s-%d", what, instances.Add(1))
}

func newProducer(e *env, group string, opts ...producer.Option) (rocketmq.Producer, error) {
	opts = append([]producer.Option{
		producer.WithNsResolver(primitive.NewPassthroughResolver(e.namesrv)),
		producer.WithGroupName(group),
		producer.WithInstanceName(instance("p")),
		producer.WithRetry(2),
	}, opts...)
	p, err := rocketmq.NewProducer(opts...)
	if err != nil {
		return nil, err
	}
	return p, p.Start()
}

// outMsg is one message as sent, to compare a delivery with.
type outMsg struct {
	id, topic, tag string
	keys           []string
	body           []byte
	props          map[string]string // user properties, idProp included
	msgID          string            // from the send result (empty for one-way sends)
}

// newOut builds message i of a scenario: a tag, two keys and user properties whose values
// carry what a property codec could get wrong (spaces, '=', ';', non-ASCII).
func newOut(topic, scen string, i int, tag string) *outMsg {
	id := fmt.Sprintf("%s-%d", scen, i)
	return &outMsg{
		id: id, topic: topic, tag: tag,
		keys: []string{"k-" + id, fmt.Sprintf("order-%d", 1000+i)},
		body: []byte(fmt.Sprintf("body of %s: %s", id, strings.Repeat("x", i%7))),
		props: map[string]string{idProp: id, "color": []string{"red", "green", "blue"}[i%3],
			"note": fmt.Sprintf("a=b; c d #%d", i), "unicodé": "grüße ✓"},
	}
}

func (o *outMsg) message() *primitive.Message {
	m := primitive.NewMessage(o.topic, o.body)
	if o.tag != "" {
		m.WithTag(o.tag)
	}
	if len(o.keys) > 0 {
		m.WithKeys(o.keys)
	}
	for k, v := range o.props {
		m.WithProperty(k, v)
	}
	return m
}

// system property names the client or broker sets; everything else on a delivery is the user's.
var systemProps = map[string]bool{}

func init() {
	for _, k := range []string{"KEYS", "TAGS", "WAIT", "DELAY", "RETRY_TOPIC", "REAL_TOPIC", "REAL_QID", "TRAN_MSG", "PGROUP",
		"MIN_OFFSET", "MAX_OFFSET", "BUYER_ID", "ORIGIN_MESSAGE_ID", "TRANSFER_FLAG", "CORRECTION_FLAG", "MQ2_FLAG",
		"RECONSUME_TIME", "MSG_REGION", "TRACE_ON", "UNIQ_KEY", "MAX_RECONSUME_TIMES", "CONSUME_START_TIME",
		"__SHARDINGKEY", "CLUSTER", "DLQ_ORIGIN_TOPIC", "DLQ_ORIGIN_MESSAGE_ID", "INNER_NUM", "INNER_BASE",
		"TIMER_DELIVER_MS", "TIMER_DELAY_SEC", "TIMER_DELAY_MS", "TIMER_OUT_MS", "TIMER_ENQUEUE_MS", "TIMER_DEQUEUE_MS",
		"TIMER_ROLL_TIMES", "TIMER_DEL_UNIQKEY", "__STARTDELIVERTIME", "BATCH_UNIQ_ID", "POP_CK", "1ST_POP_TIME"} {
		systemProps[k] = true
	}
}

// userProps are a delivery's properties less the system ones.
func userProps(all map[string]string) map[string]string {
	u := map[string]string{}
	for k, v := range all {
		if !systemProps[k] {
			u[k] = v
		}
	}
	return u
}

// sameAs lists how a delivery differs from what was sent: body, tag, keys, user properties
// (exactly: none missing, none added), topic, and the client's message id.
func (o *outMsg) sameAs(m *primitive.MessageExt) []string {
	var p []string
	bad := func(what string, got, want any) {
		p = append(p, fmt.Sprintf("%s: %s %q, sent %q", o.id, what, got, want))
	}
	if m.Topic != o.topic {
		bad("topic", m.Topic, o.topic)
	}
	if string(m.Body) != string(o.body) {
		bad("body", m.Body, o.body)
	}
	if m.GetTags() != o.tag {
		bad("tag", m.GetTags(), o.tag)
	}
	if k := strings.Join(o.keys, " "); m.GetKeys() != k {
		bad("keys", m.GetKeys(), k)
	}
	if got := userProps(m.GetProperties()); !sameMap(got, o.props) {
		bad("user properties", fmtMap(got), fmtMap(o.props))
	}
	if o.msgID != "" && m.MsgId != o.msgID {
		bad("msgId", m.MsgId, o.msgID)
	}
	return p
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func fmtMap(m map[string]string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// delivery is one message handed to a consume callback.
type delivery struct {
	at     time.Time
	member string
	msg    *primitive.MessageExt
}

// collector records deliveries by idProp; fail, when set, decides per delivery (n counts that
// id's deliveries from 1) whether the callback reports a failure.
type collector struct {
	mu     sync.Mutex
	seen   map[string][]delivery
	order  []delivery
	notify chan struct{}
	fail   func(id string, n int) bool
	l      *logger
}

func newCollector(l *logger) *collector {
	return &collector{seen: map[string][]delivery{}, notify: make(chan struct{}, 1), l: l}
}

func (c *collector) add(member string, m *primitive.MessageExt) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := m.GetProperty(idProp)
	d := delivery{at: time.Now(), member: member, msg: m}
	c.seen[id] = append(c.seen[id], d)
	c.order = append(c.order, d)
	if c.l != nil && *verbose {
		c.l.Printf("%s got %s topic=%s queue=%d offset=%d reconsume=%d", member, id, m.Topic, m.Queue.QueueId, m.QueueOffset, m.ReconsumeTimes)
	}
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return c.fail != nil && c.fail(id, len(c.seen[id]))
}

// callback is a push consumer's consume function for member.
func (c *collector) callback(member string) func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	return func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		failed := false
		for _, m := range msgs {
			if c.add(member, m) {
				failed = true
			}
		}
		if failed {
			// The smallest delay level (1 s) for the redelivery, instead of 10 s, 30 s, ...
			if cc, ok := primitive.GetConcurrentlyCtx(ctx); ok {
				cc.DelayLevelWhenNextConsume = 1
			}
			return consumer.ConsumeRetryLater, nil
		}
		return consumer.ConsumeSuccess, nil
	}
}

// waitFor waits until cond (called under the lock) holds; false when ctx ended first.
func (c *collector) waitFor(ctx context.Context, cond func() bool) bool {
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-c.notify:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return false
		}
	}
}

// waitIDs waits until every id has been delivered at least once and returns the missing ones.
func (c *collector) waitIDs(ctx context.Context, ids []string) []string {
	var missing []string
	c.waitFor(ctx, func() bool {
		missing = missing[:0]
		for _, id := range ids {
			if len(c.seen[id]) == 0 {
				missing = append(missing, id)
			}
		}
		return len(missing) == 0
	})
	return missing
}

func (c *collector) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen[id])
}

// pushConsumer starts a push consumer of topic for member of group.
func pushConsumer(e *env, group, topic string, sel consumer.MessageSelector, c *collector, member string, opts ...consumer.Option) (rocketmq.PushConsumer, error) {
	return pushConsumerWith(e, group, topic, sel, member, c.callback(member), opts...)
}

// pushConsumerWith starts a push consumer of topic for member of group, consuming with f.
func pushConsumerWith(e *env, group, topic string, sel consumer.MessageSelector, member string,
	f func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error), opts ...consumer.Option) (rocketmq.PushConsumer, error) {
	opts = append([]consumer.Option{
		consumer.WithNsResolver(primitive.NewPassthroughResolver(e.namesrv)),
		consumer.WithGroupName(group),
		consumer.WithInstance(instance(member)),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)
	pc, err := rocketmq.NewPushConsumer(opts...)
	if err != nil {
		return nil, err
	}
	if err := pc.Subscribe(topic, sel, f); err != nil {
		return nil, err
	}
	return pc, pc.Start()
}

var all = consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}

func ids(msgs []*outMsg) []string {
	var s []string
	for _, m := range msgs {
		s = append(s, m.id)
	}
	return s
}

// checkExactlyOnce compares each sent message's deliveries with it: delivered once, same fields.
func checkExactlyOnce(c *collector, sent []*outMsg) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var p []string
	for _, o := range sent {
		ds := c.seen[o.id]
		if len(ds) == 0 {
			p = append(p, o.id+": not delivered")
			continue
		}
		if len(ds) > 1 {
			p = append(p, fmt.Sprintf("%s: delivered %d times", o.id, len(ds)))
		}
		p = append(p, o.sameAs(ds[0].msg)...)
	}
	return p
}

func problems(p []string) error {
	if len(p) == 0 {
		return nil
	}
	if len(p) > 12 {
		p = append(p[:12], fmt.Sprintf("... and %d more", len(p)-12))
	}
	return fmt.Errorf("%s", strings.Join(p, "; "))
}

// queueByProp sends each message to the queue its "suite-q" property names (index into the
// route's queues by id), so a scenario knows where every message went.
type queueByProp struct{}

func (queueByProp) Select(m *primitive.Message, mqs []*primitive.MessageQueue, _ string) *primitive.MessageQueue {
	i, _ := strconv.Atoi(m.GetProperty("suite-q"))
	sorted := append([]*primitive.MessageQueue(nil), mqs...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].QueueId < sorted[b].QueueId })
	return sorted[i%len(sorted)]
}

// keySelector is a MessageQueueSelector by key: hash of the message's first key modulo the
// queues, as users write for ordered messages (RocketMQ's SelectMessageQueueByHash).
type keySelector struct{}

func (keySelector) Select(m *primitive.Message, mqs []*primitive.MessageQueue, _ string) *primitive.MessageQueue {
	key := strings.Fields(m.GetKeys())[0]
	h := 0
	for _, r := range key { // Java's String.hashCode, as the Java scenario's selector
		h = 31*h + int(r)
	}
	h = int(int32(h))
	if h < 0 {
		h = -h
	}
	sorted := append([]*primitive.MessageQueue(nil), mqs...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].QueueId < sorted[b].QueueId })
	return sorted[h%len(sorted)]
}
