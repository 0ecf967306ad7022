package bridgetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Harness tells the suite how to open the backend under test.
type Harness struct {
	// New opens a fresh, empty backend for one test (t.Cleanup closes it).
	New func(t *testing.T) bridge.Backend
	// Reopen, if set, closes b and opens the same store again (restart
	// durability); nil skips those tests.
	Reopen func(t *testing.T, b bridge.Backend) bridge.Backend
	// Namespace for topics, e.g. "public/default" (the default when empty).
	// Tests make unique topic names (test name and a random suffix) so a
	// shared broker works.
	Namespace string
	// Wait is how long to wait for something that should happen (a message,
	// a backlog update): 10s when zero.
	Wait time.Duration
	// Quiet is how long to wait for a message that should NOT come: 300ms
	// when zero (use 1-2s for Pulsar).
	Quiet time.Duration
	// KnownGaps names tests ("Group/Test") this backend is known to fail,
	// with the reason; they are skipped with that reason in the output, so
	// a gap stays visible instead of silently dropped.
	KnownGaps map[string]string
	// Parallel runs the tests of a group in parallel (t.Parallel). Leave it
	// false when timing-sensitive tests would suffer on a loaded machine.
	Parallel bool
}

func (h Harness) withDefaults() Harness {
	if h.Namespace == "" {
		h.Namespace = bridge.DefaultNamespace
	}
	if h.Wait <= 0 {
		h.Wait = 10 * time.Second
	}
	if h.Quiet <= 0 {
		h.Quiet = 300 * time.Millisecond
	}
	return h
}

// testCase is one conformance test.
type testCase struct {
	name string
	run  func(t *testing.T, h Harness)
}

// group is a named set of tests, run as one subtest level.
type group struct {
	name  string
	cases []testCase
}

// Run runs the conformance suite against the backend h opens. Every test is
// a subtest (Group/Test), so `go test -run 'Conformance/Subscriptions/Shared'`
// picks a part of it.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("bridgetest: Harness.New is nil")
	}
	h = h.withDefaults()
	groups := []group{
		{"Topics", topicTests()},
		{"Produce", produceTests()},
		{"Index", indexTests()},
		{"Readers", readerTests()},
		{"Subscriptions", subscriptionTests()},
		{"Acks", ackTests()},
		{"Backlog", backlogTests()},
		{"Pattern", patternTests()},
		{"FlowControl", flowControlTests()},
		{"State", stateTests()},
		{"Presence", presenceTests()},
		{"Restart", restartTests()},
		{"AckRestart", ackRestartTests()},
		{"Policies", policyTests()},
		{"Closed", closedTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			if h.Parallel {
				t.Parallel()
			}
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					if why, ok := h.KnownGaps[g.name+"/"+c.name]; ok {
						t.Skip("known gap on this backend: " + why)
					}
					if h.Parallel {
						t.Parallel()
					}
					c.run(t, h)
				})
			}
		})
	}
}

// ---------------------------------------------------------------------------
// names and contexts

// uniqueTopic is a full topic name in h's namespace made from the test's name
// and a random suffix, so tests never share a topic, even on a shared broker.
func uniqueTopic(t *testing.T, h Harness, suffix ...string) string {
	t.Helper()
	return "persistent://" + h.Namespace + "/" + uniqueLocal(t, suffix...)
}

