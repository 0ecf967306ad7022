package rocketmq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// TestGoClientSendAndConsume: rocketmq-client-go's producer sends sync, async, oneway and a
// batch to a new topic (auto-created through TBW102); a clustering push consumer subscribed
// to "TagA || TagB" gets exactly the messages with those tags, with body, tags, keys and
// user properties as sent, and the sync send's msgId.
func TestGoClientSendAndConsume(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic := unique("orders")
		p := newProducer(t, addr)
		ctx := context.Background()

		mk := func(i int, tag string) *primitive.Message {
			m := primitive.NewMessage(topic, []byte(fmt.Sprintf("body-%d", i)))
			if tag != "" {
				m.WithTag(tag)
			}
			m.WithKeys([]string{fmt.Sprintf("key-%d", i)})
			m.WithProperty("seq", fmt.Sprint(i))
			m.WithProperty("color", "blue")
			return m
		}
		res, err := p.SendSync(ctx, mk(0, "TagA"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != primitive.SendOK || res.MsgID == "" || res.OffsetMsgID == "" {
			t.Fatalf("sync send result %+v", res)
		}
		syncID := res.MsgID
		var wg sync.WaitGroup
		wg.Add(1)
		var asyncErr error
		err = p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
			asyncErr = err
			wg.Done()
		}, mk(1, "TagB"))
		if err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if asyncErr != nil {
			t.Fatal(asyncErr)
		}
		if err := p.SendOneWay(ctx, mk(2, "TagA")); err != nil {
			t.Fatal(err)
		}
		if _, err := p.SendSync(ctx, mk(3, "TagC")); err != nil { // filtered out
			t.Fatal(err)
		}
		if _, err := p.SendSync(ctx, mk(4, "")); err != nil { // no tag: filtered out
			t.Fatal(err)
		}
		batch := []*primitive.Message{mk(5, "TagA"), mk(6, "TagB"), mk(7, "TagA")}
		bres, err := p.SendSync(ctx, batch...)
		if err != nil {
			t.Fatal(err)
		}
		if bres.Status != primitive.SendOK || len(strings.Split(bres.OffsetMsgID, ",")) != 3 {
			t.Fatalf("batch send result %+v", bres)
		}

		r, _ := pushConsumer(t, addr, unique("cg"), unique("c"), topic, "TagA || TagB", nil)
		got := r.waitFor(t, 6, 60*time.Second)
		time.Sleep(time.Second) // nothing more may come
		got = r.all()
		var seqs []string
		for _, m := range got {
			seq := m.GetProperty("seq")
			seqs = append(seqs, seq)
			if string(m.Body) != "body-"+seq || m.GetKeys() != "key-"+seq || m.GetProperty("color") != "blue" {
				t.Errorf("message %s: body %q keys %q color %q", seq, m.Body, m.GetKeys(), m.GetProperty("color"))
			}
			want := map[string]string{"0": "TagA", "1": "TagB", "2": "TagA", "5": "TagA", "6": "TagB", "7": "TagA"}[seq]
			if m.GetTags() != want {
				t.Errorf("message %s: tag %q, want %q", seq, m.GetTags(), want)
			}
			if m.Topic != topic {
				t.Errorf("message %s: topic %q", seq, m.Topic)
			}
			if seq == "0" && m.MsgId != syncID {
				t.Errorf("message 0: msgId %s, the producer was told %s", m.MsgId, syncID)
			}
		}
		slices.Sort(seqs)
		if !slices.Equal(seqs, []string{"0", "1", "2", "5", "6", "7"}) {
			t.Errorf("received %v, want 0 1 2 5 6 7 once each", seqs)
		}
	})
}

// sendN sends n messages with property seq from..from+n-1, round robin over the queues.
func sendN(t *testing.T, addr, topic string, from, n int) {
	t.Helper()
	p := newProducer(t, addr)
	for i := from; i < from+n; i++ {
		m := primitive.NewMessage(topic, []byte(fmt.Sprint(i)))
		m.WithTag("T")
		m.WithProperty("seq", fmt.Sprint(i))
		if _, err := p.SendSync(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
}

func seqsOf(ms []*gotMsg) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.GetProperty("seq"))
	}
	slices.Sort(s)
	return s
}

// TestGoClientGroupSplitsQueues: two push consumers of one group split the topic's 4 queues
// (each gets messages of its own queues only, together everything once), as the client's
// rebalance does with the member list the gateway keeps.
func TestGoClientGroupSplitsQueues(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		groupSplits(t, b, addr, addr)
	})
}

