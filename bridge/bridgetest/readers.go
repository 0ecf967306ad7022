package bridgetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func indexTests() []testCase {
	return []testCase{
		{"RangeAfterN", testIndexRangeAfterN},
		{"ContiguousPerPartition", testIndexContiguousPerPartition},
		{"AtTime", testIndexAtTime},
	}
}

func readerTests() []testCase {
	return []testCase{
		{"Earliest", testReaderEarliest},
		{"Latest", testReaderLatest},
		{"AtIndex", testReaderAtIndex},
		{"AtIndexInsideBatch", testReaderAtIndexInsideBatch},
		{"AtTime", testReaderAtTime},
		{"Seek", testReaderSeek},
		{"Tail", testReaderTail},
		{"NextTimeout", testReaderNextTimeout},
		{"BatchTag", testReaderBatchTag},
	}
}

func testIndexRangeAfterN(t *testing.T, h Harness) {
	const n = 25
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	if got := mustIndexRange(t, h, b, topic); got != (bridge.IndexRange{}) {
		t.Errorf("IndexRange of an empty topic = %+v, want {0 0}", got)
	}
	produceTo(t, h, b, topic, plainMsgs(n))
	if got := mustIndexRange(t, h, b, topic); got != (bridge.IndexRange{First: 0, Next: n}) {
		t.Errorf("IndexRange after %d messages = %+v, want {0 %d}", n, got, n)
	}
	produceTo(t, h, b, topic, plainMsgs(1))
	if got := mustIndexRange(t, h, b, topic); got.Next != n+1 {
		t.Errorf("IndexRange after %d messages = %+v, want Next %d", n+1, got, n+1)
	}
}

func testIndexContiguousPerPartition(t *testing.T, h Harness) {
	const n = 90
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 3)
	res := produceTo(t, h, b, topic, keyedMsgs(n, 20))
	counts := map[int]int64{}
	for _, r := range res {
		counts[r.Partition]++
	}
	var sum int64
	for p := range 3 {
		name := bridge.PartitionName(topic, p)
		got := mustIndexRange(t, h, b, name)
		if got != (bridge.IndexRange{First: 0, Next: counts[p]}) {
			t.Errorf("IndexRange(partition %d) = %+v, want {0 %d}", p, got, counts[p])
		}
		sum += got.Next
		if counts[p] > 0 {
			checkIndexes(t, readN(t, h, newReader(t, h, b, name, bridge.StartEarliest()), int(counts[p])), 0)
		}
	}
	if sum != n {
		t.Errorf("partitions hold %d messages in all, sent %d", sum, n)
	}
}

// twoBatches sends a batch of na messages, waits, notes the time, waits, and
// sends nb more. mid is a time after every message of the first batch and
// before every one of the second, by the local clock.
func twoBatches(t *testing.T, h Harness, b bridge.Backend, topic string, na, nb int) (mid time.Time) {
	t.Helper()
	gap := max(h.Quiet, 100*time.Millisecond)
	produceTo(t, h, b, topic, plainMsgs(na))
	time.Sleep(gap)
	mid = time.Now()
	time.Sleep(gap)
	produceTo(t, h, b, topic, plainMsgs(nb))
	return mid
}

func testIndexAtTime(t *testing.T, h Harness) {
	const na, nb = 10, 7
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	ad := b.Admin()
	if got, err := ad.IndexAtTime(waitCtx(t, h), topic, time.Now()); err != nil || got != 0 {
		t.Errorf("IndexAtTime on an empty topic = %d, %v; want 0 (its Next)", got, err)
	}
	mid := twoBatches(t, h, b, topic, na, nb)
	at := func(tm time.Time) int64 {
		t.Helper()
		i, err := ad.IndexAtTime(waitCtx(t, h), topic, tm)
		if err != nil {
			t.Fatalf("IndexAtTime(%v): %v", tm, err)
		}
		return i
	}
	if got := at(mid); got != na {
		t.Errorf("IndexAtTime(between the batches) = %d, want %d (first of the second batch)", got, na)
	}
	if got := at(time.Now().Add(time.Hour)); got != na+nb {
		t.Errorf("IndexAtTime(future) = %d, want Next %d", got, na+nb)
	}
	if got := at(time.Unix(0, 0)); got != 0 {
		t.Errorf("IndexAtTime(1970) = %d, want 0", got)
	}
	// At a message's own publish time: that message, or an earlier one
	// published in the same instant.
	msgs := readN(t, h, newReader(t, h, b, topic, bridge.StartEarliest()), na+nb)
	if got := at(msgs[na].PublishTime); got != na {
		t.Errorf("IndexAtTime(publish time of message %d) = %d, want %d", na, got, na)
	}
	if got := at(msgs[na-1].PublishTime); got > na-1 {
		t.Errorf("IndexAtTime(publish time of message %d) = %d, want at most %d", na-1, got, na-1)
	}
}

