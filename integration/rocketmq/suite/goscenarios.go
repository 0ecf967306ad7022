package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

func goScenarios() []scenario {
	return []scenario{
		{name: "go/send-modes", run: goSendModes},
		{name: "go/batch", run: goBatch},
		{name: "go/tag-expression", run: goTags},
		{name: "go/ordered", run: goOrdered},
		{name: "go/rebalance", run: goRebalance},
		{name: "go/offsets-restart", run: goOffsetsRestart},
		{name: "go/broadcast", run: goBroadcast},
		{name: "go/pull-seek", run: goPull},
		{name: "go/delay", run: goDelay},
		{name: "go/retry-dlq", run: goRetryDLQ},
		{name: "go/sql92", run: goSQL92},
	}
}

// names gives a scenario its topic and group: unique per run (the broker keeps state).
func names(e *env, scen string) (topic, group string) {
	t := e.prefix + "-" + scen
	return t, t + "-g"
}

// sendSync sends o and records its msgId.
func sendSync(ctx context.Context, p interface {
	SendSync(context.Context, ...*primitive.Message) (*primitive.SendResult, error)
}, o *outMsg) (*primitive.SendResult, error) {
	r, err := p.SendSync(ctx, o.message())
	if err != nil {
		return nil, fmt.Errorf("send %s: %w", o.id, err)
	}
	if r.Status != primitive.SendOK {
		return nil, fmt.Errorf("send %s: status %d", o.id, r.Status)
	}
	o.msgID = r.MsgID
	return r, nil
}

// goSendModes: three sync, three async and three one-way sends, all delivered once to a
// clustering push consumer with body, tag, keys, user properties and msgId as sent.
func goSendModes(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-modes")
	p, err := newProducer(e, group+"-p")
	if err != nil {
		return err
	}
	defer p.Shutdown()
	var sent []*outMsg
	for i := 0; i < 3; i++ {
		o := newOut(topic, "sync", i, "TagS")
		if _, err := sendSync(ctx, p, o); err != nil {
			return err
		}
		sent = append(sent, o)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var asyncErr []string
	for i := 0; i < 3; i++ {
		o := newOut(topic, "async", i, "TagA")
		sent = append(sent, o)
		wg.Add(1)
		err := p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				asyncErr = append(asyncErr, fmt.Sprintf("%s: %v", o.id, err))
			case r.Status != primitive.SendOK:
				asyncErr = append(asyncErr, fmt.Sprintf("%s: status %d", o.id, r.Status))
			default:
				o.msgID = r.MsgID
			}
		}, o.message())
		if err != nil {
			wg.Done()
			return fmt.Errorf("send async %s: %w", o.id, err)
		}
	}
	wg.Wait()
	if len(asyncErr) > 0 {
		return problems(asyncErr)
	}
	for i := 0; i < 3; i++ {
		o := newOut(topic, "oneway", i, "TagO")
		if err := p.SendOneWay(ctx, o.message()); err != nil {
			return fmt.Errorf("send one-way %s: %w", o.id, err)
		}
		sent = append(sent, o)
	}
	c := newCollector(l)
	pc, err := pushConsumer(e, group, topic, all, c, "c")
	if err != nil {
		return err
	}
	defer pc.Shutdown()
	if missing := c.waitIDs(ctx, ids(sent)); len(missing) > 0 {
		return fmt.Errorf("not delivered: %v", missing)
	}
	time.Sleep(time.Second) // a duplicate would show up meanwhile
	return problems(checkExactlyOnce(c, sent))
}

