package bridgetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func ackTests() []testCase {
	return []testCase{
		{"Individual", testAckIndividual},
		{"Cumulative", testAckCumulative},
		{"CumulativePerPartition", testAckCumulativePerPartition},
		{"CumulativeNotAllowed", testAckCumulativeNotAllowed},
		{"Nack", testAckNack},
		{"RedeliverOnClose", testAckRedeliverOnClose},
		{"RedeliveryCountSingleActive", testAckRedeliveryCountSingleActive},
		{"ResumeAfterAcks", testAckResume},
		{"InitialPosition", testAckInitialPosition},
		{"NonDurable", testAckNonDurable},
	}
}

func backlogTests() []testCase {
	return []testCase{
		{"Count", testBacklogCount},
		{"Clear", testBacklogClear},
		{"CreateSubscriptionAtIndex", testBacklogCreateAtIndex},
		{"CreateSubscriptionPartitioned", testBacklogCreatePartitioned},
		{"ResetSubscription", testBacklogReset},
		{"ResetPartition", testBacklogResetPartition},
		{"DeleteSubscription", testBacklogDelete},
	}
}

// sortedIndexes is the sorted indexes of msgs.
func sortedIndexes(msgs []*bridge.Message) []int64 {
	out := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Index)
	}
	slices.Sort(out)
	return out
}

// span is from, from+1, ..., to-1.
func span(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func mustAck(t *testing.T, c bridge.Consumer, m *bridge.Message) {
	t.Helper()
	if err := c.Ack(m.ID); err != nil {
		t.Fatalf("Ack(%s): %v", describe(m), err)
	}
}

func mustClose(t *testing.T, c bridge.Consumer) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatalf("consumer Close: %v", err)
	}
}

// Individual acks; the unacked ones come to the next consumer.
func testAckIndividual(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(6))
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	msgs := recvN(t, h, c, 6)
	checkIndexes(t, msgs, 0)
	for _, i := range []int{0, 2, 4} {
		mustAck(t, c, msgs[i])
	}
	waitBacklog(t, h, b, topic, "s", 3)
	mustClose(t, c)
	c2 := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	got := recvAck(t, h, c2, 3)
	if idx := sortedIndexes(got); !slices.Equal(idx, []int64{1, 3, 5}) {
		t.Errorf("after acking 0, 2, 4 of 0..5 the next consumer got %v, want [1 3 5]", idx)
	}
	expectNoMessage(t, h, c2)
	waitBacklog(t, h, b, topic, "s", 0)
}

// A cumulative ack (Exclusive, Failover) acks everything up to it.
func testAckCumulative(t *testing.T, h Harness) {
	const n = 10
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	for _, typ := range []bridge.SubscriptionType{bridge.Exclusive, bridge.Failover} {
		sub := "cum-" + typ.String()
		c := subscribe(t, h, b, subOpts(topic, sub, typ))
		msgs := recvN(t, h, c, n)
		if err := c.AckCumulative(msgs[6].ID); err != nil {
			t.Fatalf("%v: AckCumulative(6): %v", typ, err)
		}
		waitBacklog(t, h, b, topic, sub, 3)
		mustClose(t, c)
		c2 := subscribe(t, h, b, subOpts(topic, sub, typ))
		checkIndexes(t, recvAck(t, h, c2, 3), 7)
		expectNoMessage(t, h, c2)
		mustClose(t, c2)
	}
}

// A cumulative ack acks only its own partition.
func testAckCumulativePerPartition(t *testing.T, h Harness) {
	const per = 10
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 2)
	for i := range 2 {
		produceTo(t, h, b, bridge.PartitionName(topic, i), plainMsgs(per))
	}
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	msgs := recvN(t, h, c, 2*per)
	var last0 *bridge.Message
	for _, m := range msgs {
		if m.Partition == 0 && (last0 == nil || m.Index > last0.Index) {
			last0 = m
		}
	}
	if last0 == nil || last0.Index != per-1 {
		t.Fatalf("partition 0's messages not all received: %s", indexesOf(msgs))
	}
	if err := c.AckCumulative(last0.ID); err != nil {
		t.Fatalf("AckCumulative(partition 0 index %d): %v", last0.Index, err)
	}
	waitBacklog(t, h, b, topic, "s", per)
	mustClose(t, c)
	c2 := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	got := recvAck(t, h, c2, per)
	for _, m := range got {
		if m.Partition != 1 {
			t.Errorf("after a cumulative ack of all of partition 0, got %s", describe(m))
		}
	}
	checkIndexes(t, got, 0)
	expectNoMessage(t, h, c2)
}

