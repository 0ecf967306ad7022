package pulsar_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
)

// txnFixture is a backend with transactions, a topic of two partitions and
// a producer on each.
type txnFixture struct {
	be    *pulsarbackend.Backend
	c     pulsar.Client
	topic string
	parts []string
	prods []bridge.Producer
}

func newTxnFixture(t *testing.T, ctx context.Context, name string) *txnFixture {
	t.Helper()
	be := openBackend(t)
	ok, err := be.TxnsAvailable(ctx)
	if err != nil {
		t.Fatalf("TxnsAvailable: %v", err)
	}
	if !ok {
		t.Skip("the broker's transaction coordinator is disabled")
	}
	f := &txnFixture{be: be, c: nativeClient(t),
		topic: fmt.Sprintf("persistent://public/default/%s-%d", name, time.Now().UnixNano())}
	if err := be.Admin().CreateTopic(ctx, f.topic, 2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = be.Admin().DeleteTopic(context.Background(), f.topic) })
	for i := range 2 {
		part := bridge.PartitionName(f.topic, i)
		p, err := be.CreateProducer(ctx, bridge.ProducerOptions{Topic: part, BatchingMaxMessages: 4, BatchingMaxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		f.parts = append(f.parts, part)
		f.prods = append(f.prods, p)
	}
	return f
}

// sendTxn sends values in transaction id (or outside any when id is nil)
// and returns the first message's index.
func sendTxn(t *testing.T, ctx context.Context, p bridge.Producer, id *bridge.TxnID, values ...string) int64 {
	t.Helper()
	msgs := make([]bridge.OutMessage, len(values))
	for i, v := range values {
		msgs[i] = bridge.OutMessage{Value: []byte(v), Key: []byte("k")}
	}
	type out struct {
		r   bridge.SendResult
		err error
	}
	ch := make(chan out, 1)
	cb := func(r bridge.SendResult, err error) { ch <- out{r, err} }
	if id != nil {
		p.(bridge.TxnProducer).SendTxn(ctx, *id, msgs, "", cb)
	} else {
		p.(bridge.TaggedProducer).SendTagged(ctx, msgs, "", cb)
	}
	select {
	case o := <-ch:
		if o.err != nil {
			t.Fatalf("send %v: %v", values, o.err)
		}
		for i, v := range values {
			sentIndex[v] = o.r.Index + int64(i)
		}
		return o.r.Index
	case <-ctx.Done():
		t.Fatalf("send %v: no callback", values)
	}
	return 0
}

// sentIndex are the sentIndex sends reported, by value: readers must see the
// same.
var sentIndex = map[string]int64{}

// bridgeValues reads a partition from the start with the bridge's reader
// until nothing comes for a while.
func bridgeValues(t *testing.T, ctx context.Context, be bridge.Backend, part string) []string {
	t.Helper()
	r, err := be.CreateReader(ctx, bridge.ReaderOptions{Topic: part, Start: bridge.StartEarliest()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for {
		nctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		m, err := r.Next(nctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal(err)
			}
			return got
		}
		got = append(got, string(m.Value))
		if ix, ok := sentIndex[string(m.Value)]; ok && ix != m.Index {
			t.Errorf("bridge reader of %s: %q has index %d, its send said %d", part, m.Value, m.Index, ix)
		}
	}
}

// nativeValues receives what has arrived on a native consumer until
// nothing comes for a while.
func nativeValues(t *testing.T, ctx context.Context, c pulsar.Consumer) []string {
	t.Helper()
	var got []string
	for {
		nctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		m, err := c.Receive(nctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal(err)
			}
			return got
		}
		c.Ack(m)
		got = append(got, string(m.Payload()))
		if ix, ok := sentIndex[string(m.Payload())]; ok && (m.Index() == nil || int64(*m.Index()) != ix) {
			t.Errorf("native consumer: %q has index %v, its send said %d", m.Payload(), m.Index(), ix)
		}
	}
}

func nativeConsumer(t *testing.T, c pulsar.Client, part string) pulsar.Consumer {
	t.Helper()
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: part, SubscriptionName: "txn-test",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cons.Close)
	return cons
}

func readableEnd(t *testing.T, ctx context.Context, be *pulsarbackend.Backend, part string) int64 {
	t.Helper()
	n, err := be.ReadableEnd(ctx, part)
	if err != nil {
		t.Fatalf("ReadableEnd %s: %v", part, err)
	}
	return n
}

func sameValues(t *testing.T, where string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", where, got, want)
	}
}

