package bridgetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func restartTests() []testCase {
	return []testCase{
		{"Messages", testRestartMessages},
		{"IndexContinues", testRestartIndexContinues},
		{"Cursors", testRestartCursors},
		{"Topics", testRestartTopics},
		{"State", testRestartState},
		{"CloseFlushesProducers", testRestartCloseFlushes},
	}
}

// reopen closes b and opens its store again, or skips the test when the
// harness cannot.
func reopen(t *testing.T, h Harness, b bridge.Backend) bridge.Backend {
	t.Helper()
	nb := h.Reopen(t, b)
	if nb == nil {
		t.Fatal("Harness.Reopen returned nil")
	}
	return nb
}

func needReopen(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("Harness.Reopen is nil")
	}
}

// Acknowledged messages survive a restart with their indexes, keys,
// properties and times.
func testRestartMessages(t *testing.T, h Harness) {
	needReopen(t, h)
	b := newBackend(t, h)
	plain := newTopic(t, h, b, 0, "np")
	part := newTopic(t, h, b, 2, "p")
	sent := roundTripMsgs()
	produceTo(t, h, b, plain, sent)
	keyed := keyedMsgs(40, 8)
	kres := produceTo(t, h, b, part, keyed)
	before := readN(t, h, newReader(t, h, b, plain, bridge.StartEarliest()), len(sent))

	b = reopen(t, h, b)
	if got := mustIndexRange(t, h, b, plain); got != (bridge.IndexRange{First: 0, Next: int64(len(sent))}) {
		t.Errorf("after restart IndexRange = %+v, want {0 %d}", got, len(sent))
	}
	after := readN(t, h, newReader(t, h, b, plain, bridge.StartEarliest()), len(sent))
	checkIndexes(t, after, 0)
	for i, m := range after {
		checkSame(t, i, m, sent[i])
		if !m.PublishTime.Equal(before[i].PublishTime) {
			t.Errorf("message %d: publish time %v after restart, %v before", i, m.PublishTime, before[i].PublishTime)
		}
	}
	for p := range 2 {
		name := bridge.PartitionName(part, p)
		var want []int
		for i, r := range kres {
			if r.Partition == p {
				want = append(want, i)
			}
		}
		if len(want) == 0 {
			continue
		}
		msgs := readN(t, h, newReader(t, h, b, name, bridge.StartEarliest()), len(want))
		checkIndexes(t, msgs, 0)
		for j, m := range msgs {
			checkSame(t, want[j], m, keyed[want[j]])
		}
	}
}

// Indexes continue from Next after a restart, never reused.
func testRestartIndexContinues(t *testing.T, h Harness) {
	needReopen(t, h)
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(5))
	b = reopen(t, h, b)
	res := produceTo(t, h, b, topic, plainMsgs(5))
	for i, r := range res {
		if r.Index != int64(5+i) {
			t.Errorf("after restart message %d got index %d, want %d", i, r.Index, 5+i)
		}
	}
	b = reopen(t, h, b)
	if got := mustIndexRange(t, h, b, topic); got != (bridge.IndexRange{First: 0, Next: 10}) {
		t.Errorf("after two restarts IndexRange = %+v, want {0 10}", got)
	}
	checkIndexes(t, readN(t, h, newReader(t, h, b, topic, bridge.StartEarliest()), 10), 0)
}

// Subscriptions and their acks (in order or not) survive a restart.
func testRestartCursors(t *testing.T, h Harness) {
	needReopen(t, h)
	const n = 10
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	msgs := recvN(t, h, c, n)
	for _, i := range []int{0, 1, 2, 3, 6} {
		mustAck(t, c, msgs[i])
	}
	waitBacklog(t, h, b, topic, "s", n-5)
	mustCreateSub(t, h, b, topic, "created", 7)
	sh := subscribe(t, h, b, subOpts(topic, "sh", bridge.Shared))
	recvAck(t, h, sh, n)
	waitBacklog(t, h, b, topic, "sh", 0)
	nd := subOpts(topic, "nd", bridge.Exclusive)
	nd.NonDurable = true
	subscribe(t, h, b, nd)

	// The consumers are still attached: closing the backend must keep
	// what they acknowledged.
	b = reopen(t, h, b)
	waitBacklog(t, h, b, topic, "s", n-5)
	waitBacklog(t, h, b, topic, "created", n-7)
	waitBacklog(t, h, b, topic, "sh", 0)
	if s, ok := subInfo(t, h, b, topic, "nd"); ok {
		t.Errorf("NonDurable subscription survived a restart: %+v", s)
	}
	c2 := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	got := recvAck(t, h, c2, n-5)
	if idx := sortedIndexes(got); !slices.Equal(idx, []int64{4, 5, 7, 8, 9}) {
		t.Errorf("after restart the subscription delivered %v, want [4 5 7 8 9]", idx)
	}
	expectNoMessage(t, h, c2)
	s, _ := subInfo(t, h, b, topic, "s")
	if s.Type != bridge.Exclusive || !s.Durable {
		t.Errorf("after restart: %+v, want a durable Exclusive subscription", s)
	}
	c3 := subscribe(t, h, b, subOpts(topic, "sh", bridge.Shared))
	expectNoMessage(t, h, c3)
}

