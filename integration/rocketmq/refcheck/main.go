// Command refcheck proves a RocketMQ endpoint with the real Go client (rocketmq-client-go/v2,
// remoting protocol) and prints what it saw; exit status 1 on any mismatch. Scenarios (-scenario):
//
//   - basic (default): N messages with a tag, keys and user properties (and N/2 with another tag
//     that the subscription must not deliver), consumed back by a push consumer in clustering
//     mode subscribed by tag: each arrives once, every field as sent.
//
//   - batch: 4 messages in one SEND_BATCH_MESSAGE arrive at consecutive offsets of one queue,
//     each with its own body, tag, keys and properties.
//
//   - delay: one message with delay level 2 (5 s) and one with a 5.x delivery time (now + 3 s):
//     neither arrives early, both arrive.
//
//   - retry: the consumer fails the first delivery (ConsumeRetryLater), so it comes back through
//     %RETRY%group with reconsumeTimes 1; with max reconsume times 1 a second failure sends it
//     to %DLQ%group, read back by a consumer of that topic.
//
//   - all: all of them in turn.
//
//     go run ./integration/rocketmq/refcheck -namesrv 127.0.0.1:9876 -scenario all
//
// Run against the real RocketMQ from ../rocketmq.sh now; against the gateway's handler later.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const seqProp = "refcheck-seq"

type sent struct {
	seq    int
	tag    string
	keys   string
	body   string
	color  string
	msgID  string
	queue  int
	offset int64
}