func testAckCumulativeNotAllowed(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(1))
	for _, typ := range []bridge.SubscriptionType{bridge.Shared, bridge.KeyShared} {
		sub := "s-" + typ.String()
		c := subscribe(t, h, b, subOpts(topic, sub, typ))
		m := recvN(t, h, c, 1)[0]
		if err := c.AckCumulative(m.ID); !errors.Is(err, bridge.ErrNotAllowed) {
			t.Errorf("AckCumulative on %v: want ErrNotAllowed, got %v", typ, err)
		}
		waitBacklog(t, h, b, topic, sub, 1)
		mustAck(t, c, m)
		waitBacklog(t, h, b, topic, sub, 0)
	}
}

// A nacked message comes again after the nack delay, with RedeliveryCount
// increased.
// RedeliveryCount is checked here on Shared and Key_Shared only; see
// testAckRedeliveryCountSingleActive for the others.
func testAckNack(t *testing.T, h Harness) {
	const delay = 100 * time.Millisecond
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(1))
	for _, typ := range []bridge.SubscriptionType{bridge.Shared, bridge.Exclusive, bridge.KeyShared, bridge.Failover} {
		counts := typ == bridge.Shared || typ == bridge.KeyShared
		sub := "nack-" + typ.String()
		o := subOpts(topic, sub, typ)
		o.NackRedeliveryDelay = delay
		c := subscribe(t, h, b, o)
		m := recvN(t, h, c, 1)[0]
		start := time.Now()
		c.Nack(m.ID)
		again := recvN(t, h, c, 1)[0]
		el := time.Since(start)
		if again.Index != m.Index {
			t.Errorf("%v: after a nack of index %d, got %s", typ, m.Index, describe(again))
		}
		if counts && again.RedeliveryCount < 1 {
			t.Errorf("%v: redelivered after a nack with RedeliveryCount %d, want >= 1", typ, again.RedeliveryCount)
		}
		if el < delay/2 {
			t.Errorf("%v: redelivered %v after the nack, before the %v nack delay", typ, el, delay)
		}
		// Nacked twice, counted twice.
		c.Nack(again.ID)
		third := recvN(t, h, c, 1)[0]
		if third.Index != m.Index || (counts && third.RedeliveryCount <= again.RedeliveryCount) {
			t.Errorf("%v: second redelivery %s, want index %d with RedeliveryCount > %d", typ, describe(third), m.Index, again.RedeliveryCount)
		}
		mustAck(t, c, third)
		waitBacklog(t, h, b, topic, sub, 0)
		expectNoMessage(t, h, c)
		mustClose(t, c)
	}
}

// A consumer closed with unacknowledged messages: they go to the next one.
func testAckRedeliverOnClose(t *testing.T, h Harness) {
	const n = 5
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	for _, typ := range []bridge.SubscriptionType{bridge.Shared, bridge.Exclusive, bridge.Failover, bridge.KeyShared} {
		sub := "close-" + typ.String()
		c := subscribe(t, h, b, subOpts(topic, sub, typ))
		msgs := recvN(t, h, c, n)
		mustAck(t, c, msgs[1])
		mustAck(t, c, msgs[3])
		mustClose(t, c)
		c2 := subscribe(t, h, b, subOpts(topic, sub, typ))
		got := recvAck(t, h, c2, 3)
		if idx := sortedIndexes(got); !slices.Equal(idx, []int64{0, 2, 4}) {
			t.Errorf("%v: after a close with 0, 2, 4 unacked, the next consumer got %v", typ, idx)
		}
		// RedeliveryCount: see testAckRedeliveryCountSingleActive for the
		// single-active types.
		if typ == bridge.Shared || typ == bridge.KeyShared {
			for _, m := range got {
				if m.RedeliveryCount < 1 {
					t.Errorf("%v: %s redelivered after its consumer closed, want RedeliveryCount >= 1", typ, describe(m))
				}
			}
		}
		expectNoMessage(t, h, c2)
		mustClose(t, c2)
	}
}

