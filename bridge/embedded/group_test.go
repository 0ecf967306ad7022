package embedded

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func TestGroupRoundTrip(t *testing.T) {
	msgs := [][]byte{
		appendMessage(nil, &storedMessage{Value: []byte("a")}),
		appendMessage(nil, &storedMessage{Key: []byte("k"), Value: bytes.Repeat([]byte("b"), 300)}),
	}
	g := appendGroup(nil, msgs)
	if len(g) != groupSize(msgs) {
		t.Fatalf("groupSize %d, encoded %d", groupSize(msgs), len(g))
	}
	got, err := splitGroup(g, nil)
	if err != nil || len(got) != 2 || !bytes.Equal(got[0], msgs[0]) || !bytes.Equal(got[1], msgs[1]) {
		t.Fatalf("split: %q, %v", got, err)
	}
	// A value stored before groups is one message: a group of one.
	got, err = splitGroup(msgs[1], nil)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0], msgs[1]) {
		t.Fatalf("old value: %q, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {groupVersion}, {groupVersion, 0}, {groupVersion, 2, 1, 1}, append(g, 0), {9}} {
		if _, err := splitGroup(bad, nil); err == nil {
			t.Errorf("%x: split without error", bad)
		}
	}
	if _, err := groupFirst(2, 4); err == nil {
		t.Error("a group of 4 ending at index 2 is accepted")
	}
}

// FuzzSplitGroup: a corrupt group is an error, never a panic or a huge
// allocation, and whatever splits re-encodes to a group that splits the same.
func FuzzSplitGroup(f *testing.F) {
	m := appendMessage(nil, &storedMessage{Key: []byte("k"), Value: []byte("v"), Properties: map[string]string{"a": "b"}})
	f.Add(appendGroup(nil, [][]byte{m, m[:3], nil}))
	f.Add(m)
	f.Add([]byte{groupVersion, 0xff, 0xff, 0xff, 0xff, 0x0f, 1})
	f.Add(appendRawGroup(nil, time.Unix(1, 0), 1, []byte("not a batch")))
	f.Fuzz(func(t *testing.T, b []byte) {
		if g, err := parseGroup(b, nil); err == nil && g.raw != nil {
			if msgs, err := g.rawMessages(); err == nil && len(msgs) != g.count {
				t.Fatalf("raw group of %d decodes to %d", g.count, len(msgs))
			}
			return
		}
		msgs, err := splitGroup(b, nil)
		if err != nil {
			return
		}
		if len(msgs) == 0 {
			t.Fatal("a group of no messages splits without error")
		}
		for _, m := range msgs {
			decodeMessage(m) // may fail, must not panic
		}
		if len(b) > 0 && b[0] == recordVersion {
			return // an old single message, kept as it is
		}
		again, err := splitGroup(appendGroup(nil, msgs), nil)
		if err != nil || len(again) != len(msgs) {
			t.Fatalf("re-encoded group: %d messages, %v; want %d", len(again), err, len(msgs))
		}
		for i := range msgs {
			if !bytes.Equal(again[i], msgs[i]) {
				t.Fatalf("message %d changed in a round trip", i)
			}
		}
	})
}