// goBatch: a batch of 5 lands on one queue at consecutive offsets from the send result's, each
// message with its own fields.
func goBatch(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-batch")
	p, err := newProducer(e, group+"-p")
	if err != nil {
		return err
	}
	defer p.Shutdown()
	var sent []*outMsg
	var msgs []*primitive.Message
	for i := 0; i < 5; i++ {
		o := newOut(topic, "batch", i, "TagBatch")
		sent = append(sent, o)
		msgs = append(msgs, o.message())
	}
	r, err := p.SendSync(ctx, msgs...)
	if err != nil {
		return fmt.Errorf("send batch: %w", err)
	}
	if r.Status != primitive.SendOK {
		return fmt.Errorf("send batch: status %d", r.Status)
	}
	l.Printf("batch sent to queue %d from offset %d", r.MessageQueue.QueueId, r.QueueOffset)
	c := newCollector(l)
	pc, err := pushConsumer(e, group, topic, all, c, "c")
	if err != nil {
		return err
	}
	defer pc.Shutdown()
	if missing := c.waitIDs(ctx, ids(sent)); len(missing) > 0 {
		return fmt.Errorf("not delivered: %v", missing)
	}
	// The Go client sets no msgId (UNIQ_KEY) on batched messages: the consumer sees the offset
	// msgId, so msgIds are not compared here.
	pr := checkExactlyOnce(c, sent)
	c.mu.Lock()
	for i, o := range sent {
		m := c.seen[o.id][0].msg
		if m.Queue.QueueId != r.MessageQueue.QueueId || m.QueueOffset != r.QueueOffset+int64(i) {
			pr = append(pr, fmt.Sprintf("%s at queue %d offset %d, expected queue %d offset %d", o.id, m.Queue.QueueId, m.QueueOffset,
				r.MessageQueue.QueueId, r.QueueOffset+int64(i)))
		}
	}
	c.mu.Unlock()
	return problems(pr)
}

// goTags: TagA, TagB and TagC messages interleaved; a consumer subscribed with
// `TagA || TagB` gets exactly the A and B ones.
func goTags(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-tags")
	p, err := newProducer(e, group+"-p")
	if err != nil {
		return err
	}
	defer p.Shutdown()
	var want []*outMsg
	var other []string
	for i := 0; i < 12; i++ {
		o := newOut(topic, "tags", i, []string{"TagA", "TagB", "TagC"}[i%3])
		if _, err := sendSync(ctx, p, o); err != nil {
			return err
		}
		if o.tag == "TagC" {
			other = append(other, o.id)
		} else {
			want = append(want, o)
		}
	}
	c := newCollector(l)
	pc, err := pushConsumer(e, group, topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "TagA || TagB"}, c, "c")
	if err != nil {
		return err
	}
	defer pc.Shutdown()
	if missing := c.waitIDs(ctx, ids(want)); len(missing) > 0 {
		return fmt.Errorf("not delivered: %v", missing)
	}
	time.Sleep(time.Second)
	pr := checkExactlyOnce(c, want)
	for _, id := range other {
		if n := c.count(id); n > 0 {
			pr = append(pr, id+" (TagC) delivered")
		}
	}
	return problems(pr)
}

// goOrdered: 4 keys x 8 messages sent with a selector by key; an orderly consumer sees each
// key's messages in sending order, all from one queue.
func goOrdered(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-ordered")
	p, err := newProducer(e, group+"-p", producer.WithQueueSelector(keySelector{}))
	if err != nil {
		return err
	}
	defer p.Shutdown()
	var sent []*outMsg
	keys := []string{"order-A", "order-B", "order-C", "order-D"}
	for i := 0; i < 8; i++ {
		for _, k := range keys {
			o := newOut(topic, k, i, "TagOrder")
			o.keys = []string{k}
			o.props["seq"] = strconv.Itoa(i)
			if _, err := sendSync(ctx, p, o); err != nil {
				return err
			}
			sent = append(sent, o)
		}
	}
	c := newCollector(l)
	pc, err := pushConsumer(e, group, topic, all, c, "c", consumer.WithConsumerOrder(true))
	if err != nil {
		return err
	}
	defer pc.Shutdown()
	if missing := c.waitIDs(ctx, ids(sent)); len(missing) > 0 {
		return fmt.Errorf("not delivered: %v", missing)
	}
	pr := checkExactlyOnce(c, sent)
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[string]int{}
	queue := map[string]int{}
	for _, d := range c.order {
		k := d.msg.GetKeys()
		seq, _ := strconv.Atoi(d.msg.GetProperty("seq"))
		if seq != next[k] {
			pr = append(pr, fmt.Sprintf("key %s: seq %d received when %d was next", k, seq, next[k]))
		}
		next[k] = seq + 1
		if q, ok := queue[k]; ok && q != d.msg.Queue.QueueId {
			pr = append(pr, fmt.Sprintf("key %s on queues %d and %d", k, q, d.msg.Queue.QueueId))
		}
		queue[k] = d.msg.Queue.QueueId
	}
	l.Printf("keys on queues %v", queue)
	return problems(pr)
}