// RedeliveryCount on Exclusive and Failover subscriptions, after a nack and
// after a consumer went away, as the contract words it. Kept apart because
// Pulsar's broker counts redeliveries only for Shared and Key_Shared
// subscriptions: a Pulsar backend must count these itself.
func testAckRedeliveryCountSingleActive(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(1))
	for _, typ := range []bridge.SubscriptionType{bridge.Exclusive, bridge.Failover} {
		sub := "count-" + typ.String()
		o := subOpts(topic, sub, typ)
		o.NackRedeliveryDelay = 100 * time.Millisecond
		c := subscribe(t, h, b, o)
		m := recvN(t, h, c, 1)[0]
		c.Nack(m.ID)
		again := recvN(t, h, c, 1)[0]
		if again.Index != m.Index || again.RedeliveryCount < 1 {
			t.Errorf("%v: after a nack got %s, want index %d with RedeliveryCount >= 1", typ, describe(again), m.Index)
		}
		mustClose(t, c)
		c2 := subscribe(t, h, b, o)
		third := recvN(t, h, c2, 1)[0]
		if third.Index != m.Index || third.RedeliveryCount <= again.RedeliveryCount {
			t.Errorf("%v: after its consumer closed got %s, want index %d with RedeliveryCount > %d", typ, describe(third), m.Index, again.RedeliveryCount)
		}
		mustAck(t, c2, third)
		mustClose(t, c2)
	}
}

// A new consumer of a durable subscription resumes after what was acked.
func testAckResume(t *testing.T, h Harness) {
	const n, acked = 10, 6
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	recvAck(t, h, c, acked)
	mustClose(t, c)
	o := subOpts(topic, "s", bridge.Exclusive)
	o.InitialPosition = bridge.Earliest
	c2 := subscribe(t, h, b, o)
	checkIndexes(t, recvAck(t, h, c2, n-acked), acked)
	expectNoMessage(t, h, c2)
	produceTo(t, h, b, topic, plainMsgs(2))
	checkIndexes(t, recvAck(t, h, c2, 2), n)
}

// InitialPosition applies to a new subscription only.
func testAckInitialPosition(t *testing.T, h Harness) {
	const n = 5
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))

	early := subscribe(t, h, b, subOpts(topic, "early", bridge.Exclusive))
	checkIndexes(t, recvAck(t, h, early, n), 0)

	o := subOpts(topic, "late", bridge.Exclusive)
	o.InitialPosition = bridge.Latest
	late := subscribe(t, h, b, o)
	waitBacklog(t, h, b, topic, "late", 0)
	expectNoMessage(t, h, late)
	produceTo(t, h, b, topic, plainMsgs(1))
	checkIndexes(t, recvAck(t, h, late, 1), n)
	mustClose(t, late)

	// Existing now: Earliest does not rewind it.
	o.InitialPosition = bridge.Earliest
	late2 := subscribe(t, h, b, o)
	expectNoMessage(t, h, late2)
}

// A NonDurable subscription is listed while it has a consumer and vanishes
// with it; it keeps no cursor.
func testAckNonDurable(t *testing.T, h Harness) {
	const n = 5
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	o := subOpts(topic, "nd", bridge.Exclusive)
	o.NonDurable = true
	c := subscribe(t, h, b, o)
	checkIndexes(t, recvAck(t, h, c, n), 0)
	s, ok := subInfo(t, h, b, topic, "nd")
	if !ok || s.Durable {
		t.Errorf("NonDurable subscription while attached: %+v (listed %v), want listed with Durable false", s, ok)
	}
	mustClose(t, c)
	eventually(t, h, func() string {
		if s, ok := subInfo(t, h, b, topic, "nd"); ok {
			return fmt.Sprintf("NonDurable subscription still listed after its consumer closed: %+v", s)
		}
		return ""
	})
	// Same name again: a new subscription from the initial position.
	c2 := subscribe(t, h, b, o)
	checkIndexes(t, recvAck(t, h, c2, n), 0)
}

// ---------------------------------------------------------------------------
// backlog

func mustCreateSub(t *testing.T, h Harness, b bridge.Backend, topic, sub string, index int64) {
	t.Helper()
	if err := b.Admin().CreateSubscription(waitCtx(t, h), topic, sub, index); err != nil {
		t.Fatalf("CreateSubscription(%q, %q, %d): %v", topic, sub, index, err)
	}
}

