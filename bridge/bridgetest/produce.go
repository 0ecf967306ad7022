package bridgetest

import (
	"bytes"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func produceTests() []testCase {
	return []testCase{
		{"AsyncCallbacksInOrder", testProduceAsyncCallbacksInOrder},
		{"Send", testProduceSend},
		{"KeyRouting", testProduceKeyRouting},
		{"NoKeyPartitioned", testProduceNoKeyPartitioned},
		{"RoundTripReader", func(t *testing.T, h Harness) { testProduceRoundTrip(t, h, false) }},
		{"RoundTripConsumer", func(t *testing.T, h Harness) { testProduceRoundTrip(t, h, true) }},
		{"MaxPending", testProduceMaxPending},
	}
}

// SendAsync of 1000 messages to one partition: each callback fires once, in
// send order, with indexes 0..N-1; Flush returns after all of them.
func testProduceAsyncCallbacksInOrder(t *testing.T, h Harness) {
	const n = 1000
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 3)
	part := bridge.PartitionName(topic, 1)
	p := newProducer(t, h, b, bridge.ProducerOptions{Topic: part})

	var (
		mu      sync.Mutex
		order   []int // message numbers in callback order
		results = make([]bridge.SendResult, n)
		errs    []string
	)
	ctx := waitCtx(t, h)
	for i := range n {
		p.SendAsync(ctx, &bridge.OutMessage{Value: valueOf(i)}, func(r bridge.SendResult, err error) {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, i)
			results[i] = r
			if err != nil {
				errs = append(errs, fmt.Sprintf("message %d: %v", i, err))
			}
		})
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	mu.Lock()
	fired := len(order)
	mu.Unlock()
	if fired != n {
		t.Fatalf("Flush returned with %d of %d callbacks fired", fired, n)
	}
	time.Sleep(h.Quiet) // any extra callback would show now
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("send errors: %v", errs[:min(len(errs), 5)])
	}
	if len(order) != n {
		t.Fatalf("%d callbacks for %d messages", len(order), n)
	}
	for k, i := range order {
		if i != k {
			t.Fatalf("callback %d is of message %d: callbacks out of send order", k, i)
		}
	}
	for i, r := range results {
		if r.Index != int64(i) {
			t.Fatalf("message %d: index %d, want %d (indexes must be contiguous from 0)", i, r.Index, i)
		}
		if r.Partition != 1 || r.Topic != part {
			t.Fatalf("message %d: landed on %q partition %d, want %q partition 1", i, r.Topic, r.Partition, part)
		}
		if r.ID == nil || r.ID.Index() != r.Index || r.ID.Partition() != 1 {
			t.Fatalf("message %d: ID %v does not match index %d partition 1", i, r.ID, r.Index)
		}
	}
	if got := mustIndexRange(t, h, b, part); got != (bridge.IndexRange{First: 0, Next: n}) {
		t.Errorf("IndexRange(partition 1) = %+v, want {0 %d}", got, n)
	}
	for _, i := range []int{0, 2} {
		if got := mustIndexRange(t, h, b, bridge.PartitionName(topic, i)); got.Next != 0 {
			t.Errorf("IndexRange(partition %d) = %+v, want empty: a partition's name must pin messages", i, got)
		}
	}
}

// Send is SendAsync and a wait.
func testProduceSend(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	p := newProducer(t, h, b, bridge.ProducerOptions{Topic: topic})
	for i := range 3 {
		r, err := p.Send(waitCtx(t, h), &bridge.OutMessage{Value: valueOf(i)})
		if err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		if r.Index != int64(i) || r.Partition != -1 || r.Topic != topic {
			t.Errorf("Send %d: %+v, want index %d partition -1 topic %s", i, r, i, topic)
		}
	}
	m := readN(t, h, newReader(t, h, b, topic, bridge.StartAtIndex(2)), 1)[0]
	if m.Index != 2 || !bytes.Equal(m.Value, valueOf(2)) {
		t.Errorf("read back %s, want index 2 value v2", describe(m))
	}
}

