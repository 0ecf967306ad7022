package bridgetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func subscriptionTests() []testCase {
	return []testCase{
		{"ExclusiveBusy", testSubExclusiveBusy},
		{"TypeMismatch", testSubTypeMismatch},
		{"Info", testSubInfo},
		{"SharedSplit", testSubSharedSplit},
		{"FailoverSinglePartition", testSubFailoverSingle},
		{"FailoverPartitioned", testSubFailoverPartitioned},
		{"KeyShared", testSubKeyShared},
		{"MultipleTopics", testSubMultipleTopics},
		{"Chan", testSubChan},
		{"Unsubscribe", testSubUnsubscribe},
		{"SeekSinglePartition", testSubSeek},
	}
}

// subOpts is the usual options for one topic.
func subOpts(topic, sub string, typ bridge.SubscriptionType) bridge.SubscribeOptions {
	return bridge.SubscribeOptions{Topics: []string{topic}, Subscription: sub, Type: typ, InitialPosition: bridge.Earliest}
}

// ackAll is a pump handler acknowledging every message.
func ackAll(t *testing.T) func(int, bridge.Consumer, *bridge.Message) {
	return func(_ int, c bridge.Consumer, m *bridge.Message) {
		if err := c.Ack(m.ID); err != nil {
			t.Errorf("Ack(%s): %v", describe(m), err)
		}
	}
}

// settle waits long enough for consumer changes to take effect.
func settle(h Harness) { time.Sleep(h.Quiet) }

func testSubExclusiveBusy(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	c1 := subscribe(t, h, b, subOpts(topic, "ex", bridge.Exclusive))
	_, err := b.Subscribe(waitCtx(t, h), subOpts(topic, "ex", bridge.Exclusive))
	if !errors.Is(err, bridge.ErrConsumerBusy) {
		t.Fatalf("second consumer on an Exclusive subscription: want ErrConsumerBusy, got %v", err)
	}
	// The refused consumer did not disturb the first one.
	produceTo(t, h, b, topic, plainMsgs(2))
	checkIndexes(t, recvAck(t, h, c1, 2), 0)
	// Another subscription is another matter.
	subscribe(t, h, b, subOpts(topic, "other", bridge.Exclusive))
	if err := c1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c3, err := b.Subscribe(waitCtx(t, h), subOpts(topic, "ex", bridge.Exclusive))
	if err != nil {
		t.Fatalf("Exclusive consumer after the first one closed: %v", err)
	}
	t.Cleanup(func() { _ = c3.Close() })
}

// A subscription with consumers of one type refuses consumers of another.
func testSubTypeMismatch(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	subscribe(t, h, b, subOpts(topic, "ex", bridge.Exclusive))
	subscribe(t, h, b, subOpts(topic, "sh", bridge.Shared))
	for _, c := range []struct {
		sub string
		typ bridge.SubscriptionType
	}{{"ex", bridge.Shared}, {"ex", bridge.Failover}, {"sh", bridge.Exclusive}, {"sh", bridge.Failover}, {"sh", bridge.KeyShared}} {
		c2, err := b.Subscribe(waitCtx(t, h), subOpts(topic, c.sub, c.typ))
		if err == nil {
			_ = c2.Close()
		}
		if !errors.Is(err, bridge.ErrConsumerBusy) {
			t.Errorf("%v consumer on subscription %q of another type with a consumer: want ErrConsumerBusy, got %v", c.typ, c.sub, err)
		}
	}
	// More consumers of the same shared type are fine.
	subscribe(t, h, b, subOpts(topic, "sh", bridge.Shared))
}