// groupsOf lists a partition's stored groups as (first, count, bytes).
func groupsOf(t *testing.T, b *Backend, p *partition) [][3]int64 {
	t.Helper()
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: messageKey(nil, p.id, 0), UpperBound: messageKey(nil, p.id+1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out [][3]int64
	for it.First(); it.Valid(); it.Next() {
		g, err := parseGroup(it.Value(), nil)
		if err != nil {
			t.Fatal(err)
		}
		last := messageKeyIndex(it.Key())
		out = append(out, [3]int64{last - int64(g.count) + 1, int64(g.count), int64(len(it.Value()))})
	}
	return out
}

// TestGroupedLog stores messages in groups, some split by the message and
// byte bounds, and reads them back by every path that reads the log.
func TestGroupedLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.Close() }()
	if err := b.Admin().CreateTopic(ctx, "g", 2); err != nil {
		t.Fatal(err)
	}
	part := bridge.PartitionName("g", 0)
	const n = 20000
	// Round robin over two partitions, so commits interleave them.
	pr, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: "g", MaxPending: n})
	if err != nil {
		t.Fatal(err)
	}
	value := func(i int) []byte {
		if i > 15000 && i < 15008 {
			return bytes.Repeat([]byte{byte(i)}, 300<<10) // large ones hit the byte bound
		}
		return []byte("v" + strconv.Itoa(i))
	}
	var times []time.Time
	for i := 0; i < n; i++ {
		pr.SendAsync(ctx, &bridge.OutMessage{Value: value(i), Key: nil}, func(r bridge.SendResult, err error) {
			if err != nil {
				t.Error(err)
			}
		})
		if i%3000 == 0 {
			times = append(times, time.Now())
		}
	}
	if err := pr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	pr.Close()

	p, _ := b.lookupPartition(part)
	groups := groupsOf(t, b, p)
	next, multi, most := int64(0), false, int64(0)
	for _, g := range groups {
		most = max(most, g[2])
		if g[0] != next {
			t.Fatalf("group starts at %d, want %d", g[0], next)
		}
		if g[1] > maxGroupMessages || g[1] > 1 && g[2] > maxGroupBytes+maxGroupMessages*3+8 {
			t.Fatalf("group of %d messages, %d bytes: over the bounds", g[1], g[2])
		}
		multi = multi || g[1] > 1
		next = g[0] + g[1]
	}
	if !multi || next != n/2 {
		t.Fatalf("%d groups end at %d (want %d), grouped: %v", len(groups), next, n/2, multi)
	}
	t.Logf("%d messages in %d groups, the largest %d bytes", next, len(groups), most)

	want := func(idx int64) []byte { return value(int(idx)*2 + 1) } // round robin starts at 1
	check := func(what string, m *bridge.Message, idx int64) {
		t.Helper()
		if m.Index != idx || !bytes.Equal(m.Value, want(idx)) || m.ID.Index() != idx {
			t.Fatalf("%s: got index %d value %.10q, want %d %.10q", what, m.Index, m.Value, idx, want(idx))
		}
	}
	// Readers from a start inside and at the edges of groups.
	for _, g := range groups[:min(len(groups), 6)] {
		for _, start := range []int64{g[0], g[0] + g[1]/2, g[0] + g[1] - 1} {
			r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: part, Start: bridge.StartAtIndex(start)})
			if err != nil {
				t.Fatal(err)
			}
			for i := start; i < min(start+300, n/2); i++ {
				m, err := r.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				check("reader", m, i)
			}
			r.Close()
		}
	}
	for _, idx := range []int64{0, 1, 4095, 4096, n/2 - 1} {
		m, err := p.get(idx)
		if err != nil {
			t.Fatal(err)
		}
		check("get", m, idx)
	}
	if _, err := p.get(n / 2); err == nil {
		t.Fatal("get past the end found a message")
	}
	// IndexAtTime: the first message published at or after t.
	for _, at := range times {
		idx, err := b.Admin().IndexAtTime(ctx, part, at)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := p.get(idx)
		if m.PublishTime.Before(at) {
			t.Fatalf("IndexAtTime(%v) = %d, published before", at, idx)
		}
		if idx > 0 {
			if prev, _ := p.get(idx - 1); !prev.PublishTime.Before(at) {
				t.Fatalf("IndexAtTime(%v) = %d, but %d is not before it", at, idx, idx-1)
			}
		}
	}

	// A subscription started inside a group; nacked messages come again.
	start := int64(100)
	if err := b.Admin().CreateSubscription(ctx, "g", "s", start); err != nil {
		t.Fatal(err)
	}
	c, err := b.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{"g"}, Subscription: "s",
		Type: bridge.Shared, ReceiverQueueSize: 10, NackRedeliveryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	seen, nacked := map[[2]int64]bool{}, map[[2]int64]bool{}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for len(seen) < 2*(n/2-int(start)) {
		m, err := c.Receive(rctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(seen), err)
		}
		if m.Index < start || !bytes.Equal(m.Value, value(int(m.Index)*2+1-m.Partition)) {
			t.Fatalf("subscription: %d of partition %d is not what was sent", m.Index, m.Partition)
		}
		k := [2]int64{int64(m.Partition), m.Index}
		if nacked[k] != (m.RedeliveryCount > 0) {
			t.Fatalf("%v: redelivery count %d", k, m.RedeliveryCount)
		}
		if m.Index%500 == 7 && !nacked[k] {
			nacked[k] = true
			c.Nack(m.ID)
			continue
		}
		seen[k] = true
		c.Ack(m.ID)
	}
	c.Close()
	subs, _ := b.Admin().Subscriptions(ctx, "g")
	if len(subs) != 1 || subs[0].Backlog != 0 {
		t.Fatalf("subscriptions after acking all: %+v", subs)
	}

	// After a restart the extent and the next index come from the groups.
	b.Close()
	if b, err = Open(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	rng, err := b.Admin().IndexRange(ctx, part)
	if err != nil || rng.First != 0 || rng.Next != n/2 {
		t.Fatalf("range after reopen: %+v, %v", rng, err)
	}
	res, err := mustProducer(t, b, part).Send(ctx, &bridge.OutMessage{Value: []byte("after")})
	if err != nil || res.Index != n/2 {
		t.Fatalf("send after reopen: index %d, %v", res.Index, err)
	}

	// Deleting the topic leaves no message behind.
	if err := b.Admin().DeleteTopic(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if g := groupsOf(t, b, p); len(g) != 0 {
		t.Fatalf("%d groups left after delete", len(g))
	}
}

func mustProducer(t *testing.T, b *Backend, topic string) bridge.Producer {
	t.Helper()
	pr, err := b.CreateProducer(context.Background(), bridge.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close() })
	return pr
}

