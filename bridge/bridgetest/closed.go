package bridgetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func closedTests() []testCase {
	return []testCase{
		{"Backend", testClosedBackend},
		{"HandlesOfClosedBackend", testClosedHandlesOfBackend},
		{"Producer", testClosedProducer},
		{"Consumer", testClosedConsumer},
		{"Reader", testClosedReader},
		{"CloseUnblocksReceive", testClosedUnblocksReceive},
	}
}

// wantClosed fails unless err is ErrClosed.
func wantClosed(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, bridge.ErrClosed) {
		t.Errorf("%s after Close: want ErrClosed, got %v", what, err)
	}
}

// safely runs f, turning a panic into a test failure.
func safely(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s after Close panicked: %v", what, r)
		}
	}()
	f()
}

// sendAsyncErr is the error a SendAsync callback reports, within h.Wait.
func sendAsyncErr(t *testing.T, h Harness, p bridge.Producer) error {
	t.Helper()
	got := make(chan error, 1)
	p.SendAsync(waitCtx(t, h), &bridge.OutMessage{Value: []byte("x")}, func(_ bridge.SendResult, err error) {
		select {
		case got <- err:
		default:
		}
	})
	select {
	case err := <-got:
		return err
	case <-time.After(h.Wait):
		t.Errorf("SendAsync callback did not fire within %v", h.Wait)
		return nil
	}
}

func testClosedBackend(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	ad := b.Admin()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := waitCtx(t, h)
	safely(t, "CreateTopic", func() { wantClosed(t, "CreateTopic", ad.CreateTopic(ctx, topic+"x", 0)) })
	safely(t, "Topic", func() { _, err := ad.Topic(ctx, topic); wantClosed(t, "Topic", err) })
	safely(t, "ListTopics", func() { _, err := ad.ListTopics(ctx, h.Namespace); wantClosed(t, "ListTopics", err) })
	safely(t, "IndexRange", func() { _, err := ad.IndexRange(ctx, topic); wantClosed(t, "IndexRange", err) })
	safely(t, "StoredBytes", func() { _, err := ad.StoredBytes(ctx, topic); wantClosed(t, "StoredBytes", err) })
	safely(t, "Subscriptions", func() { _, err := ad.Subscriptions(ctx, topic); wantClosed(t, "Subscriptions", err) })
	safely(t, "Admin()", func() {
		_, err := b.Admin().Topic(ctx, topic)
		wantClosed(t, "Admin().Topic", err)
	})
	safely(t, "CreateProducer", func() {
		_, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: topic})
		wantClosed(t, "CreateProducer", err)
	})
	safely(t, "Subscribe", func() {
		_, err := b.Subscribe(ctx, subOpts(topic, "s", bridge.Exclusive))
		wantClosed(t, "Subscribe", err)
	})
	safely(t, "CreateReader", func() {
		_, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: topic})
		wantClosed(t, "CreateReader", err)
	})
	safely(t, "State", func() { _, err := b.State(ctx, "t"); wantClosed(t, "State", err) })
	safely(t, "Close", func() { _ = b.Close() })
}

// Producers, consumers, readers and state tables of a closed backend report
// ErrClosed.
func testClosedHandlesOfBackend(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	p := newProducer(t, h, b, bridge.ProducerOptions{Topic: topic})
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	r := newReader(t, h, b, topic, bridge.StartEarliest())
	st := mustState(t, h, b, uniqueTable(t, "t"))
	res := mustProduce(t, h, p, plainMsgs(1))
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := waitCtx(t, h)
	safely(t, "Send", func() { _, err := p.Send(ctx, &bridge.OutMessage{}); wantClosed(t, "producer Send", err) })
	safely(t, "SendAsync", func() { wantClosed(t, "producer SendAsync", sendAsyncErr(t, h, p)) })
	safely(t, "Receive", func() { _, err := c.Receive(ctx); wantClosed(t, "consumer Receive", err) })
	safely(t, "Ack", func() { wantClosed(t, "consumer Ack", c.Ack(res[0].ID)) })
	safely(t, "Next", func() { _, err := r.Next(ctx); wantClosed(t, "reader Next", err) })
	safely(t, "Put", func() { wantClosed(t, "state Put", st.Put(ctx, "k", []byte("v"))) })
	safely(t, "Get", func() { st.Get("k") })
	safely(t, "handle Close", func() { _ = p.Close(); _ = c.Close(); _ = r.Close() })
}