// uniqueLocal is the local part of uniqueTopic.
func uniqueLocal(t *testing.T, suffix ...string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		default:
			if !dash {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	slug := strings.Trim(b.String(), "-")
	// "-partition-" inside a topic's own name would read as a partition.
	slug = strings.ReplaceAll(slug, "partition", "part")
	if len(slug) > 48 {
		slug = slug[len(slug)-48:]
	}
	name := fmt.Sprintf("%s-%08x", strings.Trim(slug, "-"), rand.Uint32())
	for _, s := range suffix {
		name += "-" + s
	}
	return name
}

// ctxFor is a context that ends after d or when the test ends.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitCtx is a context bounded by h.Wait.
func waitCtx(t *testing.T, h Harness) context.Context { return ctxFor(t, h.Wait) }

// eventually polls cond until it returns "" (success) or h.Wait passes, then
// fails the test with the last reason cond gave.
func eventually(t *testing.T, h Harness, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(h.Wait)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", h.Wait, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// backends, topics, producers

// newBackend opens a fresh backend (the harness closes it at cleanup).
func newBackend(t *testing.T, h Harness) bridge.Backend {
	t.Helper()
	b := h.New(t)
	if b == nil {
		t.Fatal("Harness.New returned nil")
	}
	return b
}

// mustCreateTopic creates topic with partitions partitions and deletes it
// (best effort) when the test ends, so a shared broker does not fill up.
func mustCreateTopic(t *testing.T, h Harness, b bridge.Backend, topic string, partitions int) {
	t.Helper()
	if err := b.Admin().CreateTopic(waitCtx(t, h), topic, partitions); err != nil {
		t.Fatalf("CreateTopic(%q, %d): %v", topic, partitions, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.Wait)
		defer cancel()
		_ = b.Admin().DeleteTopic(ctx, topic)
	})
}

// newTopic makes a unique topic and creates it.
func newTopic(t *testing.T, h Harness, b bridge.Backend, partitions int, suffix ...string) string {
	t.Helper()
	topic := uniqueTopic(t, h, suffix...)
	mustCreateTopic(t, h, b, topic, partitions)
	return topic
}

// newProducer opens a producer closed at cleanup.
func newProducer(t *testing.T, h Harness, b bridge.Backend, opts bridge.ProducerOptions) bridge.Producer {
	t.Helper()
	p, err := b.CreateProducer(waitCtx(t, h), opts)
	if err != nil {
		t.Fatalf("CreateProducer(%q): %v", opts.Topic, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// valueOf is the value the suite gives message i of a test.
func valueOf(i int) []byte { return fmt.Appendf(nil, "v%d", i) }

// plainMsgs builds n messages with values v0..v(n-1) and no key.
func plainMsgs(n int) []*bridge.OutMessage {
	msgs := make([]*bridge.OutMessage, n)
	for i := range msgs {
		msgs[i] = &bridge.OutMessage{Value: valueOf(i)}
	}
	return msgs
}

// keyedMsgs builds n messages with values v0.. and key "k<i mod keys>".
func keyedMsgs(n, keys int) []*bridge.OutMessage {
	msgs := make([]*bridge.OutMessage, n)
	for i := range msgs {
		msgs[i] = &bridge.OutMessage{Key: fmt.Appendf(nil, "k%d", i%keys), Value: valueOf(i)}
	}
	return msgs
}

// mustProduce sends msgs with SendAsync, flushes, and returns every result in
// send order. It fails the test unless each callback fired once without error.
func mustProduce(t *testing.T, h Harness, p bridge.Producer, msgs []*bridge.OutMessage) []bridge.SendResult {
	t.Helper()
	ctx := waitCtx(t, h)
	var (
		mu      sync.Mutex
		results = make([]bridge.SendResult, len(msgs))
		fired   = make([]int, len(msgs))
		errs    []error
		done    = make(chan struct{})
		count   int
	)
	if len(msgs) == 0 {
		return nil
	}
	for i, m := range msgs {
		p.SendAsync(ctx, m, func(r bridge.SendResult, err error) {
			mu.Lock()
			defer mu.Unlock()
			fired[i]++
			results[i] = r
			if err != nil {
				errs = append(errs, fmt.Errorf("message %d: %w", i, err))
			}
			count++
			if count == len(msgs) {
				close(done)
			}
		})
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("only %d of %d send callbacks fired within %v", count, len(msgs), h.Wait)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("send failed: %v", errors.Join(errs...))
	}
	for i, n := range fired {
		if n != 1 {
			t.Fatalf("callback of message %d fired %d times", i, n)
		}
	}
	return slices.Clone(results)
}

// produceTo opens a producer on topic, sends msgs and closes it.
func produceTo(t *testing.T, h Harness, b bridge.Backend, topic string, msgs []*bridge.OutMessage) []bridge.SendResult {
	t.Helper()
	p := newProducer(t, h, b, bridge.ProducerOptions{Topic: topic})
	res := mustProduce(t, h, p, msgs)
	if err := p.Close(); err != nil {
		t.Errorf("producer Close: %v", err)
	}
	return res
}

// ---------------------------------------------------------------------------
// consumers and readers

// subscribe opens a consumer closed at cleanup.
func subscribe(t *testing.T, h Harness, b bridge.Backend, opts bridge.SubscribeOptions) bridge.Consumer {
	t.Helper()
	c, err := b.Subscribe(waitCtx(t, h), opts)
	if err != nil {
		t.Fatalf("Subscribe(%v %q %q %v): %v", opts.Topics, opts.TopicsPattern, opts.Subscription, opts.Type, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// recvN receives n messages within h.Wait, failing the test otherwise.
func recvN(t *testing.T, h Harness, c bridge.Consumer, n int) []*bridge.Message {
	t.Helper()
	ctx := waitCtx(t, h)
	out := make([]*bridge.Message, 0, n)
	for len(out) < n {
		m, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("Receive: got %d of %d messages (%s), then: %v", len(out), n, indexesOf(out), err)
		}
		out = append(out, m)
	}
	return out
}

// recvAck is recvN acknowledging each message as it comes.
func recvAck(t *testing.T, h Harness, c bridge.Consumer, n int) []*bridge.Message {
	t.Helper()
	ctx := waitCtx(t, h)
	out := make([]*bridge.Message, 0, n)
	for len(out) < n {
		m, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("Receive: got %d of %d messages (%s), then: %v", len(out), n, indexesOf(out), err)
		}
		if err := c.Ack(m.ID); err != nil {
			t.Fatalf("Ack(%v): %v", m.ID, err)
		}
		out = append(out, m)
	}
	return out
}

// expectNoMessage fails the test if c receives anything within h.Quiet.
func expectNoMessage(t *testing.T, h Harness, c bridge.Consumer) {
	t.Helper()
	ctx := ctxFor(t, h.Quiet)
	m, err := c.Receive(ctx)
	if err == nil {
		t.Fatalf("unexpected message: %s", describe(m))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive with nothing to receive: want context.DeadlineExceeded, got %v", err)
	}
}

// newReader opens a reader closed at cleanup.
func newReader(t *testing.T, h Harness, b bridge.Backend, topic string, start bridge.StartPosition) bridge.Reader {
	t.Helper()
	r, err := b.CreateReader(waitCtx(t, h), bridge.ReaderOptions{Topic: topic, Start: start})
	if err != nil {
		t.Fatalf("CreateReader(%q, %+v): %v", topic, start, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// readN reads n messages within h.Wait.
func readN(t *testing.T, h Harness, r bridge.Reader, n int) []*bridge.Message {
	t.Helper()
	ctx := waitCtx(t, h)
	out := make([]*bridge.Message, 0, n)
	for len(out) < n {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next: got %d of %d messages (%s), then: %v", len(out), n, indexesOf(out), err)
		}
		out = append(out, m)
	}
	return out
}

// expectNoRead fails the test if r yields anything within h.Quiet.
func expectNoRead(t *testing.T, h Harness, r bridge.Reader) {
	t.Helper()
	ctx := ctxFor(t, h.Quiet)
	m, err := r.Next(ctx)
	if err == nil {
		t.Fatalf("unexpected message: %s", describe(m))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with nothing to read: want context.DeadlineExceeded, got %v", err)
	}
}

// ---------------------------------------------------------------------------
// checks

// describe is a short form of a message for failure output.
func describe(m *bridge.Message) string {
	if m == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{topic %s partition %d index %d key %q value %q redelivery %d}",
		m.Topic, m.Partition, m.Index, m.Key, m.Value, m.RedeliveryCount)
}

// indexesOf lists the indexes of msgs, for failure output.
func indexesOf(msgs []*bridge.Message) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 40 && len(msgs) > 41 {
			fmt.Fprintf(&b, "... %d more", len(msgs)-40)
			break
		}
		fmt.Fprintf(&b, "%d:%d", m.Partition, m.Index)
	}
	b.WriteByte(']')
	return b.String()
}

// checkIndexes fails unless msgs have exactly the indexes from, from+1, ...
func checkIndexes(t *testing.T, msgs []*bridge.Message, from int64) {
	t.Helper()
	for i, m := range msgs {
		if m.Index != from+int64(i) {
			t.Fatalf("message %d: index %d, want %d (all: %s)", i, m.Index, from+int64(i), indexesOf(msgs))
		}
		if m.ID == nil {
			t.Fatalf("message %d: nil ID", i)
		}
		if m.ID.Index() != m.Index {
			t.Fatalf("message %d: ID.Index() %d != Index %d", i, m.ID.Index(), m.Index)
		}
	}
}

// indexSet is the set of (partition, index) of msgs.
type pidx struct {
	partition int
	index     int64
}

func keyOf(m *bridge.Message) pidx { return pidx{m.Partition, m.Index} }

// subInfo finds subscription sub of topic in the admin listing.
func subInfo(t *testing.T, h Harness, b bridge.Backend, topic, sub string) (bridge.SubscriptionInfo, bool) {
	t.Helper()
	subs, err := b.Admin().Subscriptions(waitCtx(t, h), topic)
	if err != nil {
		t.Fatalf("Subscriptions(%q): %v", topic, err)
	}
	for _, s := range subs {
		if s.Name == sub {
			return s, true
		}
	}
	return bridge.SubscriptionInfo{}, false
}

// waitBacklog waits until subscription sub of topic reports backlog want.
func waitBacklog(t *testing.T, h Harness, b bridge.Backend, topic, sub string, want int64) {
	t.Helper()
	eventually(t, h, func() string {
		s, ok := subInfo(t, h, b, topic, sub)
		if !ok {
			return fmt.Sprintf("subscription %q not listed", sub)
		}
		if s.Backlog != want {
			return fmt.Sprintf("subscription %q backlog %d, want %d", sub, s.Backlog, want)
		}
		return ""
	})
}

// mustIndexRange is Admin().IndexRange or a failed test.
func mustIndexRange(t *testing.T, h Harness, b bridge.Backend, partition string) bridge.IndexRange {
	t.Helper()
	r, err := b.Admin().IndexRange(waitCtx(t, h), partition)
	if err != nil {
		t.Fatalf("IndexRange(%q): %v", partition, err)
	}
	return r
}

// ---------------------------------------------------------------------------
// pump: concurrent receiving from several consumers

// pump receives from several consumers at once, each in its own goroutine,
// recording what each got. handle (optional) runs on each message in the
// consumer's goroutine before it is recorded (to ack, nack...).
type pump struct {
	t      *testing.T
	h      Harness
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu   sync.Mutex
	got  [][]*bridge.Message
	errs []error
	tick chan struct{}
}

func startPump(t *testing.T, h Harness, cs []bridge.Consumer, handle func(i int, c bridge.Consumer, m *bridge.Message)) *pump {
	t.Helper()
	// Bounded even if the test forgets to stop it.
	ctx, cancel := context.WithTimeout(context.Background(), 6*h.Wait)
	p := &pump{t: t, h: h, cancel: cancel, got: make([][]*bridge.Message, len(cs)),
		errs: make([]error, len(cs)), tick: make(chan struct{}, 1)}
	for i, c := range cs {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				m, err := c.Receive(ctx)
				if err != nil {
					p.mu.Lock()
					p.errs[i] = err
					p.mu.Unlock()
					p.signal()
					return
				}
				if handle != nil {
					handle(i, c, m)
				}
				p.mu.Lock()
				p.got[i] = append(p.got[i], m)
				p.mu.Unlock()
				p.signal()
			}
		}()
	}
	t.Cleanup(p.stop)
	return p
}

func (p *pump) signal() {
	select {
	case p.tick <- struct{}{}:
	default:
	}
}

// snapshot copies what each consumer received so far.
func (p *pump) snapshot() [][]*bridge.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]*bridge.Message, len(p.got))
	for i := range p.got {
		out[i] = slices.Clone(p.got[i])
	}
	return out
}