// goRebalance: two members of one group split the topic's queues (each gets some, none gets a
// queue the other has); when one leaves, the survivor gets them all. Nothing is lost;
// duplicates (messages a leaving member had not committed) are allowed, counted and reported.
// Member b is a process of its own (this program in -member mode) and leaves by being killed:
// the Go client's Shutdown can leave a connection behind that keeps it registered at the
// broker for its 120 s channel expiry (seen in go/retry-dlq), a crash cannot; the Java
// scenario covers a graceful leave.
func goRebalance(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-rebalance")
	p, err := newProducer(e, group+"-p", producer.WithQueueSelector(queueByProp{}))
	if err != nil {
		return err
	}
	defer p.Shutdown()
	// Create the topic first, so both members find its route when they start.
	seed := newOut(topic, "seed", 0, "")
	if _, err := sendSync(ctx, p, seed); err != nil {
		return err
	}
	var sent []*outMsg
	round := 0
	// sendRound puts two messages on each of the 4 queues and waits for them; it returns which
	// members got which queues in this round.
	sendRound := func(c *collector) (map[int]map[string]bool, error) {
		round++
		var rs []*outMsg
		for i := 0; i < 8; i++ {
			o := newOut(topic, fmt.Sprintf("r%d", round), i, "")
			o.props["suite-q"] = strconv.Itoa(i % 4)
			if _, err := sendSync(ctx, p, o); err != nil {
				return nil, err
			}
			rs = append(rs, o)
		}
		sent = append(sent, rs...)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c.waitIDs(wctx, ids(rs))
		c.mu.Lock()
		defer c.mu.Unlock()
		owners := map[int]map[string]bool{}
		for _, o := range rs {
			for _, d := range c.seen[o.id] {
				if owners[d.msg.Queue.QueueId] == nil {
					owners[d.msg.Queue.QueueId] = map[string]bool{}
				}
				owners[d.msg.Queue.QueueId][d.member] = true
			}
		}
		return owners, nil
	}
	c := newCollector(l)
	a, err := pushConsumer(e, group, topic, all, c, "a")
	if err != nil {
		return err
	}
	defer a.Shutdown()
	b, err := startMember(e, group, topic, c, "b")
	if err != nil {
		return err
	}
	defer b.kill()
	split := func(owners map[int]map[string]bool) bool {
		members := map[string]int{}
		for q := 0; q < 4; q++ {
			if len(owners[q]) != 1 {
				return false
			}
			for m := range owners[q] {
				members[m]++
			}
		}
		return members["a"] > 0 && members["b"] > 0
	}
	var owners map[int]map[string]bool
	for owners == nil || !split(owners) {
		if ctx.Err() != nil {
			return fmt.Errorf("the two members never split the queues (last round: %v)", owners)
		}
		time.Sleep(500 * time.Millisecond)
		if owners, err = sendRound(c); err != nil {
			return err
		}
	}
	l.Printf("round %d: queues split %v", round, owners)
	b.kill()
	alone := func(owners map[int]map[string]bool) bool {
		for q := 0; q < 4; q++ {
			if len(owners[q]) != 1 || !owners[q]["a"] {
				return false
			}
		}
		return true
	}
	for owners = nil; owners == nil || !alone(owners); {
		if ctx.Err() != nil {
			return fmt.Errorf("the queues did not move to the survivor (last round: %v)", owners)
		}
		time.Sleep(500 * time.Millisecond)
		if owners, err = sendRound(c); err != nil {
			return err
		}
	}
	l.Printf("round %d: survivor has %v", round, owners)
	if missing := c.waitIDs(ctx, ids(sent)); len(missing) > 0 {
		return fmt.Errorf("lost: %v", missing)
	}
	dups := 0
	c.mu.Lock()
	var pr []string
	for _, o := range sent {
		dups += len(c.seen[o.id]) - 1
		pr = append(pr, o.sameAs(c.seen[o.id][0].msg)...)
	}
	c.mu.Unlock()
	l.Printf("%d messages in %d rounds, none lost, %d duplicates", len(sent), round, dups)
	reportNote(l, fmt.Sprintf("%d sent, none lost, %d duplicates", len(sent), dups))
	return problems(pr)
}