func testClosedProducer(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	p := newProducer(t, h, b, bridge.ProducerOptions{Topic: topic})
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := waitCtx(t, h)
	safely(t, "Send", func() { _, err := p.Send(ctx, &bridge.OutMessage{}); wantClosed(t, "Send", err) })
	safely(t, "SendAsync", func() { wantClosed(t, "SendAsync", sendAsyncErr(t, h, p)) })
	safely(t, "Flush", func() { wantClosed(t, "Flush", p.Flush(ctx)) })
	safely(t, "Close", func() { _ = p.Close() })
	if got := mustIndexRange(t, h, b, topic); got.Next != 0 {
		t.Errorf("a closed producer stored messages: IndexRange %+v", got)
	}
	// The backend itself is fine.
	produceTo(t, h, b, topic, plainMsgs(1))
}

func testClosedConsumer(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(2))
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	m := recvN(t, h, c, 1)[0]
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := waitCtx(t, h)
	safely(t, "Receive", func() { _, err := c.Receive(ctx); wantClosed(t, "Receive", err) })
	safely(t, "Ack", func() { wantClosed(t, "Ack", c.Ack(m.ID)) })
	safely(t, "AckCumulative", func() { wantClosed(t, "AckCumulative", c.AckCumulative(m.ID)) })
	safely(t, "Seek", func() { wantClosed(t, "Seek", c.Seek(m.ID)) })
	safely(t, "Nack", func() { c.Nack(m.ID) })
	safely(t, "Close", func() { _ = c.Close() })
	// Nothing was acknowledged.
	waitBacklog(t, h, b, topic, "s", 2)
}

func testClosedReader(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	r := newReader(t, h, b, topic, bridge.StartEarliest())
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := waitCtx(t, h)
	safely(t, "Next", func() { _, err := r.Next(ctx); wantClosed(t, "Next", err) })
	safely(t, "Seek", func() { wantClosed(t, "Seek", r.Seek(ctx, bridge.StartEarliest())) })
	safely(t, "Close", func() { _ = r.Close() })
}

// Close while a Receive or Next waits makes it return ErrClosed.
func testClosedUnblocksReceive(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	c := subscribe(t, h, b, subOpts(topic, "s", bridge.Exclusive))
	r := newReader(t, h, b, topic, bridge.StartEarliest())
	ctx := ctxFor(t, h.Quiet+h.Wait)
	recvErr := make(chan error, 1)
	nextErr := make(chan error, 1)
	go func() { _, err := c.Receive(ctx); recvErr <- err }()
	go func() { _, err := r.Next(ctx); nextErr <- err }()
	time.Sleep(h.Quiet)
	_ = c.Close()
	_ = r.Close()
	for what, ch := range map[string]chan error{"consumer Receive": recvErr, "reader Next": nextErr} {
		select {
		case err := <-ch:
			if errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, bridge.ErrClosed) {
				t.Errorf("%s waiting during Close: want ErrClosed, got %v", what, err)
			}
		case <-time.After(h.Wait):
			t.Errorf("%s still blocked %v after Close", what, h.Wait)
		}
	}

	// And a backend Close ends waits on its handles.
	c2 := subscribe(t, h, b, subOpts(topic, "s2", bridge.Exclusive))
	go func() { _, err := c2.Receive(ctx); recvErr <- err }()
	time.Sleep(h.Quiet)
	_ = b.Close()
	select {
	case err := <-recvErr:
		if !errors.Is(err, bridge.ErrClosed) {
			t.Errorf("Receive waiting during backend Close: want ErrClosed, got %v", err)
		}
	case <-time.After(h.Wait):
		t.Errorf("Receive still blocked %v after the backend closed", h.Wait)
	}
}