// TestGoClientGroupAcrossGateways: the same with the two consumers on two gateways of one
// backend: each gateway lists the members of both (shared state) and tells its own member
// when the other joins, so they split the queues instead of both taking all.
func TestGoClientGroupAcrossGateways(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr1, _ := serve(t, b, nil)
		addr2, _ := serve(t, b, nil)
		groupSplits(t, b, addr1, addr2)
	})
}

func groupSplits(t *testing.T, b bridge.Backend, addr1, addr2 string) {
	topic, group := unique("split"), unique("cg")
	sendN(t, addr1, topic, 0, 1) // creates the topic (4 queues)
	r1, _ := pushConsumer(t, addr1, group, unique("c1"), topic, "*", nil)
	r2, _ := pushConsumer(t, addr2, group, unique("c2"), topic, "*", nil)
	// Both members known: after a rebalance each owns 2 queues.
	deadline := time.Now().Add(40 * time.Second)
	for len(mustHandlerMembers(t, b, group)) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // the NOTIFY-triggered rebalance settles
	base1, base2 := r1.count(), r2.count()
	sendN(t, addr1, topic, 1, 40)
	deadline = time.Now().Add(60 * time.Second)
	for r1.count()+r2.count() < 41 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	all := append(r1.all(), r2.all()...)
	if got := seqsOf(all); len(got) != 41 || len(slices.Compact(got)) != 41 {
		t.Fatalf("the group got %d messages (%d distinct), want 41 once each", len(got), len(slices.Compact(got)))
	}
	queues := func(ms []*gotMsg) map[int]bool {
		q := map[int]bool{}
		for _, m := range ms {
			q[m.Queue.QueueId] = true
		}
		return q
	}
	q1, q2 := queues(r1.all()[base1:]), queues(r2.all()[base2:])
	if len(q1) == 0 || len(q2) == 0 {
		t.Fatalf("one consumer got nothing after both joined: queues %v and %v", q1, q2)
	}
	for q := range q1 {
		if q2[q] {
			t.Errorf("queue %d went to both consumers (%v, %v)", q, q1, q2)
		}
	}
}

func mustHandlerMembers(t *testing.T, b bridge.Backend, group string) []string {
	t.Helper()
	st, err := b.State(context.Background(), memberTableName)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	st.Range(group+"\x00", func(k string, _ []byte) bool { ids = append(ids, k); return true })
	return ids
}

// TestGoClientOffsetsSurviveRestart: a consumer of a group consumes and shuts down (which
// commits its offsets); a second consumer of the group, on another gateway of the same
// backend, gets only what was sent after.
func TestGoClientOffsetsSurviveRestart(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic, group := unique("restart"), unique("cg")
		sendN(t, addr, topic, 0, 10)
		r1, stop1 := pushConsumer(t, addr, group, unique("c1"), topic, "*", nil)
		r1.waitFor(t, 10, 60*time.Second)
		time.Sleep(500 * time.Millisecond)
		stop1()
		sendN(t, addr, topic, 10, 5)
		addr2, _ := serve(t, b, nil) // another gateway: offsets are in shared state
		r2, _ := pushConsumer(t, addr2, group, unique("c2"), topic, "*", nil)
		got := r2.waitFor(t, 5, 60*time.Second)
		time.Sleep(2 * time.Second)
		got = r2.all()
		if s := seqsOf(got); !slices.Equal(s, []string{"10", "11", "12", "13", "14"}) {
			t.Fatalf("the restarted group got %v, want 10..14 only", s)
		}
		// The offsets are mirrored onto the Pulsar subscription rocketmq-<group>, so Pulsar's
		// tools show the group's backlog: none once all is consumed and committed.
		deadline := time.Now().Add(30 * time.Second)
		for {
			subs, err := b.Admin().Subscriptions(context.Background(), "persistent://public/default/"+topic)
			if err != nil {
				t.Fatal(err)
			}
			var found *bridge.SubscriptionInfo
			for i := range subs {
				if subs[i].Name == "rocketmq-"+group {
					found = &subs[i]
				}
			}
			if found != nil && found.Durable && found.Backlog == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("subscription rocketmq-%s: %+v (of %+v), want durable with no backlog", group, found, subs)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// TestGoClientToBridgeReader: what a RocketMQ producer sent is, for a native reader of the
// backend (as Kafka, MQTT, AMQP and Pulsar consumers read it), the body as sent, the user
// properties as they are, tags and keys under rocketmq. and keys as the message key, in the
// queue's partition at the index the producer was told.
func TestGoClientToBridgeReader(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic := unique("cross")
		p := newProducer(t, addr)
		m := primitive.NewMessage(topic, []byte("hello from rocketmq"))
		m.WithTag("TagX")
		m.WithKeys([]string{"k1", "k2"})
		m.WithProperty("color", "red")
		res, err := p.SendSync(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		part := bridge.PartitionName("persistent://public/default/"+topic, res.MessageQueue.QueueId)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: part, Start: bridge.StartAtIndex(res.QueueOffset)})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Value) != "hello from rocketmq" || got.Index != res.QueueOffset {
			t.Errorf("value %q index %d, want the body at %d", got.Value, got.Index, res.QueueOffset)
		}
		if got.Properties["color"] != "red" || got.Properties["rocketmq.TAGS"] != "TagX" ||
			got.Properties["rocketmq.KEYS"] != "k1 k2" || got.Properties["rocketmq.UNIQ_KEY"] != res.MsgID {
			t.Errorf("properties %v", got.Properties)
		}
		if string(got.Key) != "k1 k2" {
			t.Errorf("key %q, want the keys", got.Key)
		}
		if got.EventTime.IsZero() {
			t.Error("no event time: the born timestamp is lost")
		}
	})
}