func testSubInfo(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	subscribe(t, h, b, subOpts(topic, "sh", bridge.Shared))
	subscribe(t, h, b, subOpts(topic, "sh", bridge.Shared))
	subscribe(t, h, b, subOpts(topic, "fo", bridge.Failover))
	subscribe(t, h, b, subOpts(topic, "ks", bridge.KeyShared))
	nd := subOpts(topic, "nd", bridge.Exclusive)
	nd.NonDurable = true
	subscribe(t, h, b, nd)
	produceTo(t, h, b, topic, plainMsgs(3))
	want := map[string]bridge.SubscriptionInfo{
		"sh": {Name: "sh", Type: bridge.Shared, Durable: true, Consumers: 2},
		"fo": {Name: "fo", Type: bridge.Failover, Durable: true, Consumers: 1},
		"ks": {Name: "ks", Type: bridge.KeyShared, Durable: true, Consumers: 1},
		"nd": {Name: "nd", Type: bridge.Exclusive, Durable: false, Consumers: 1},
	}
	eventually(t, h, func() string {
		subs, err := b.Admin().Subscriptions(waitCtx(t, h), topic)
		if err != nil {
			return fmt.Sprintf("Subscriptions: %v", err)
		}
		if len(subs) != len(want) {
			return fmt.Sprintf("Subscriptions = %+v, want %d of them", subs, len(want))
		}
		for _, s := range subs {
			w, ok := want[s.Name]
			w.Backlog = 3
			if !ok || s != w {
				return fmt.Sprintf("subscription %+v, want %+v", s, w)
			}
		}
		return ""
	})
}

// Two Shared consumers split the messages: each is delivered to exactly
// one, both get some, and once all are acked the backlog is 0.
func testSubSharedSplit(t *testing.T, h Harness) {
	const n = 200
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	opts := subOpts(topic, "shared", bridge.Shared)
	opts.ReceiverQueueSize = 10
	cs := []bridge.Consumer{subscribe(t, h, b, opts), subscribe(t, h, b, opts)}
	p := startPump(t, h, cs, ackAll(t))
	produceTo(t, h, b, topic, plainMsgs(n))
	p.waitTotal(n)
	settle(h) // extras, if any, show now
	p.stop()
	got := p.snapshot()
	seen := map[int64]int{}
	for ci, msgs := range got {
		if len(msgs) == 0 {
			t.Errorf("consumer %d received nothing of %d messages: Shared must spread them", ci, n)
		}
		for _, m := range msgs {
			if seen[m.Index]++; seen[m.Index] > 1 {
				t.Errorf("index %d delivered more than once", m.Index)
			}
		}
	}
	for i := range int64(n) {
		if seen[i] == 0 {
			t.Errorf("index %d never delivered", i)
		}
	}
	waitBacklog(t, h, b, topic, "shared", 0)
}

// On one partition a Failover subscription feeds one consumer; when it
// closes, the other one takes over the unacknowledged messages.
func testSubFailoverSingle(t *testing.T, h Harness) {
	const n, acked = 10, 5
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	var cs []bridge.Consumer
	for _, name := range []string{"a", "b"} {
		o := subOpts(topic, "fo", bridge.Failover)
		o.ConsumerName = name
		cs = append(cs, subscribe(t, h, b, o))
	}
	settle(h)
	p := startPump(t, h, cs, func(_ int, c bridge.Consumer, m *bridge.Message) {
		if m.Index < acked {
			if err := c.Ack(m.ID); err != nil {
				t.Errorf("Ack: %v", err)
			}
		}
	})
	produceTo(t, h, b, topic, plainMsgs(n))
	p.waitTotal(n)
	settle(h)
	got := p.snapshot()
	active := 0
	if len(got[1]) > 0 {
		active = 1
	}
	standby := 1 - active
	if len(got[standby]) != 0 || len(got[active]) != n {
		t.Fatalf("Failover on one partition: consumers got %s and %s, want all %d on one",
			indexesOf(got[0]), indexesOf(got[1]), n)
	}
	checkIndexes(t, got[active], 0)
	waitBacklog(t, h, b, topic, "fo", n-acked)

	if err := cs[active].Close(); err != nil {
		t.Fatalf("Close of the active consumer: %v", err)
	}
	ok := p.waitUntil(h.Wait, func(g [][]*bridge.Message) bool { return len(g[standby]) >= n-acked })
	settle(h)
	got = p.snapshot()
	if !ok || len(got[standby]) != n-acked {
		t.Fatalf("after the active consumer closed, the standby got %s, want the %d unacked (%d..%d)",
			indexesOf(got[standby]), n-acked, acked, n-1)
	}
	checkIndexes(t, got[standby], acked)
}