func testBacklogCount(t *testing.T, h Harness) {
	const n, k = 10, 4
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	mustCreateSub(t, h, b, topic, "s", 0)
	waitBacklog(t, h, b, topic, "s", 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	waitBacklog(t, h, b, topic, "s", n)
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Shared))
	msgs := recvN(t, h, c, n)
	waitBacklog(t, h, b, topic, "s", n) // received is not acked
	for _, m := range msgs[:k] {
		mustAck(t, c, m)
	}
	waitBacklog(t, h, b, topic, "s", n-k)
	mustAck(t, c, msgs[n-1]) // out of order
	waitBacklog(t, h, b, topic, "s", n-k-1)
}

func testBacklogClear(t *testing.T, h Harness) {
	const n = 10
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 2)
	mustCreateSub(t, h, b, topic, "s", 0)
	produceTo(t, h, b, topic, keyedMsgs(n, 5))
	waitBacklog(t, h, b, topic, "s", n)
	if err := b.Admin().ClearBacklog(waitCtx(t, h), topic, "s"); err != nil {
		t.Fatalf("ClearBacklog: %v", err)
	}
	waitBacklog(t, h, b, topic, "s", 0)
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Shared))
	expectNoMessage(t, h, c)
	res := produceTo(t, h, b, bridge.PartitionName(topic, 1), plainMsgs(1))
	m := recvAck(t, h, c, 1)[0]
	if m.Partition != 1 || m.Index != res[0].Index {
		t.Errorf("after ClearBacklog got %s, want the new message (partition 1 index %d)", describe(m), res[0].Index)
	}
	if err := b.Admin().ClearBacklog(waitCtx(t, h), topic, "missing"); !errors.Is(err, bridge.ErrSubscriptionNotFound) {
		t.Errorf("ClearBacklog of a missing subscription: want ErrSubscriptionNotFound, got %v", err)
	}
}

func testBacklogCreateAtIndex(t *testing.T, h Harness) {
	const n = 10
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	mustCreateSub(t, h, b, topic, "at4", 4)
	waitBacklog(t, h, b, topic, "at4", n-4)
	if s, _ := subInfo(t, h, b, topic, "at4"); !s.Durable || s.Consumers != 0 {
		t.Errorf("created subscription: %+v, want durable with no consumers", s)
	}
	c := subscribe(t, h, b, subOpts(topic, "at4", bridge.Exclusive))
	checkIndexes(t, recvAck(t, h, c, n-4), 4)
	expectNoMessage(t, h, c)

	if err := b.Admin().CreateSubscription(waitCtx(t, h), topic, "at4", 0); !errors.Is(err, bridge.ErrSubscriptionExists) {
		t.Errorf("CreateSubscription of an existing one: want ErrSubscriptionExists, got %v", err)
	}

	mustCreateSub(t, h, b, topic, "end", -1)
	waitBacklog(t, h, b, topic, "end", 0)
	mustCreateSub(t, h, b, topic, "zero", 0)
	waitBacklog(t, h, b, topic, "zero", n)
	ce := subscribe(t, h, b, subOpts(topic, "end", bridge.Exclusive))
	expectNoMessage(t, h, ce)
	produceTo(t, h, b, topic, plainMsgs(1))
	checkIndexes(t, recvAck(t, h, ce, 1), n)
	waitBacklog(t, h, b, topic, "zero", n+1)

	missing := uniqueTopic(t, h, "missing")
	if err := b.Admin().CreateSubscription(waitCtx(t, h), missing, "s", 0); !errors.Is(err, bridge.ErrTopicNotFound) {
		t.Errorf("CreateSubscription on a missing topic: want ErrTopicNotFound, got %v", err)
	}
}

// On a partitioned topic the index applies to every partition.
func testBacklogCreatePartitioned(t *testing.T, h Harness) {
	const per = 5
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 2)
	for i := range 2 {
		produceTo(t, h, b, bridge.PartitionName(topic, i), plainMsgs(per))
	}
	mustCreateSub(t, h, b, topic, "zero", 0)
	mustCreateSub(t, h, b, topic, "three", 3)
	mustCreateSub(t, h, b, topic, "end", -1)
	waitBacklog(t, h, b, topic, "zero", 2*per)
	waitBacklog(t, h, b, topic, "three", 2*(per-3))
	waitBacklog(t, h, b, topic, "end", 0)
	c := subscribe(t, h, b, subOpts(topic, "three", bridge.Exclusive))
	got := recvAck(t, h, c, 2*(per-3))
	for _, m := range got {
		if m.Index < 3 {
			t.Errorf("subscription created at index 3 delivered %s", describe(m))
		}
	}
	expectNoMessage(t, h, c)
}

