package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

const kindProp = "refcheck-kind"

func startProducer(ns, group string) (rocketmq.Producer, error) {
	p, err := rocketmq.NewProducer(
		producer.WithNsResolver(primitive.NewPassthroughResolver(strings.Split(ns, ";"))),
		producer.WithGroupName(group),
		producer.WithRetry(2),
	)
	if err != nil {
		return nil, err
	}
	return p, p.Start()
}

// delivery is one call of the consume callback for one message.
type delivery struct {
	at    time.Time
	topic string
	msg   *primitive.MessageExt
}

// collector records deliveries by the refcheck-kind property and answers with result(kind, n),
// n counting that kind's deliveries from 1.
type collector struct {
	mu     sync.Mutex
	seen   map[string][]delivery
	notify chan struct{}
	result func(kind string, n int) consumer.ConsumeResult
}

func newCollector(result func(string, int) consumer.ConsumeResult) *collector {
	return &collector{seen: map[string][]delivery{}, notify: make(chan struct{}, 100), result: result}
}

func (c *collector) consume(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := consumer.ConsumeSuccess
	for _, m := range msgs {
		k := m.GetProperty(kindProp)
		c.seen[k] = append(c.seen[k], delivery{at: time.Now(), topic: m.Topic, msg: m})
		fmt.Printf("  delivery %d of %s: topic=%s queue=%d offset=%d reconsumeTimes=%d msgId=%s props=%s\n",
			len(c.seen[k]), k, m.Topic, m.Queue.QueueId, m.QueueOffset, m.ReconsumeTimes, m.MsgId, props(m))
		if c.result != nil && c.result(k, len(c.seen[k])) != consumer.ConsumeSuccess {
			res = consumer.ConsumeRetryLater
		}
	}
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return res, nil
}

// waitFor waits until cond (called under the lock) holds or the context ends.
func (c *collector) waitFor(ctx context.Context, cond func(map[string][]delivery) bool) bool {
	for {
		c.mu.Lock()
		ok := cond(c.seen)
		c.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-c.notify:
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return false
		}
	}
}