// On a partitioned topic a key always goes to the same partition, and the
// keys spread over more than one partition.
func testProduceKeyRouting(t *testing.T, h Harness) {
	const keys, rounds = 30, 4
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 3)
	res := produceTo(t, h, b, topic, keyedMsgs(keys*rounds, keys))
	partOf := map[int]int{}
	used := map[int]bool{}
	perPart := map[int][]int64{}
	for i, r := range res {
		k := i % keys
		if r.Partition < 0 || r.Partition > 2 {
			t.Fatalf("message %d: partition %d out of 0..2", i, r.Partition)
		}
		if r.Topic != bridge.PartitionName(topic, r.Partition) {
			t.Errorf("message %d: Topic %q, want partition name %q", i, r.Topic, bridge.PartitionName(topic, r.Partition))
		}
		if p, ok := partOf[k]; ok && p != r.Partition {
			t.Errorf("key k%d went to partitions %d and %d", k, p, r.Partition)
		}
		partOf[k] = r.Partition
		used[r.Partition] = true
		perPart[r.Partition] = append(perPart[r.Partition], r.Index)
	}
	if len(used) < 2 {
		t.Errorf("%d keys all went to partitions %v: routing does not hash keys", keys, used)
	}
	// Each partition holds its messages at contiguous indexes, readable back
	// with the same key.
	for p, idx := range perPart {
		for j, ix := range idx {
			if ix != int64(j) {
				t.Fatalf("partition %d: send results have indexes %v, want 0..%d", p, idx, len(idx)-1)
			}
		}
		msgs := readN(t, h, newReader(t, h, b, bridge.PartitionName(topic, p), bridge.StartEarliest()), len(idx))
		checkIndexes(t, msgs, 0)
		for _, m := range msgs {
			if m.Partition != p || m.Topic != bridge.PartitionName(topic, p) {
				t.Errorf("read from partition %d: %s", p, describe(m))
			}
			var k int
			if _, err := fmt.Sscanf(string(m.Key), "k%d", &k); err != nil || partOf[k] != p {
				t.Errorf("partition %d holds %s, whose key was routed to %d", p, describe(m), partOf[k])
			}
		}
	}
}

// Messages without a key on a partitioned topic land on valid partitions.
func testProduceNoKeyPartitioned(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 3)
	res := produceTo(t, h, b, topic, plainMsgs(30))
	counts := map[int]int64{}
	for i, r := range res {
		if r.Partition < 0 || r.Partition > 2 {
			t.Fatalf("message %d: partition %d out of 0..2", i, r.Partition)
		}
		if r.Index != counts[r.Partition] {
			t.Errorf("message %d: index %d on partition %d, want %d", i, r.Index, r.Partition, counts[r.Partition])
		}
		counts[r.Partition]++
	}
}

// roundTripMsgs covers what a message carries: nil, empty and binary keys,
// empty and binary values, properties, event time or none.
func roundTripMsgs() []*bridge.OutMessage {
	et := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
	return []*bridge.OutMessage{
		{Key: nil, Value: []byte("no key")},
		{Key: []byte{}, Value: []byte("empty key")},
		{Key: []byte{0, 1, 0xfe, 0xff, '/', ' '}, Value: []byte("binary key")},
		{Key: []byte("k"), Value: nil},
		{Key: []byte("k"), Value: []byte{0, 0xff, 0x80, 0}},
		{Value: []byte("props"), Properties: map[string]string{"a": "1", "empty": "", "ünï": "cødé ✓", "sp ace": "x=y;z"}},
		{Value: []byte("event time"), EventTime: et},
		{Key: []byte("all"), Value: bytes.Repeat([]byte("x"), 64<<10), Properties: map[string]string{"h": "v"}, EventTime: et.Add(1500 * time.Millisecond)},
	}
}