func testBacklogReset(t *testing.T, h Harness) {
	const n = 10
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	recvAck(t, h, c, n)
	waitBacklog(t, h, b, topic, "s", 0)
	mustClose(t, c)
	reset := func(i int64) {
		t.Helper()
		if err := b.Admin().ResetSubscription(waitCtx(t, h), topic, "s", i); err != nil {
			t.Fatalf("ResetSubscription(%d): %v", i, err)
		}
	}
	// Backwards.
	reset(3)
	waitBacklog(t, h, b, topic, "s", n-3)
	c2 := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	checkIndexes(t, recvN(t, h, c2, 2), 3) // 3 and 4, not acked
	mustClose(t, c2)
	// Forwards, over unacked messages.
	reset(8)
	waitBacklog(t, h, b, topic, "s", n-8)
	c3 := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	checkIndexes(t, recvAck(t, h, c3, 2), 8)
	expectNoMessage(t, h, c3)
	mustClose(t, c3)

	if err := b.Admin().ResetSubscription(waitCtx(t, h), topic, "missing", 0); !errors.Is(err, bridge.ErrSubscriptionNotFound) {
		t.Errorf("ResetSubscription of a missing subscription: want ErrSubscriptionNotFound, got %v", err)
	}
}

// ResetSubscription moves one partition's cursor and no other.
func testBacklogResetPartition(t *testing.T, h Harness) {
	const per = 5
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 2)
	for i := range 2 {
		produceTo(t, h, b, bridge.PartitionName(topic, i), plainMsgs(per))
	}
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	recvAck(t, h, c, 2*per)
	waitBacklog(t, h, b, topic, "s", 0)
	mustClose(t, c)
	if err := b.Admin().ResetSubscription(waitCtx(t, h), bridge.PartitionName(topic, 1), "s", 1); err != nil {
		t.Fatalf("ResetSubscription(partition 1, 1): %v", err)
	}
	waitBacklog(t, h, b, topic, "s", per-1)
	c2 := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	got := recvAck(t, h, c2, per-1)
	for _, m := range got {
		if m.Partition != 1 {
			t.Errorf("after a reset of partition 1 got %s", describe(m))
		}
	}
	checkIndexes(t, got, 1)
	expectNoMessage(t, h, c2)
}

func testBacklogDelete(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	ad := b.Admin()
	busy := subscribe(t, h, b, subOpts(topic, "busy", bridge.Shared))
	if err := ad.DeleteSubscription(waitCtx(t, h), topic, "busy", false); !errors.Is(err, bridge.ErrSubscriptionBusy) {
		t.Errorf("DeleteSubscription with a consumer attached: want ErrSubscriptionBusy, got %v", err)
	}
	if _, ok := subInfo(t, h, b, topic, "busy"); !ok {
		t.Errorf("refused DeleteSubscription removed the subscription")
	}
	if err := ad.DeleteSubscription(waitCtx(t, h), topic, "busy", true); err != nil {
		t.Errorf("DeleteSubscription(force) with a consumer attached: %v", err)
	}
	_ = busy.Close() // its subscription is gone; whether Close reports that is open
	mustCreateSub(t, h, b, topic, "idle", 0)
	if err := ad.DeleteSubscription(waitCtx(t, h), topic, "idle", false); err != nil {
		t.Errorf("DeleteSubscription with no consumer: %v", err)
	}
	eventually(t, h, func() string {
		for _, sub := range []string{"busy", "idle"} {
			if s, ok := subInfo(t, h, b, topic, sub); ok {
				return fmt.Sprintf("deleted subscription still listed: %+v", s)
			}
		}
		return ""
	})
	if err := ad.DeleteSubscription(waitCtx(t, h), topic, "missing", false); !errors.Is(err, bridge.ErrSubscriptionNotFound) {
		t.Errorf("DeleteSubscription of a missing subscription: want ErrSubscriptionNotFound, got %v", err)
	}
}