// TestBridgeProducerToGoClient: a message another protocol wrote (a native producer with a
// key and properties) reaches a RocketMQ consumer with its body, its key as KEYS and its
// properties as user properties.
func TestBridgeProducerToGoClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic := unique("native")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		full := "persistent://public/default/" + topic
		if err := b.Admin().CreateTopic(ctx, full, 2); err != nil {
			t.Fatal(err)
		}
		pr, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: bridge.PartitionName(full, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		if _, err := pr.Send(ctx, &bridge.OutMessage{Key: []byte("kafka-key"), Value: []byte("from elsewhere"),
			Properties: map[string]string{"trace": "abc"}}); err != nil {
			t.Fatal(err)
		}
		r, _ := pushConsumer(t, addr, unique("cg"), unique("c"), topic, "*", nil)
		got := r.waitFor(t, 1, 60*time.Second)[0]
		if string(got.Body) != "from elsewhere" || got.GetKeys() != "kafka-key" || got.GetProperty("trace") != "abc" || got.Queue.QueueId != 1 {
			t.Errorf("got body %q keys %q trace %q queue %d", got.Body, got.GetKeys(), got.GetProperty("trace"), got.Queue.QueueId)
		}
	})
}

// TestGoClientRetryAndDLQ: a message whose consume fails is sent back by the client
// (CONSUMER_SEND_MSG_BACK), redelivered from %RETRY%group after its delay level with
// reconsumeTimes 1 and its msgId and topic unchanged; failing again past
// maxReconsumeTimes (1) it lands on %DLQ%group, where a consumer of that topic reads it.
func TestGoClientRetryAndDLQ(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, h := serve(t, b, nil)
		topic, group := unique("retry"), unique("cg")
		p := newProducer(t, addr)
		m := primitive.NewMessage(topic, []byte("fail me"))
		m.WithTag("A")
		m.WithProperty("color", "green")
		res, err := p.SendSync(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		type delivery struct {
			at        time.Time
			reconsume int32
			msgID     string
			topic     string
		}
		var mu sync.Mutex
		var deliveries []delivery
		c, err := rocketmq.NewPushConsumer(consumer.WithNameServer([]string{addr}), consumer.WithGroupName(group),
			consumer.WithInstance(unique("c")), consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
			consumer.WithMaxReconsumeTimes(1))
		if err != nil {
			t.Fatal(err)
		}
		err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
			func(ctx context.Context, ms ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
				mu.Lock()
				for _, m := range ms {
					deliveries = append(deliveries, delivery{time.Now(), m.ReconsumeTimes, m.MsgId, m.Topic})
				}
				mu.Unlock()
				if cc, ok := primitive.GetConcurrentlyCtx(ctx); ok {
					cc.DelayLevelWhenNextConsume = 2 // 5 s
				}
				return consumer.ConsumeRetryLater, nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer c.Shutdown()
		deadline := time.Now().Add(90 * time.Second)
		for {
			mu.Lock()
			n := len(deliveries)
			mu.Unlock()
			if n >= 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		mu.Lock()
		ds := append([]delivery(nil), deliveries...)
		mu.Unlock()
		if len(ds) < 2 {
			t.Fatalf("%d deliveries, want the first and a redelivery", len(ds))
		}
		if ds[0].reconsume != 0 || ds[1].reconsume != 1 || ds[1].msgID != res.MsgID || ds[1].topic != topic {
			t.Errorf("deliveries %+v, want reconsume 0 then 1 with msgId %s on %s", ds, res.MsgID, topic)
		}
		t.Logf("redelivered after %v", ds[1].at.Sub(ds[0].at))
		if gap := ds[1].at.Sub(ds[0].at); gap < 4*time.Second {
			t.Errorf("redelivered after %v, before the 5 s of delay level 2", gap)
		}
		// The client sends the second failure back after its handler returned: the DLQ
		// exists from then on (as on the real broker, a consumer of it cannot start before).
		for {
			_, err := h.admin.Topic(context.Background(), h.pulsarTopic("%DLQ%"+group))
			if err == nil {
				break
			}
			if !errors.Is(err, bridge.ErrTopicNotFound) || time.Now().After(deadline) {
				t.Fatalf("no DLQ topic: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		r, _ := pushConsumer(t, addr, unique("dlqreader"), unique("d"), "%DLQ%"+group, "*", nil)
		got := r.waitFor(t, 1, 60*time.Second)[0]
		if string(got.Body) != "fail me" || got.GetProperty("color") != "green" || got.ReconsumeTimes != 2 {
			t.Errorf("DLQ message body %q color %q reconsume %d", got.Body, got.GetProperty("color"), got.ReconsumeTimes)
		}
	})
}

// TestGoClientBroadcasting: two consumers of one group in broadcasting mode each get every
// message (no rebalance: each takes all queues).
func TestGoClientBroadcasting(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic, group := unique("bcast"), unique("bg")
		sendN(t, addr, topic, 0, 8)
		r1, _ := pushConsumer(t, addr, group, unique("c1"), topic, "*", nil, consumer.WithConsumerModel(consumer.BroadCasting))
		r2, _ := pushConsumer(t, addr, group, unique("c2"), topic, "*", nil, consumer.WithConsumerModel(consumer.BroadCasting))
		want := []string{"0", "1", "2", "3", "4", "5", "6", "7"}
		if got := seqsOf(r1.waitFor(t, 8, 60*time.Second)); !slices.Equal(got, want) {
			t.Errorf("first consumer got %v", got)
		}
		if got := seqsOf(r2.waitFor(t, 8, 60*time.Second)); !slices.Equal(got, want) {
			t.Errorf("second consumer got %v", got)
		}
	})
}

// TestGoClientDelayLevel: a message sent with delay level 2 (5 s) reaches a consumer that is
// already waiting no sooner than 5 s after it was sent; a transactional half message is
// refused (the gateway has no transaction service) rather than delivered before its commit.
func TestGoClientDelayLevel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic := unique("delay")
		sendN(t, addr, topic, 0, 1)
		r, _ := pushConsumer(t, addr, unique("dg"), unique("c"), topic, "*", nil)
		r.waitFor(t, 1, 60*time.Second)
		p := newProducer(t, addr)
		m := primitive.NewMessage(topic, []byte("later"))
		m.WithDelayTimeLevel(2)
		sent := time.Now()
		if _, err := p.SendSync(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		r.waitFor(t, 2, 60*time.Second)
		if d := time.Since(sent); d < 4900*time.Millisecond || d > 15*time.Second {
			t.Errorf("delivered %v after sending, want about 5 s", d)
		}

		half := primitive.NewMessage(topic, []byte("half"))
		half.WithProperty(primitive.PropertyTransactionPrepared, "true")
		if _, err := p.SendSync(context.Background(), half); err == nil {
			t.Error("a transactional half message was accepted")
		}
	})
}