func main() {
	ns := flag.String("namesrv", envOr("ROCKETMQ_NAMESRV", "127.0.0.1:9876"), "name server address (host:port; ';' separates several)")
	topic := flag.String("topic", fmt.Sprintf("refcheck-%d", time.Now().UnixNano()), "topic (auto-created by the first send)")
	group := flag.String("group", "", "consumer and producer group (default refcheck-<topic>)")
	n := flag.Int("n", 8, "messages with the subscribed tag")
	tag := flag.String("tag", "TagA", "tag of the messages the consumer subscribes to")
	otherTag := flag.String("other-tag", "TagB", "tag of the N/2 messages that must not be delivered")
	timeout := flag.Duration("timeout", 60*time.Second, "how long to wait for the messages")
	quiet := flag.Bool("quiet", false, "print only the summary")
	scenario := flag.String("scenario", "basic", "basic, batch, delay, retry or all")
	flag.Parse()
	if *group == "" {
		*group = "refcheck-" + *topic
	}
	rlog.SetLogLevel("error")

	scenarios := map[string]func() error{
		"basic": func() error { return run(*ns, *topic, *group, *n, *tag, *otherTag, *timeout, *quiet) },
		"delay": func() error { return runDelay(*ns, *topic+"-delay", *group+"-delay", *timeout) },
		"retry": func() error { return runRetry(*ns, *topic+"-retry", *group+"-retry", *timeout) },
		"batch": func() error { return runBatch(*ns, *topic+"-batch", *group+"-batch", 4, *timeout) },
	}
	names := []string{*scenario}
	if *scenario == "all" {
		names = []string{"basic", "batch", "delay", "retry"}
	}
	for _, name := range names {
		f, ok := scenarios[name]
		if !ok {
			fmt.Fprintln(os.Stderr, "refcheck: unknown scenario", name)
			os.Exit(2)
		}
		if err := f(); err != nil {
			fmt.Fprintf(os.Stderr, "refcheck: %s: FAIL: %v\n", name, err)
			os.Exit(1)
		}
	}
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func run(ns, topic, group string, n int, tag, otherTag string, timeout time.Duration, quiet bool) error {
	addrs := strings.Split(ns, ";")
	p, err := rocketmq.NewProducer(
		producer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		producer.WithGroupName(group+"-producer"),
		producer.WithRetry(2),
	)
	if err != nil {
		return fmt.Errorf("new producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("start producer: %w", err)
	}
	defer p.Shutdown()

	// Interleave: every second subscribed message is followed by one of the other tag, so the
	// tag filter has to skip messages in the middle of a queue, not only at its end.
	want := map[int]sent{}
	var other []sent
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for i := 0; i < n+n/2; i++ {
		s := sent{seq: i, tag: tag, color: []string{"red", "green", "blue"}[i%3]}
		if i%3 == 2 {
			s.tag = otherTag
		}
		s.keys = fmt.Sprintf("key-%d order-%d", i, 1000+i)
		s.body = fmt.Sprintf("refcheck message %d of topic %s", i, topic)
		m := primitive.NewMessage(topic, []byte(s.body))
		m.WithTag(s.tag)
		m.WithKeys([]string{fmt.Sprintf("key-%d", i), fmt.Sprintf("order-%d", 1000+i)})
		m.WithProperty(seqProp, strconv.Itoa(i))
		m.WithProperty("color", s.color)
		res, err := p.SendSync(ctx, m)
		if err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		if res.Status != primitive.SendOK {
			return fmt.Errorf("send %d: status %d", i, res.Status)
		}
		s.msgID, s.queue, s.offset = res.MsgID, res.MessageQueue.QueueId, res.QueueOffset
		if !quiet {
			fmt.Printf("sent     seq=%d tag=%s queue=%d offset=%d msgId=%s offsetMsgId=%s\n",
				i, s.tag, s.queue, s.offset, res.MsgID, res.OffsetMsgID)
		}
		if s.tag == tag {
			want[i] = s
		} else {
			other = append(other, s)
		}
	}

	var mu sync.Mutex
	got := map[int]*primitive.MessageExt{}
	var problems []string
	done := make(chan struct{})
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		consumer.WithGroupName(group),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		return fmt.Errorf("new consumer: %w", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: tag},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				seq, err := strconv.Atoi(m.GetProperty(seqProp))
				if !quiet {
					fmt.Printf("received seq=%s tag=%s keys=%q queue=%d offset=%d msgId=%s reconsume=%d color=%s body=%q\n",
						m.GetProperty(seqProp), m.GetTags(), m.GetKeys(), m.Queue.QueueId, m.QueueOffset,
						m.MsgId, m.ReconsumeTimes, m.GetProperty("color"), m.Body)
				}
				if err != nil {
					problems = append(problems, fmt.Sprintf("message without %s: %v", seqProp, m))
					continue
				}
				if w, ok := want[seq]; !ok {
					problems = append(problems, fmt.Sprintf("seq %d (tag %q) delivered but not subscribed", seq, m.GetTags()))
				} else {
					problems = append(problems, compare(w, m, topic)...)
				}
				got[seq] = m
			}
			if len(got) >= len(want) {
				select {
				case <-done:
				default:
					close(done)
				}
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := c.Start(); err != nil {
		return fmt.Errorf("start consumer: %w", err)
	}
	defer c.Shutdown()

	select {
	case <-done:
		// Give a wrongly delivered other-tag message (they sit between the wanted ones) a
		// moment to show up before judging.
		time.Sleep(2 * time.Second)
	case <-ctx.Done():
	}

	mu.Lock()
	defer mu.Unlock()
	var missing []int
	for seq := range want {
		if _, ok := got[seq]; !ok {
			missing = append(missing, seq)
		}
	}
	sort.Ints(missing)
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("not received within %s: seq %v", timeout, missing))
	}
	fmt.Printf("refcheck: topic=%s group=%s sent=%d (%d tagged %s, %d tagged %s) received=%d problems=%d\n",
		topic, group, len(want)+len(other), len(want), tag, len(other), otherTag, len(got), len(problems))
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	fmt.Println("refcheck: OK")
	return nil
}

// compare checks what a user would: body, tag, keys, user properties, and where it was stored.
func compare(w sent, m *primitive.MessageExt, topic string) []string {
	var p []string
	bad := func(what string, got, want any) {
		p = append(p, fmt.Sprintf("seq %d: %s = %v, sent %v", w.seq, what, got, want))
	}
	if m.Topic != topic {
		bad("topic", m.Topic, topic)
	}
	if string(m.Body) != w.body {
		bad("body", string(m.Body), w.body)
	}
	if m.GetTags() != w.tag {
		bad("tag", m.GetTags(), w.tag)
	}
	if m.GetKeys() != w.keys {
		bad("keys", m.GetKeys(), w.keys)
	}
	if c := m.GetProperty("color"); c != w.color {
		bad("property color", c, w.color)
	}
	if m.Queue == nil || m.Queue.QueueId != w.queue {
		bad("queue", m.Queue, w.queue)
	}
	if m.QueueOffset != w.offset {
		bad("queue offset", m.QueueOffset, w.offset)
	}
	// The producer's msgId (UNIQ_KEY property) is what a consumer sees as MsgId.
	if m.MsgId != w.msgID {
		bad("msgId", m.MsgId, w.msgID)
	}
	if m.ReconsumeTimes != 0 {
		bad("reconsume times", m.ReconsumeTimes, 0)
	}
	return p
}