func props(m *primitive.MessageExt) string {
	var kv []string
	for k, v := range m.GetProperties() {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func startConsumer(ns, group, topic string, c *collector, opts ...consumer.Option) (rocketmq.PushConsumer, error) {
	opts = append([]consumer.Option{
		consumer.WithNsResolver(primitive.NewPassthroughResolver(strings.Split(ns, ";"))),
		consumer.WithGroupName(group),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)
	pc, err := rocketmq.NewPushConsumer(opts...)
	if err != nil {
		return nil, err
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, c.consume); err != nil {
		return nil, err
	}
	return pc, pc.Start()
}

// runDelay: a delay-level message and a delivery-time message arrive, and not early.
func runDelay(ns, topic, group string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p, err := startProducer(ns, group+"-producer")
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer p.Shutdown()
	// Create the topic with a plain message first, so the delayed ones are not the ones that
	// auto-create it.
	first := primitive.NewMessage(topic, []byte("plain"))
	first.WithProperty(kindProp, "plain")
	if _, err := p.SendSync(ctx, first); err != nil {
		return fmt.Errorf("send plain: %w", err)
	}
	sent := map[string]time.Time{}
	ids := map[string]string{}
	level := primitive.NewMessage(topic, []byte("delay level 2 (5s)"))
	level.WithProperty(kindProp, "level2")
	level.WithDelayTimeLevel(2)
	sent["level2"] = time.Now()
	r, err := p.SendSync(ctx, level)
	if err != nil {
		return fmt.Errorf("send level 2: %w", err)
	}
	ids["level2"] = r.MsgID
	fmt.Printf("  sent level2: %s\n", r)
	at := primitive.NewMessage(topic, []byte("delivery time now+3s"))
	at.WithProperty(kindProp, "deliverAt")
	sent["deliverAt"] = time.Now()
	at.WithDelayTimestamp(sent["deliverAt"].Add(3 * time.Second))
	if r, err = p.SendSync(ctx, at); err != nil {
		return fmt.Errorf("send delivery time: %w", err)
	}
	ids["deliverAt"] = r.MsgID
	fmt.Printf("  sent deliverAt: %s\n", r)

	col := newCollector(nil)
	c, err := startConsumer(ns, group, topic, col)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	defer c.Shutdown()
	if !col.waitFor(ctx, func(s map[string][]delivery) bool { return len(s["level2"]) > 0 && len(s["deliverAt"]) > 0 }) {
		return fmt.Errorf("delayed messages not received within %s", timeout)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	var problems []string
	// Level 2 is 5 s after storing; the timer wheel rounds the delivery time down to its 1 s
	// precision (and one tick more when exact), so allow that much earliness.
	for k, min := range map[string]time.Duration{"level2": 4500 * time.Millisecond, "deliverAt": 1900 * time.Millisecond} {
		d := col.seen[k][0]
		after := d.at.Sub(sent[k])
		fmt.Printf("  %s arrived %.1fs after sending\n", k, after.Seconds())
		if after < min {
			problems = append(problems, fmt.Sprintf("%s arrived after %s, expected at least %s", k, after, min))
		}
		if d.topic != topic {
			problems = append(problems, fmt.Sprintf("%s arrived on topic %s", k, d.topic))
		}
		if d.msg.MsgId != ids[k] {
			problems = append(problems, fmt.Sprintf("%s msgId %s, sent %s", k, d.msg.MsgId, ids[k]))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	fmt.Printf("refcheck: delay OK (topic %s)\n", topic)
	return nil
}

// runRetry: "once" fails once and comes back with reconsumeTimes 1; "always" fails twice and
// lands in %DLQ%group (max reconsume times 1).
func runRetry(ns, topic, group string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p, err := startProducer(ns, group+"-producer")
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer p.Shutdown()
	ids := map[string]string{}
	for _, k := range []string{"once", "always"} {
		m := primitive.NewMessage(topic, []byte("retry scenario: "+k))
		m.WithTag("TagR")
		m.WithKeys([]string{"key-" + k})
		m.WithProperty(kindProp, k)
		r, err := p.SendSync(ctx, m)
		if err != nil {
			return fmt.Errorf("send %s: %w", k, err)
		}
		ids[k] = r.MsgID
	}

	col := newCollector(func(kind string, n int) consumer.ConsumeResult {
		if kind == "always" || (kind == "once" && n == 1) {
			return consumer.ConsumeRetryLater
		}
		return consumer.ConsumeSuccess
	})
	c, err := startConsumer(ns, group, topic, col, consumer.WithMaxReconsumeTimes(1))
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	defer c.Shutdown()
	if !col.waitFor(ctx, func(s map[string][]delivery) bool { return len(s["once"]) >= 2 && len(s["always"]) >= 2 }) {
		return fmt.Errorf("retried messages not received twice within %s", timeout)
	}

	var problems []string
	col.mu.Lock()
	for _, k := range []string{"once", "always"} {
		d0, d1 := col.seen[k][0], col.seen[k][1]
		fmt.Printf("  %s: redelivered %.1fs after the first delivery\n", k, d1.at.Sub(d0.at).Seconds())
		if d0.msg.ReconsumeTimes != 0 || d1.msg.ReconsumeTimes != 1 {
			problems = append(problems, fmt.Sprintf("%s: reconsumeTimes %d then %d, expected 0 then 1", k, d0.msg.ReconsumeTimes, d1.msg.ReconsumeTimes))
		}
		if d1.topic != topic || string(d1.msg.Body) != string(d0.msg.Body) || d1.msg.GetTags() != "TagR" || d1.msg.GetKeys() != "key-"+k {
			problems = append(problems, fmt.Sprintf("%s: redelivery differs: topic %s body %q tags %q keys %q", k, d1.topic, d1.msg.Body, d1.msg.GetTags(), d1.msg.GetKeys()))
		}
		if d1.msg.MsgId != ids[k] {
			problems = append(problems, fmt.Sprintf("%s: redelivery msgId %s, sent %s", k, d1.msg.MsgId, ids[k]))
		}
	}
	col.mu.Unlock()

	dlq := "%DLQ%" + group
	dcol := newCollector(nil)
	var dc rocketmq.PushConsumer
	// The DLQ topic exists once the second failure of "always" was sent back; its route may take
	// a moment to reach the name server.
	for {
		dc, err = startConsumer(ns, group+"-dlq-reader", dlq, dcol)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("consumer of %s: %w", dlq, err)
		}
		time.Sleep(time.Second)
	}
	defer dc.Shutdown()
	if !dcol.waitFor(ctx, func(s map[string][]delivery) bool { return len(s["always"]) > 0 }) {
		return fmt.Errorf("message not in %s within %s", dlq, timeout)
	}
	dcol.mu.Lock()
	d := dcol.seen["always"][0]
	if d.msg.MsgId != ids["always"] || string(d.msg.Body) != "retry scenario: always" {
		problems = append(problems, fmt.Sprintf("DLQ message msgId %s body %q, sent %s", d.msg.MsgId, d.msg.Body, ids["always"]))
	}
	if len(dcol.seen["once"]) > 0 {
		problems = append(problems, "the message consumed on its retry is in the DLQ too")
	}
	dcol.mu.Unlock()
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	fmt.Printf("refcheck: retry OK (topic %s, %s)\n", topic, dlq)
	return nil
}

// runBatch: n messages in one SEND_BATCH_MESSAGE arrive on one queue at consecutive offsets from
// the send result's, each with its own body, tag, keys and properties.
func runBatch(ns, topic, group string, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p, err := startProducer(ns, group+"-producer")
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer p.Shutdown()
	var msgs []*primitive.Message
	for i := 0; i < n; i++ {
		m := primitive.NewMessage(topic, []byte(fmt.Sprintf("batch message %d", i)))
		m.WithTag("TagBatch")
		m.WithKeys([]string{fmt.Sprintf("bkey-%d", i)})
		m.WithProperty(kindProp, fmt.Sprintf("batch-%d", i))
		msgs = append(msgs, m)
	}
	r, err := p.SendSync(ctx, msgs...)
	if err != nil {
		return fmt.Errorf("send batch: %w", err)
	}
	fmt.Printf("  sent batch: %s\n", r)

	col := newCollector(nil)
	c, err := startConsumer(ns, group, topic, col)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	defer c.Shutdown()
	if !col.waitFor(ctx, func(s map[string][]delivery) bool {
		for i := 0; i < n; i++ {
			if len(s[fmt.Sprintf("batch-%d", i)]) == 0 {
				return false
			}
		}
		return true
	}) {
		return fmt.Errorf("batch not received within %s", timeout)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	var problems []string
	for i := 0; i < n; i++ {
		m := col.seen[fmt.Sprintf("batch-%d", i)][0].msg
		if string(m.Body) != fmt.Sprintf("batch message %d", i) || m.GetTags() != "TagBatch" || m.GetKeys() != fmt.Sprintf("bkey-%d", i) {
			problems = append(problems, fmt.Sprintf("batch-%d: body %q tags %q keys %q", i, m.Body, m.GetTags(), m.GetKeys()))
		}
		if m.Queue.QueueId != r.MessageQueue.QueueId || m.QueueOffset != r.QueueOffset+int64(i) {
			problems = append(problems, fmt.Sprintf("batch-%d: queue %d offset %d, expected queue %d offset %d",
				i, m.Queue.QueueId, m.QueueOffset, r.MessageQueue.QueueId, r.QueueOffset+int64(i)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	fmt.Printf("refcheck: batch OK (topic %s)\n", topic)
	return nil
}