// TestGoClientPullConsumer: rocketmq-client-go's pull consumer (Subscribe, Poll, ACK) with a
// tag subscription gets the matching messages.
func TestGoClientPullConsumer(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic := unique("lite")
		p := newProducer(t, addr)
		for i := 0; i < 10; i++ {
			m := primitive.NewMessage(topic, []byte(fmt.Sprint(i)))
			m.WithTag([]string{"Even", "Odd"}[i%2])
			m.WithProperty("seq", fmt.Sprint(i))
			if _, err := p.SendSync(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		c, err := rocketmq.NewPullConsumer(consumer.WithNameServer([]string{addr}), consumer.WithGroupName(unique("pullg")),
			consumer.WithInstance(unique("c")), consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "Even"}); err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer c.Shutdown()
		var got []string
		deadline := time.Now().Add(60 * time.Second)
		for len(got) < 5 && time.Now().Before(deadline) {
			cr, err := c.Poll(context.Background(), time.Second)
			if err != nil || cr == nil {
				continue
			}
			for _, m := range cr.GetMsgList() {
				got = append(got, m.GetProperty("seq"))
			}
			c.ACK(context.Background(), cr, consumer.ConsumeSuccess)
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"0", "2", "4", "6", "8"}) {
			t.Fatalf("pulled %v, want the even ones", got)
		}
	})
}