// goOffsetsRestart: a member consumes 6 messages and shuts down (committing its offsets); a
// new member of the group then gets only the 6 sent meanwhile, none of the first again.
func goOffsetsRestart(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-offsets")
	p, err := newProducer(e, group+"-p")
	if err != nil {
		return err
	}
	defer p.Shutdown()
	var first, second []*outMsg
	for i := 0; i < 6; i++ {
		o := newOut(topic, "before", i, "")
		if _, err := sendSync(ctx, p, o); err != nil {
			return err
		}
		first = append(first, o)
	}
	c := newCollector(l)
	pc, err := pushConsumer(e, group, topic, all, c, "first")
	if err != nil {
		return err
	}
	if missing := c.waitIDs(ctx, ids(first)); len(missing) > 0 {
		pc.Shutdown()
		return fmt.Errorf("not delivered before the restart: %v", missing)
	}
	// Two of the client's offset commit intervals (5 s, fixed): the Go client's commit on
	// shutdown is a one-way send racing the connection's close (seen lost once in five runs,
	// and once more under load with one interval), so the check is of what the client
	// committed while running.
	time.Sleep(11 * time.Second)
	if err := pc.Shutdown(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	for i := 0; i < 6; i++ {
		o := newOut(topic, "after", i, "")
		if _, err := sendSync(ctx, p, o); err != nil {
			return err
		}
		second = append(second, o)
	}
	c2 := newCollector(l)
	pc2, err := pushConsumer(e, group, topic, all, c2, "second")
	if err != nil {
		return err
	}
	defer pc2.Shutdown()
	if missing := c2.waitIDs(ctx, ids(second)); len(missing) > 0 {
		return fmt.Errorf("not delivered after the restart: %v", missing)
	}
	time.Sleep(time.Second)
	pr := checkExactlyOnce(c2, second)
	c2.mu.Lock()
	for _, o := range first {
		if ds := c2.seen[o.id]; len(ds) > 0 {
			pr = append(pr, fmt.Sprintf("%s (committed before the restart) delivered again (queue %d offset %d)", o.id,
				ds[0].msg.Queue.QueueId, ds[0].msg.QueueOffset))
		}
	}
	c2.mu.Unlock()
	return problems(pr)
}

// goBroadcast: two broadcasting consumers of one group each get every message.
func goBroadcast(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-broadcast")
	p, err := newProducer(e, group+"-p")
	if err != nil {
		return err
	}
	defer p.Shutdown()
	var sent []*outMsg
	for i := 0; i < 8; i++ {
		o := newOut(topic, "bc", i, "TagBC")
		if _, err := sendSync(ctx, p, o); err != nil {
			return err
		}
		sent = append(sent, o)
	}
	ca, cb := newCollector(l), newCollector(l)
	a, err := pushConsumer(e, group, topic, all, ca, "a", consumer.WithConsumerModel(consumer.BroadCasting))
	if err != nil {
		return err
	}
	defer a.Shutdown()
	b, err := pushConsumer(e, group, topic, all, cb, "b", consumer.WithConsumerModel(consumer.BroadCasting))
	if err != nil {
		return err
	}
	defer b.Shutdown()
	var pr []string
	for name, c := range map[string]*collector{"a": ca, "b": cb} {
		if missing := c.waitIDs(ctx, ids(sent)); len(missing) > 0 {
			pr = append(pr, fmt.Sprintf("consumer %s missed %v", name, missing))
		}
	}
	time.Sleep(500 * time.Millisecond)
	pr = append(pr, checkExactlyOnce(ca, sent)...)
	pr = append(pr, checkExactlyOnce(cb, sent)...)
	return problems(pr)
}

// goPull: the Go pull consumer reads a queue from chosen offsets (seek): the messages at those
// offsets, in order, with their fields.
func goPull(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-pull")
	p, err := newProducer(e, group+"-p", producer.WithQueueSelector(queueByProp{}))
	if err != nil {
		return err
	}
	defer p.Shutdown()
	var sent []*outMsg
	var mq *primitive.MessageQueue
	var base int64
	for i := 0; i < 6; i++ {
		o := newOut(topic, "pull", i, "TagP")
		o.props["suite-q"] = "1"
		r, err := sendSync(ctx, p, o)
		if err != nil {
			return err
		}
		if i == 0 {
			mq, base = r.MessageQueue, r.QueueOffset
		} else if r.QueueOffset != base+int64(i) || r.MessageQueue.QueueId != mq.QueueId {
			return fmt.Errorf("send %d: queue %d offset %d, expected queue %d offset %d", i, r.MessageQueue.QueueId, r.QueueOffset, mq.QueueId, base+int64(i))
		}
		sent = append(sent, o)
	}
	pc, err := consumer.NewPullConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver(e.namesrv)),
		consumer.WithGroupName(group),
		consumer.WithInstance(instance("pull")),
	)
	if err != nil {
		return err
	}
	// Assign mode: this queue only, no rebalance; PullFrom then reads from any offset (seek).
	if err := pc.Assign(topic, []*primitive.MessageQueue{mq}); err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	if err := pc.Start(); err != nil {
		return fmt.Errorf("start pull consumer: %w", err)
	}
	defer pc.Shutdown()
	var pr []string
	pullAt := func(offset int64, n int) {
		var got []*primitive.MessageExt
		for len(got) < n && ctx.Err() == nil {
			res, err := pc.PullFrom(ctx, &primitive.MessageQueue{Topic: mq.Topic, BrokerName: mq.BrokerName, QueueId: mq.QueueId}, offset+int64(len(got)), n-len(got))
			if err != nil {
				pr = append(pr, fmt.Sprintf("pull from %d: %v", offset, err))
				return
			}
			if res.Status != primitive.PullFound {
				pr = append(pr, fmt.Sprintf("pull from %d: status %v", offset+int64(len(got)), res.Status))
				return
			}
			got = append(got, res.GetMessageExts()...)
		}
		for i, m := range got {
			o := sent[int(offset-base)+i]
			if m.QueueOffset != offset+int64(i) {
				pr = append(pr, fmt.Sprintf("pulled offset %d, expected %d", m.QueueOffset, offset+int64(i)))
			}
			pr = append(pr, o.sameAs(m)...)
		}
		l.Printf("pulled %d from offset %d", len(got), offset)
	}
	pullAt(base+2, 3) // seek into the middle
	pullAt(base, 6)   // and back to the start
	return problems(pr)
}