func TestTxnAvailable(t *testing.T) {
	be := openBackend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 2 { // the second answer is the cached one
		ok, err := be.TxnsAvailable(ctx)
		if err != nil || !ok {
			t.Fatalf("TxnsAvailable: %v %v, want true (the test broker runs its coordinator)", ok, err)
		}
	}
}

// TestTxnConcurrent: many callers share the coordinator connections;
// each gets its own answer (requests matched by id).
func TestTxnConcurrent(t *testing.T) {
	be := openBackend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if ok, err := be.TxnsAvailable(ctx); err != nil || !ok {
		t.Fatalf("TxnsAvailable: %v %v", ok, err)
	}
	const n = 24
	ids := make(chan bridge.TxnID, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			id, err := be.BeginTxn(ctx, time.Minute)
			if err == nil {
				ids <- id
				err = be.EndTxn(ctx, id, i%2 == 0)
			}
			errs <- err
		}()
	}
	seen := map[bridge.TxnID]bool{}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(ids)
	for id := range ids {
		if seen[id] {
			t.Fatalf("transaction id %v given twice", id)
		}
		seen[id] = true
	}
}

// TestTxnNeedsPublisher: a producer that routes over partitions (the
// client's, message by message) refuses SendTxn instead of sending outside
// the transaction.
func TestTxnNeedsPublisher(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := newTxnFixture(t, ctx, "txn-routed")
	p, err := f.be.CreateProducer(ctx, bridge.ProducerOptions{Topic: f.topic})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	id, err := f.be.BeginTxn(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer f.be.EndTxn(ctx, id, false)
	errc := make(chan error, 1)
	p.(bridge.TxnProducer).SendTxn(ctx, id, []bridge.OutMessage{{Value: []byte("x")}}, "", func(_ bridge.SendResult, err error) { errc <- err })
	if err := <-errc; !errors.Is(err, bridge.ErrInvalid) {
		t.Fatalf("SendTxn on a routing producer: %v, want ErrInvalid", err)
	}
}

// TestTxnCommit: a transaction's records on two partitions are seen by no
// reader (the bridge's, a native consumer) before the commit and by all
// after it; ReadableEnd stops before the transaction's first record until
// the commit, then passes its last.
func TestTxnCommit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	f := newTxnFixture(t, ctx, "txn-commit")
	var cons []pulsar.Consumer
	for i, part := range f.parts {
		cons = append(cons, nativeConsumer(t, f.c, part))
		sendTxn(t, ctx, f.prods[i], nil, fmt.Sprintf("plain-%d", i))
	}
	id, err := f.be.BeginTxn(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.be.AddTxnPartitions(ctx, id, f.parts); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"plain-0"}, {"plain-1"}}
	first := make([]int64, 2)
	for i := range f.parts {
		for b := range 3 { // three batches of 5: two entries each
			var vals []string
			for j := range 5 {
				vals = append(vals, fmt.Sprintf("txn-%d-%d-%d", i, b, j))
			}
			ix := sendTxn(t, ctx, f.prods[i], &id, vals...)
			if b == 0 {
				first[i] = ix
			} else if want := first[i] + int64(5*b); ix != want {
				t.Errorf("partition %d batch %d: first index %d, want %d", i, b, ix, want)
			}
			want[i] = append(want[i], vals...)
		}
	}
	for i, part := range f.parts {
		if first[i] != 1 {
			t.Errorf("partition %d: the transaction's first record has index %d, want 1", i, first[i])
		}
		if end := readableEnd(t, ctx, f.be, part); end != first[i] {
			t.Errorf("partition %d open: ReadableEnd %d, want %d (the transaction's first record)", i, end, first[i])
		}
		sameValues(t, "bridge reader before commit", bridgeValues(t, ctx, f.be, part), want[i][:1])
		sameValues(t, "native consumer before commit", nativeValues(t, ctx, cons[i]), want[i][:1])
	}
	if err := f.be.EndTxn(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	for i, part := range f.parts {
		if end := readableEnd(t, ctx, f.be, part); end != first[i]+15 {
			t.Errorf("partition %d committed: ReadableEnd %d, want %d (after the last record)", i, end, first[i]+15)
		}
		sameValues(t, "bridge reader after commit", bridgeValues(t, ctx, f.be, part), want[i])
		sameValues(t, "native consumer after commit", nativeValues(t, ctx, cons[i]), want[i][1:])
	}
}