// TestUngroupedValuesStillRead: a store written before groups (one message
// per key) opens, reads and grows.
func TestUngroupedValuesStillRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Admin().CreateTopic(ctx, "old", 0); err != nil {
		t.Fatal(err)
	}
	p, _ := b.lookupPartition("old")
	for i := int64(3); i < 6; i++ { // the first three are gone (as by retention)
		sm := &storedMessage{Value: []byte(fmt.Sprint("old", i)), PublishTime: time.Unix(100+i, 0)}
		if err := b.db.Set(messageKey(nil, p.id, i), appendMessage(nil, sm), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()
	if b, err = Open(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := mustProducer(t, b, "old").Send(ctx, &bridge.OutMessage{Value: []byte("new6")}); err != nil {
		t.Fatal(err)
	}
	rng, _ := b.Admin().IndexRange(ctx, "old")
	if rng.First != 3 || rng.Next != 7 {
		t.Fatalf("range %+v, want 3..7", rng)
	}
	r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: "old", Start: bridge.StartEarliest()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, want := range []string{"old3", "old4", "old5", "new6"} {
		m, err := r.Next(ctx)
		if err != nil || string(m.Value) != want {
			t.Fatalf("read %q, %v; want %q", m.Value, err, want)
		}
	}
	if idx, err := b.Admin().IndexAtTime(ctx, "old", time.Unix(104, 0)); err != nil || idx != 4 {
		t.Fatalf("IndexAtTime = %d, %v; want 4", idx, err)
	}
}

// TestWriteGroupsBounds: a run longer than a group's bounds is split, and
// every message lands once, in order.
func TestWriteGroupsBounds(t *testing.T) {
	b, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := newPartition(b, "p", "p", -1, 77)
	var enc arena
	var run []*pendingMessage
	sizes := map[int]int{5000: 700 << 10, 5001: 700 << 10, 5002: 2 << 20} // byte bound; one alone is over it
	for i := 0; i < 10000; i++ {
		run = append(run, &pendingMessage{part: p, index: int64(i), enc: enc.encode(&storedMessage{Value: make([]byte, sizes[i])})})
	}
	batch := b.db.NewBatch()
	writeGroups(batch, run, nil)
	if err := batch.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	var counts []int64
	for _, g := range groupsOf(t, b, p) {
		counts = append(counts, g[1])
	}
	want := []int64{4096, 905, 1, 1, 4096, 901}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("group sizes %v, want %v", counts, want)
	}
}

// TestArena: encodings stay intact while the arena fills more chunks, and
// chunks given back are reused.
func TestArena(t *testing.T) {
	var a arena
	var encs [][]byte
	size := func(i int) int { return i%7*300 + i%100/99*arenaChunk*3/2 } // some over a chunk
	for i := 0; i < 3000; i++ {
		encs = append(encs, a.encode(&storedMessage{Value: bytes.Repeat([]byte{byte(i)}, size(i))}))
	}
	for i, e := range encs {
		m, err := decodeMessage(e)
		if err != nil || len(m.Value) != size(i) || len(m.Value) > 0 && m.Value[0] != byte(i) {
			t.Fatalf("message %d overwritten: %v", i, err)
		}
	}
	chunks := a.take()
	if len(chunks) < 2 || a.cur != nil {
		t.Fatalf("take: %d chunks", len(chunks))
	}
	a.giveBack(chunks)
	if len(a.free) == 0 || len(a.free) > arenaMaxFree {
		t.Fatalf("%d chunks kept for reuse", len(a.free))
	}
	free := len(a.free)
	a.encode(&storedMessage{Value: []byte("x")})
	if len(a.used) != 1 || len(a.free) != free-1 {
		t.Fatal("a small message did not go to a reused chunk")
	}
}