// Topics, partition counts and deletions survive a restart.
func testRestartTopics(t *testing.T, h Harness) {
	needReopen(t, h)
	b := newBackend(t, h)
	plain := newTopic(t, h, b, 0, "np")
	part := newTopic(t, h, b, 2, "p")
	gone := newTopic(t, h, b, 1, "gone")
	if err := b.Admin().UpdatePartitions(waitCtx(t, h), part, 4); err != nil {
		t.Fatalf("UpdatePartitions: %v", err)
	}
	if err := b.Admin().DeleteTopic(waitCtx(t, h), gone); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	b = reopen(t, h, b)
	if got := mustTopic(t, h, b, plain); got.Partitions != 0 {
		t.Errorf("after restart %s: %+v", plain, got)
	}
	if got := mustTopic(t, h, b, part); got.Partitions != 4 {
		t.Errorf("after restart %s: %+v, want 4 partitions", part, got)
	}
	if _, err := b.Admin().Topic(waitCtx(t, h), gone); !errors.Is(err, bridge.ErrTopicNotFound) {
		t.Errorf("deleted topic after restart: want ErrTopicNotFound, got %v", err)
	}
	if err := b.Admin().CreateTopic(waitCtx(t, h), plain, 0); !errors.Is(err, bridge.ErrTopicExists) {
		t.Errorf("CreateTopic of a topic made before the restart: want ErrTopicExists, got %v", err)
	}
}

func testRestartState(t *testing.T, h Harness) {
	needReopen(t, h)
	b := newBackend(t, h)
	table := uniqueTable(t, "t")
	st := mustState(t, h, b, table)
	mustPut(t, h, st, "a", []byte("1"))
	mustPut(t, h, st, "b", []byte("2"))
	mustPut(t, h, st, "c", []byte("3"))
	mustPut(t, h, st, "b", nil)
	mustPut(t, h, st, "a", []byte("4"))
	b = reopen(t, h, b)
	st = mustState(t, h, b, table)
	if got := rangeAll(st, ""); !slices.Equal(got, []string{"a=4", "c=3"}) {
		t.Errorf("state after restart = %q, want [a=4 c=3]", got)
	}
	checkGet(t, st, "b", nil)
}

// Closing the backend flushes what producers have pending: every callback
// fires, successfully, and the messages are there after a restart.
func testRestartCloseFlushes(t *testing.T, h Harness) {
	needReopen(t, h)
	const n = 200
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	p, err := b.CreateProducer(waitCtx(t, h), bridge.ProducerOptions{Topic: topic, BatchingMaxDelay: time.Second})
	if err != nil {
		t.Fatalf("CreateProducer: %v", err)
	}
	var (
		mu    sync.Mutex
		fired int
		errs  []error
	)
	ctx := waitCtx(t, h)
	for i := range n {
		p.SendAsync(ctx, &bridge.OutMessage{Value: valueOf(i)}, func(_ bridge.SendResult, err error) {
			mu.Lock()
			defer mu.Unlock()
			fired++
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	b = reopen(t, h, b)
	eventually(t, h, func() string {
		mu.Lock()
		defer mu.Unlock()
		if fired != n {
			return fmt.Sprintf("%d of %d callbacks fired after Close", fired, n)
		}
		return ""
	})
	mu.Lock()
	if len(errs) > 0 {
		t.Errorf("Close failed %d pending messages instead of flushing them: %v", len(errs), errs[0])
	}
	mu.Unlock()
	if got := mustIndexRange(t, h, b, topic); got.Next != n {
		t.Errorf("after restart IndexRange = %+v, want Next %d", got, n)
	}
}