// TestTxnAbort: an aborted transaction's records reach no reader, plain
// records after them do, and ReadableEnd moves past the plain records only.
func TestTxnAbort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	f := newTxnFixture(t, ctx, "txn-abort")
	part, p := f.parts[0], f.prods[0]
	cons := nativeConsumer(t, f.c, part)
	before := sendTxn(t, ctx, p, nil, "before")
	id, err := f.be.BeginTxn(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.be.AddTxnPartitions(ctx, id, []string{part}); err != nil {
		t.Fatal(err)
	}
	sendTxn(t, ctx, p, &id, "aborted-1", "aborted-2", "aborted-3", "aborted-4", "aborted-5")
	if end := readableEnd(t, ctx, f.be, part); end != before+1 {
		t.Errorf("open: ReadableEnd %d, want %d", end, before+1)
	}
	if err := f.be.EndTxn(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if end := readableEnd(t, ctx, f.be, part); end != before+1 {
		t.Errorf("aborted: ReadableEnd %d, want %d", end, before+1)
	}
	after := sendTxn(t, ctx, p, nil, "after-1", "after-2")
	if end := readableEnd(t, ctx, f.be, part); end != after+2 {
		t.Errorf("after the plain records: ReadableEnd %d, want %d", end, after+2)
	}
	want := []string{"before", "after-1", "after-2"}
	sameValues(t, "bridge reader", bridgeValues(t, ctx, f.be, part), want)
	sameValues(t, "native consumer", nativeValues(t, ctx, cons), want)
	r, err := f.c.CreateReader(pulsar.ReaderOptions{Topic: part, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var native []string
	for r.HasNext() {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		native = append(native, string(m.Payload()))
	}
	sameValues(t, "native reader", native, want)
}

// TestTxnEndTwiceAndElsewhere: a transaction ended once is unknown to a
// second end; a transaction begun by one backend is ended by another (the
// id alone names it, as for two gateway processes).
func TestTxnEndTwiceAndElsewhere(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	f := newTxnFixture(t, ctx, "txn-end")
	part := f.parts[1]
	for _, commit := range []bool{true, false} {
		id, err := f.be.BeginTxn(ctx, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.be.EndTxn(ctx, id, commit); err != nil {
			t.Fatalf("end (commit %v): %v", commit, err)
		}
		for _, again := range []bool{true, false} {
			if err := f.be.EndTxn(ctx, id, again); !errors.Is(err, bridge.ErrTxnUnknown) {
				t.Errorf("ended with commit %v, then commit %v: %v, want ErrTxnUnknown", commit, again, err)
			}
		}
	}

	other := openBackend(t)
	id, err := f.be.BeginTxn(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.AddTxnPartitions(ctx, id, []string{part}); err != nil {
		t.Fatal(err)
	}
	sendTxn(t, ctx, f.prods[1], &id, "elsewhere")
	sameValues(t, "before the other backend's commit", bridgeValues(t, ctx, f.be, part), nil)
	if err := other.EndTxn(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	sameValues(t, "after the other backend's commit", bridgeValues(t, ctx, other, part), []string{"elsewhere"})
	if err := f.be.EndTxn(ctx, id, true); !errors.Is(err, bridge.ErrTxnUnknown) {
		t.Errorf("end again from the first backend: %v, want ErrTxnUnknown", err)
	}
}

// TestTxnTimeout: the broker aborts a transaction left open past its ttl:
// its records never show, and a commit then finds it unknown.
func TestTxnTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	f := newTxnFixture(t, ctx, "txn-ttl")
	part := f.parts[0]
	id, err := f.be.BeginTxn(ctx, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.be.AddTxnPartitions(ctx, id, []string{part}); err != nil {
		t.Fatal(err)
	}
	sendTxn(t, ctx, f.prods[0], &id, "timed-out")
	time.Sleep(6 * time.Second)
	if err := f.be.EndTxn(ctx, id, true); !errors.Is(err, bridge.ErrTxnUnknown) {
		t.Errorf("commit after the ttl: %v, want ErrTxnUnknown", err)
	}
	sameValues(t, "after the ttl", bridgeValues(t, ctx, f.be, part), nil)
	if end := readableEnd(t, ctx, f.be, part); end != 0 {
		t.Errorf("nothing readable: ReadableEnd %d, want the first index, 0", end)
	}
	after := sendTxn(t, ctx, f.prods[0], nil, "plain")
	sameValues(t, "plain after the ttl", bridgeValues(t, ctx, f.be, part), []string{"plain"})
	if end := readableEnd(t, ctx, f.be, part); end != after+1 {
		t.Errorf("ReadableEnd %d, want %d", end, after+1)
	}
}