// On a partitioned topic every partition goes to exactly one Failover
// consumer, and both consumers get partitions.
func testSubFailoverPartitioned(t *testing.T, h Harness) {
	const parts, per = 4, 25
	b := newBackend(t, h)
	topic := newTopic(t, h, b, parts)
	var cs []bridge.Consumer
	for _, name := range []string{"a", "b"} {
		o := subOpts(topic, "fo", bridge.Failover)
		o.ConsumerName = name
		cs = append(cs, subscribe(t, h, b, o))
	}
	settle(h)
	p := startPump(t, h, cs, ackAll(t))
	for i := range parts {
		produceTo(t, h, b, bridge.PartitionName(topic, i), plainMsgs(per))
	}
	p.waitTotal(parts * per)
	settle(h)
	p.stop()
	got := p.snapshot()
	owner := map[int]map[int]bool{}
	seen := map[pidx]bool{}
	for ci, msgs := range got {
		for _, m := range msgs {
			if owner[m.Partition] == nil {
				owner[m.Partition] = map[int]bool{}
			}
			owner[m.Partition][ci] = true
			if seen[keyOf(m)] {
				t.Errorf("%s delivered twice", describe(m))
			}
			seen[keyOf(m)] = true
		}
	}
	owners := map[int]bool{}
	for part, o := range owner {
		if len(o) != 1 {
			t.Errorf("partition %d went to consumers %v, want exactly one", part, o)
		}
		for ci := range o {
			owners[ci] = true
		}
	}
	if len(owner) != parts {
		t.Errorf("messages came from %d partitions, want %d", len(owner), parts)
	}
	if len(owners) != 2 {
		t.Errorf("only consumers %v own partitions: %d partitions should spread over 2 Failover consumers", owners, parts)
	}
	if len(seen) != parts*per {
		t.Errorf("%d distinct messages, want %d", len(seen), parts*per)
	}
}

// Key_Shared: a key always goes to the same consumer, in order, and the keys
// spread over both consumers.
func testSubKeyShared(t *testing.T, h Harness) {
	const n, keys = 300, 60
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	opts := subOpts(topic, "ks", bridge.KeyShared)
	cs := []bridge.Consumer{subscribe(t, h, b, opts), subscribe(t, h, b, opts)}
	settle(h)
	p := startPump(t, h, cs, ackAll(t))
	pr := newProducer(t, h, b, bridge.ProducerOptions{Topic: topic, KeyBasedBatching: true})
	mustProduce(t, h, pr, keyedMsgs(n, keys))
	p.waitTotal(n)
	settle(h)
	p.stop()
	got := p.snapshot()
	consumerOf := map[string]int{}
	last := map[string]int64{}
	for ci, msgs := range got {
		if len(msgs) == 0 {
			t.Errorf("consumer %d got no keys of %d", ci, keys)
		}
		for _, m := range msgs {
			k := string(m.Key)
			if prev, ok := consumerOf[k]; ok && prev != ci {
				t.Errorf("key %q went to consumers %d and %d", k, prev, ci)
			}
			consumerOf[k] = ci
			if l, ok := last[k]; ok && m.Index <= l {
				t.Errorf("key %q: index %d after %d, out of order", k, m.Index, l)
			}
			last[k] = m.Index
		}
	}
	if total(got) != n {
		t.Errorf("%d deliveries of %d messages", total(got), n)
	}
	if len(consumerOf) != keys {
		t.Errorf("%d keys delivered, want %d", len(consumerOf), keys)
	}
	waitBacklog(t, h, b, topic, "ks", 0)
}

// One consumer over several topics, partitioned or not, gets them all, in
// order within each partition.
func testSubMultipleTopics(t *testing.T, h Harness) {
	b := newBackend(t, h)
	plain := newTopic(t, h, b, 0, "a")
	part := newTopic(t, h, b, 3, "b")
	produceTo(t, h, b, plain, plainMsgs(5))
	res := produceTo(t, h, b, part, keyedMsgs(30, 10))
	c := subscribe(t, h, b, bridge.SubscribeOptions{Topics: []string{plain, part}, Subscription: "multi",
		Type: bridge.Exclusive, InitialPosition: bridge.Earliest})
	msgs := recvAck(t, h, c, 35)
	expectNoMessage(t, h, c)
	next := map[string]int64{}
	for _, m := range msgs {
		if m.Index != next[m.Topic] {
			t.Errorf("%s: index %d, want %d (in order per partition)", m.Topic, m.Index, next[m.Topic])
		}
		next[m.Topic] = m.Index + 1
		wantPart := -1
		if m.Topic != plain {
			_, wantPart, _ = mustParse(t, m.Topic).PartitionIndex()
		}
		if m.Partition != wantPart {
			t.Errorf("%s: Partition %d, want %d", describe(m), m.Partition, wantPart)
		}
	}
	if next[plain] != 5 {
		t.Errorf("got %d messages of %s, want 5", next[plain], plain)
	}
	counts := map[int]int64{}
	for _, r := range res {
		counts[r.Partition]++
	}
	for i := range 3 {
		if got := next[bridge.PartitionName(part, i)]; got != counts[i] {
			t.Errorf("got %d messages of partition %d, want %d", got, i, counts[i])
		}
	}
}