// goDelay: delay level 2 (5 s) and a 5.x delivery time (now + 3 s): neither early, neither
// much late, both with their fields.
func goDelay(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-delay")
	p, err := newProducer(e, group+"-p")
	if err != nil {
		return err
	}
	defer p.Shutdown()
	if _, err := sendSync(ctx, p, newOut(topic, "plain", 0, "")); err != nil { // creates the topic
		return err
	}
	c := newCollector(l)
	pc, err := pushConsumer(e, group, topic, all, c, "c")
	if err != nil {
		return err
	}
	defer pc.Shutdown()
	level := newOut(topic, "level2", 0, "TagD")
	at := newOut(topic, "deliverAt", 0, "TagD")
	lm := level.message()
	lm.WithDelayTimeLevel(2)
	sentLevel := time.Now()
	r, err := p.SendSync(ctx, lm)
	if err != nil {
		return fmt.Errorf("send level 2: %w", err)
	}
	level.msgID = r.MsgID
	am := at.message()
	sentAt := time.Now()
	am.WithDelayTimestamp(sentAt.Add(3 * time.Second))
	if r, err = p.SendSync(ctx, am); err != nil {
		return fmt.Errorf("send delivery time: %w", err)
	}
	at.msgID = r.MsgID
	if missing := c.waitIDs(ctx, []string{level.id, at.id}); len(missing) > 0 {
		return fmt.Errorf("not delivered: %v", missing)
	}
	pr := checkExactlyOnce(c, []*outMsg{level, at})
	c.mu.Lock()
	defer c.mu.Unlock()
	// Level 2 is 5 s; the 5.x timer wheel has 1 s ticks and rounds down, so a delivery time may
	// come up to a second early. "Much late": more than 3 s after it was due.
	for _, x := range []struct {
		o          *outMsg
		sent       time.Time
		due, early time.Duration
	}{{level, sentLevel, 5 * time.Second, 500 * time.Millisecond}, {at, sentAt, 3 * time.Second, 1100 * time.Millisecond}} {
		after := c.seen[x.o.id][0].at.Sub(x.sent)
		l.Printf("%s arrived %.1fs after sending (due after %s)", x.o.id, after.Seconds(), x.due)
		if after < x.due-x.early {
			pr = append(pr, fmt.Sprintf("%s arrived %.1fs after sending, due after %s", x.o.id, after.Seconds(), x.due))
		}
		if after > x.due+3*time.Second {
			pr = append(pr, fmt.Sprintf("%s arrived %.1fs after sending, due after %s: late", x.o.id, after.Seconds(), x.due))
		}
	}
	return problems(pr)
}