func testReaderEarliest(t *testing.T, h Harness) {
	const n = 20
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	r := newReader(t, h, b, topic, bridge.StartEarliest())
	msgs := readN(t, h, r, n)
	checkIndexes(t, msgs, 0)
	for i, m := range msgs {
		if !bytes.Equal(m.Value, valueOf(i)) {
			t.Errorf("message %d: value %q", i, m.Value)
		}
	}
	expectNoRead(t, h, r)
}

func testReaderLatest(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(5))
	r := newReader(t, h, b, topic, bridge.StartLatest())
	expectNoRead(t, h, r)
	produceTo(t, h, b, topic, plainMsgs(3))
	msgs := readN(t, h, r, 3)
	checkIndexes(t, msgs, 5)
	expectNoRead(t, h, r)
}

func testReaderAtIndex(t *testing.T, h Harness) {
	const n = 20
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	for _, k := range []int64{0, 1, 13, n - 1} {
		r := newReader(t, h, b, topic, bridge.StartAtIndex(k))
		checkIndexes(t, readN(t, h, r, int(n-k)), k)
		expectNoRead(t, h, r)
	}
	// At Next: nothing yet, then the next message.
	r := newReader(t, h, b, topic, bridge.StartAtIndex(n))
	expectNoRead(t, h, r)
	produceTo(t, h, b, topic, plainMsgs(1))
	checkIndexes(t, readN(t, h, r, 1), n)
}

// StartAtIndex in the middle of what a batching producer sent at once.
func testReaderAtIndexInsideBatch(t *testing.T, h Harness) {
	const n = 100
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	p := newProducer(t, h, b, bridge.ProducerOptions{Topic: topic, BatchingMaxDelay: 50 * time.Millisecond, BatchingMaxMessages: 40})
	mustProduce(t, h, p, plainMsgs(n))
	for _, k := range []int64{1, 37, 41, 79, 99} {
		r := newReader(t, h, b, topic, bridge.StartAtIndex(k))
		msgs := readN(t, h, r, int(n-k))
		checkIndexes(t, msgs, k)
		if !bytes.Equal(msgs[0].Value, valueOf(int(k))) {
			t.Errorf("StartAtIndex(%d): first value %q, want %q", k, msgs[0].Value, valueOf(int(k)))
		}
	}
}

func testReaderAtTime(t *testing.T, h Harness) {
	const na, nb = 6, 4
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	mid := twoBatches(t, h, b, topic, na, nb)
	r := newReader(t, h, b, topic, bridge.StartAtTime(mid))
	checkIndexes(t, readN(t, h, r, nb), na)
	expectNoRead(t, h, r)

	r = newReader(t, h, b, topic, bridge.StartAtTime(time.Unix(0, 0)))
	checkIndexes(t, readN(t, h, r, 1), 0)

	r = newReader(t, h, b, topic, bridge.StartAtTime(time.Now().Add(time.Hour)))
	expectNoRead(t, h, r)
}