// mustParse parses a topic name the backend gave.
func mustParse(t *testing.T, name string) bridge.TopicName {
	t.Helper()
	tn, err := bridge.ParseTopic(name)
	if err != nil {
		t.Fatalf("backend gave an unparsable topic name %q: %v", name, err)
	}
	return tn
}

func testSubChan(t *testing.T, h Harness) {
	const n = 10
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	c := subscribe(t, h, b, subOpts(topic, "ch", bridge.Exclusive))
	produceTo(t, h, b, topic, plainMsgs(n))
	ch := c.Chan()
	timeout := time.After(h.Wait)
	var msgs []*bridge.Message
	for len(msgs) < n {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("Chan closed after %d messages", len(msgs))
			}
			if err := c.Ack(m.ID); err != nil {
				t.Fatalf("Ack: %v", err)
			}
			msgs = append(msgs, m)
		case <-timeout:
			t.Fatalf("Chan gave %d of %d messages within %v", len(msgs), n, h.Wait)
		}
	}
	checkIndexes(t, msgs, 0)
	waitBacklog(t, h, b, topic, "ch", 0)
}

// Unsubscribe deletes the subscription: a new one of that name starts over.
func testSubUnsubscribe(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(3))
	c := subscribe(t, h, b, subOpts(topic, "u", bridge.Exclusive))
	recvAck(t, h, c, 3)
	if err := c.Unsubscribe(); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	eventually(t, h, func() string {
		if s, ok := subInfo(t, h, b, topic, "u"); ok {
			return fmt.Sprintf("subscription still listed after Unsubscribe: %+v", s)
		}
		return ""
	})
	c2 := subscribe(t, h, b, subOpts(topic, "u", bridge.Exclusive))
	checkIndexes(t, recvN(t, h, c2, 3), 0)

	// With two consumers attached, Unsubscribe is refused.
	o := subOpts(topic, "two", bridge.Shared)
	s1 := subscribe(t, h, b, o)
	subscribe(t, h, b, o)
	if err := s1.Unsubscribe(); err == nil {
		t.Errorf("Unsubscribe with another consumer attached succeeded")
	}
}

// Consumer.Seek on a single-partition subscription: the next message
// received has that index.
func testSubSeek(t *testing.T, h Harness) {
	const n = 10
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	res := produceTo(t, h, b, topic, plainMsgs(n))
	for _, typ := range []bridge.SubscriptionType{bridge.Exclusive, bridge.Shared} {
		sub := "seek-" + typ.String()
		c := subscribe(t, h, b, subOpts(topic, sub, typ))
		msgs := recvAck(t, h, c, n)
		waitBacklog(t, h, b, topic, sub, 0)
		// Backwards, with the ID of a received message.
		if err := c.Seek(msgs[3].ID); err != nil {
			t.Fatalf("%v: Seek(index 3): %v", typ, err)
		}
		got := recvAck(t, h, c, n-3)
		if typ == bridge.Exclusive {
			checkIndexes(t, got, 3)
		} else {
			idx := make([]int64, 0, len(got))
			for _, m := range got {
				idx = append(idx, m.Index)
			}
			slices.Sort(idx)
			if idx[0] != 3 || !slices.Equal(idx, []int64{3, 4, 5, 6, 7, 8, 9}) {
				t.Errorf("%v: after Seek(3) got %v, want 3..9", typ, idx)
			}
		}
		// With the ID from a send result.
		if err := c.Seek(res[8].ID); err != nil {
			t.Fatalf("%v: Seek(send result of index 8): %v", typ, err)
		}
		first := recvAck(t, h, c, 2)
		if typ == bridge.Exclusive {
			checkIndexes(t, first, 8)
		} else if first[0].Index != 8 && first[1].Index != 8 {
			t.Errorf("%v: after Seek(8) got %s", typ, indexesOf(first))
		}
		_ = c.Close()
	}
}