// goRetryDLQ: with max reconsume times 1, a message failed once comes back (reconsumeTimes 1,
// same msgId and fields) and is then consumed; one that always fails lands in %DLQ%group after
// its second failure, readable there. Redeliveries use delay level 1 (1 s).
//
// The group's %RETRY% topic is created by its first send-back; the running Go consumer sees it
// on its next route poll (every 30 s) and takes its queue at the next rebalance (every 20 s),
// both fixed in the client: ~40 s here, the longest Go scenario. (Starting a second member
// once the route exists, as the Java scenario does, is not reliable with the Go client: a
// member shut down just before sometimes stays registered at the broker, holding half the
// queues, seen once in ten runs.)
func goRetryDLQ(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-retry")
	p, err := newProducer(e, group+"-p")
	if err != nil {
		return err
	}
	defer p.Shutdown()
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver(e.namesrv)))
	if err != nil {
		return err
	}
	defer adm.Close()
	waitRoute := func(topic string) error {
		for {
			mqs, err := adm.FetchPublishMessageQueues(ctx, topic)
			if err == nil && len(mqs) > 0 {
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("no route for %s: %v", topic, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	once, always := newOut(topic, "once", 0, "TagR"), newOut(topic, "always", 0, "TagR")
	for _, o := range []*outMsg{once, always} {
		if _, err := sendSync(ctx, p, o); err != nil {
			return err
		}
	}
	c := newCollector(l)
	c.fail = func(id string, n int) bool { return id == always.id || (id == once.id && n == 1) }
	pc, err := pushConsumer(e, group, topic, all, c, "c", consumer.WithMaxReconsumeTimes(1))
	if err != nil {
		return err
	}
	defer pc.Shutdown()
	if !c.waitFor(ctx, func() bool { return len(c.seen[once.id]) >= 2 && len(c.seen[always.id]) >= 2 }) {
		return fmt.Errorf("failed messages not redelivered (deliveries: once %d, always %d)", c.count(once.id), c.count(always.id))
	}
	var pr []string
	c.mu.Lock()
	for _, o := range []*outMsg{once, always} {
		d0, d1 := c.seen[o.id][0], c.seen[o.id][1]
		l.Printf("%s redelivered %.1fs after its first delivery", o.id, d1.at.Sub(d0.at).Seconds())
		if d0.msg.ReconsumeTimes != 0 || d1.msg.ReconsumeTimes != 1 {
			pr = append(pr, fmt.Sprintf("%s: reconsumeTimes %d then %d, expected 0 then 1", o.id, d0.msg.ReconsumeTimes, d1.msg.ReconsumeTimes))
		}
		pr = append(pr, o.sameAs(d1.msg)...)
	}
	c.mu.Unlock()
	dlq := "%DLQ%" + group
	dc := newCollector(l)
	dlqMsg := *always
	dlqMsg.topic = dlq
	// The DLQ topic exists from the second failure's send-back on: wait for its route, as a
	// consumer started before it would only see it on its next route poll (30 s) and rebalance.
	if err := waitRoute(dlq); err != nil {
		return err
	}
	d, err := pushConsumer(e, group+"-dlq", dlq, all, dc, "dlq")
	if err != nil {
		return fmt.Errorf("consumer of %s: %w", dlq, err)
	}
	defer d.Shutdown()
	if missing := dc.waitIDs(ctx, []string{always.id}); len(missing) > 0 {
		return fmt.Errorf("%s not in %s", always.id, dlq)
	}
	time.Sleep(500 * time.Millisecond)
	dc.mu.Lock()
	pr = append(pr, dlqMsg.sameAs(dc.seen[always.id][0].msg)...)
	if len(dc.seen[once.id]) > 0 {
		pr = append(pr, once.id+" (consumed on its retry) is in the DLQ too")
	}
	dc.mu.Unlock()
	if n := c.count(once.id); n != 2 {
		pr = append(pr, fmt.Sprintf("%s delivered %d times, expected 2", once.id, n))
	}
	return problems(pr)
}

// goSQL92: a consumer with a SQL92 property filter gets exactly the matching messages (the
// broker filters: the real one needs enablePropertyFilter=true).
func goSQL92(ctx context.Context, e *env, l *logger) error {
	topic, group := names(e, "go-sql")
	p, err := newProducer(e, group+"-p")
	if err != nil {
		return err
	}
	defer p.Shutdown()
	var want []*outMsg
	var other []string
	for i := 0; i < 12; i++ {
		o := newOut(topic, "sql", i, []string{"TagA", "TagB"}[i%2])
		o.props["n"] = strconv.Itoa(i)
		if _, err := sendSync(ctx, p, o); err != nil {
			return err
		}
		// (TAGS = 'TagA' AND n > 3) OR color = 'blue'
		if (o.tag == "TagA" && i > 3) || o.props["color"] == "blue" {
			want = append(want, o)
		} else {
			other = append(other, o.id)
		}
	}
	c := newCollector(l)
	sel := consumer.MessageSelector{Type: consumer.SQL92, Expression: "(TAGS = 'TagA' AND n > 3) OR color = 'blue'"}
	pc, err := pushConsumer(e, group, topic, sel, c, "c")
	if err != nil {
		return fmt.Errorf("SQL92 consumer: %w", err)
	}
	defer pc.Shutdown()
	if missing := c.waitIDs(ctx, ids(want)); len(missing) > 0 {
		return fmt.Errorf("not delivered: %v", missing)
	}
	time.Sleep(time.Second)
	pr := checkExactlyOnce(c, want)
	sort.Strings(other)
	for _, id := range other {
		if c.count(id) > 0 {
			pr = append(pr, id+" delivered though the filter excludes it")
		}
	}
	return problems(pr)
}