func testReaderSeek(t *testing.T, h Harness) {
	const n = 10
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n))
	r := newReader(t, h, b, topic, bridge.StartEarliest())
	readN(t, h, r, n)
	seek := func(pos bridge.StartPosition) {
		t.Helper()
		if err := r.Seek(waitCtx(t, h), pos); err != nil {
			t.Fatalf("Seek(%+v): %v", pos, err)
		}
	}
	seek(bridge.StartAtIndex(3))
	checkIndexes(t, readN(t, h, r, n-3), 3)
	seek(bridge.StartEarliest())
	checkIndexes(t, readN(t, h, r, 2), 0)
	// Forward past read-ahead messages.
	seek(bridge.StartAtIndex(8))
	checkIndexes(t, readN(t, h, r, 2), 8)
	seek(bridge.StartLatest())
	expectNoRead(t, h, r)
	produceTo(t, h, b, topic, plainMsgs(1))
	checkIndexes(t, readN(t, h, r, 1), n)
}

// Next waits for a message that arrives later.
func testReaderTail(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	r := newReader(t, h, b, topic, bridge.StartEarliest())
	type result struct {
		m   *bridge.Message
		err error
	}
	got := make(chan result, 1)
	ctx := ctxFor(t, h.Quiet+h.Wait)
	go func() {
		m, err := r.Next(ctx)
		got <- result{m, err}
	}()
	select {
	case res := <-got:
		t.Fatalf("Next returned on an empty topic: %s, %v", describe(res.m), res.err)
	case <-time.After(h.Quiet):
	}
	produceTo(t, h, b, topic, plainMsgs(1))
	select {
	case res := <-got:
		if res.err != nil {
			t.Fatalf("Next: %v", res.err)
		}
		checkIndexes(t, []*bridge.Message{res.m}, 0)
	case <-time.After(h.Wait):
		t.Fatalf("Next did not return within %v of a message arriving", h.Wait)
	}
}

// Next returns the context's error when nothing comes.
func testReaderNextTimeout(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	r := newReader(t, h, b, topic, bridge.StartEarliest())
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), h.Quiet)
	defer cancel()
	_, err := r.Next(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next on an empty topic: want context.DeadlineExceeded, got %v", err)
	}
	if el := time.Since(start); el > h.Quiet+h.Wait/2 {
		t.Errorf("Next took %v to notice a %v deadline", el, h.Quiet)
	}
	// A cancelled context also ends it, and the reader still works after.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := r.Next(ctx2); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: want context.Canceled, got %v", err)
	}
	produceTo(t, h, b, topic, plainMsgs(1))
	checkIndexes(t, readN(t, h, r, 1), 0)
}

// testReaderBatchTag: a batch sent with a tag (bridge.TaggedProducer) is
// read with that tag by a reader with Batches, and with none by every
// other reader, whose messages keep their own properties only.
func testReaderBatchTag(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	p := newProducer(t, h, b, bridge.ProducerOptions{Topic: topic})
	tp, ok := p.(bridge.TaggedProducer)
	if !ok {
		t.Skip("the backend's producers store no tags")
	}
	const tag = "kafka:7:0:0:2"
	msgs := []bridge.OutMessage{{Value: valueOf(0), Properties: map[string]string{"k": "v"}}, {Value: valueOf(1)}, {Value: valueOf(2)}}
	done := make(chan error, 1)
	tp.SendTagged(waitCtx(t, h), msgs, tag, func(_ bridge.SendResult, err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatalf("SendTagged: %v", err)
	}
	produceTo(t, h, b, topic, plainMsgs(1))

	r, err := b.CreateReader(waitCtx(t, h), bridge.ReaderOptions{Topic: topic, Start: bridge.StartEarliest(), Batches: true})
	if err != nil {
		t.Fatalf("CreateReader: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	got := readN(t, h, r, 4)
	for i, m := range got {
		want := tag
		if i == 3 {
			want = ""
		}
		if m.BatchTag != want {
			t.Errorf("message %d: BatchTag %q, want %q", i, m.BatchTag, want)
		}
		if _, ok := m.Properties["k"]; ok != (i == 0) || len(m.Properties) > 1 {
			t.Errorf("message %d: properties %v", i, m.Properties)
		}
	}
	for i, m := range readN(t, h, newReader(t, h, b, topic, bridge.StartEarliest()), 4) {
		if m.BatchTag != "" || (i > 0 && len(m.Properties) > 0) || (i == 0 && len(m.Properties) != 1) {
			t.Errorf("plain reader, message %d: tag %q, properties %v", i, m.BatchTag, m.Properties)
		}
	}
}