// checkSame fails unless got carries what want was sent with.
func checkSame(t *testing.T, i int, got *bridge.Message, want *bridge.OutMessage) {
	t.Helper()
	if (got.Key == nil) != (want.Key == nil) || !bytes.Equal(got.Key, want.Key) {
		t.Errorf("message %d: key %#v (nil %v), sent %#v (nil %v)", i, got.Key, got.Key == nil, want.Key, want.Key == nil)
	}
	if !bytes.Equal(got.Value, want.Value) {
		t.Errorf("message %d: value of %d bytes differs from the %d sent", i, len(got.Value), len(want.Value))
	}
	if len(got.Properties) != len(want.Properties) || (len(want.Properties) > 0 && !maps.Equal(got.Properties, want.Properties)) {
		t.Errorf("message %d: properties %q, sent %q", i, got.Properties, want.Properties)
	}
	if !got.EventTime.Equal(want.EventTime) || got.EventTime.IsZero() != want.EventTime.IsZero() {
		t.Errorf("message %d: event time %v, sent %v", i, got.EventTime, want.EventTime)
	}
}

// Key (nil, empty, bytes), value, properties and event time come back
// exactly, through a reader or a consumer; publish time is set and plausible.
func testProduceRoundTrip(t *testing.T, h Harness, viaConsumer bool) {
	b := newBackend(t, h)
	for _, parts := range []int{0, 2} {
		topic := newTopic(t, h, b, parts)
		dest := topic
		wantPart := -1
		if parts > 0 {
			dest = bridge.PartitionName(topic, 1)
			wantPart = 1
		}
		msgs := roundTripMsgs()
		before := time.Now()
		res := produceTo(t, h, b, dest, msgs)
		after := time.Now()
		var got []*bridge.Message
		if viaConsumer {
			c := subscribe(t, h, b, bridge.SubscribeOptions{Topics: []string{topic}, Subscription: "rt",
				Type: bridge.Exclusive, InitialPosition: bridge.Earliest})
			got = recvAck(t, h, c, len(msgs))
		} else {
			got = readN(t, h, newReader(t, h, b, dest, bridge.StartEarliest()), len(msgs))
		}
		checkIndexes(t, got, 0)
		for i, m := range got {
			checkSame(t, i, m, msgs[i])
			if m.Topic != dest || m.Partition != wantPart {
				t.Errorf("message %d: topic %q partition %d, want %q %d", i, m.Topic, m.Partition, dest, wantPart)
			}
			if m.ID.Partition() != wantPart {
				t.Errorf("message %d: ID.Partition() %d, want %d", i, m.ID.Partition(), wantPart)
			}
			if m.Index != res[i].Index {
				t.Errorf("message %d: read at index %d, send result said %d", i, m.Index, res[i].Index)
			}
			// Publish time is the backend's clock (on Pulsar, maybe another
			// machine's, in milliseconds): allow a few seconds.
			if m.PublishTime.Before(before.Add(-5*time.Second)) || m.PublishTime.After(after.Add(5*time.Second)) {
				t.Errorf("message %d: publish time %v outside the send window [%v, %v]", i, m.PublishTime, before, after)
			}
			if i > 0 && m.PublishTime.Before(got[i-1].PublishTime) {
				t.Errorf("message %d: publish time %v before the previous message's %v", i, m.PublishTime, got[i-1].PublishTime)
			}
			if m.RedeliveryCount != 0 {
				t.Errorf("message %d: RedeliveryCount %d on first delivery", i, m.RedeliveryCount)
			}
		}
	}
}

// A producer with a small MaxPending still delivers everything.
func testProduceMaxPending(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	p := newProducer(t, h, b, bridge.ProducerOptions{Topic: topic, MaxPending: 4, BatchingMaxMessages: 2})
	res := mustProduce(t, h, p, plainMsgs(200))
	for i, r := range res {
		if r.Index != int64(i) {
			t.Fatalf("message %d: index %d", i, r.Index)
		}
	}
}