// total is the number of messages received by all consumers.
func total(got [][]*bridge.Message) int {
	n := 0
	for _, g := range got {
		n += len(g)
	}
	return n
}

// waitUntil waits up to d for cond over the received messages; it reports
// whether cond became true.
func (p *pump) waitUntil(d time.Duration, cond func(got [][]*bridge.Message) bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if cond(p.snapshot()) {
			return true
		}
		select {
		case <-p.tick:
		case <-deadline.C:
			return cond(p.snapshot())
		}
	}
}

// waitTotal waits until all consumers together received n messages, failing
// the test after h.Wait.
func (p *pump) waitTotal(n int) [][]*bridge.Message {
	p.t.Helper()
	if !p.waitUntil(p.h.Wait, func(got [][]*bridge.Message) bool { return total(got) >= n }) {
		got := p.snapshot()
		p.mu.Lock()
		errs := slices.Clone(p.errs)
		p.mu.Unlock()
		p.t.Fatalf("consumers received %d of %d messages within %v (errors: %v)", total(got), n, p.h.Wait, errs)
	}
	return p.snapshot()
}

// stop cancels the receivers and waits (bounded) for them to return.
func (p *pump) stop() {
	p.once.Do(func() {
		p.cancel()
		done := make(chan struct{})
		go func() { p.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(p.h.Wait):
			p.t.Errorf("Receive did not return within %v of its context being cancelled", p.h.Wait)
		}
	})
}
