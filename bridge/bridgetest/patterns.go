package bridgetest

import (
	"regexp"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func patternTests() []testCase {
	return []testCase{
		{"ExistingTopics", testPatternExisting},
		{"TopicCreatedLater", testPatternLater},
	}
}

func flowControlTests() []testCase {
	return []testCase{
		{"SmallQueueAcking", testFlowSmallQueueAcking},
		{"SmallQueueNotAcking", testFlowSmallQueueNotAcking},
		{"SmallQueueShared", testFlowSmallQueueShared},
		{"SmallQueueReader", testFlowSmallQueueReader},
	}
}

const discovery = 200 * time.Millisecond

// patternTopics names topics sharing a unique prefix, and a pattern matching
// the ones ending in -a, -b or -late.
func patternTopics(t *testing.T, h Harness) (prefix, pattern string) {
	prefix = "persistent://" + h.Namespace + "/" + uniqueLocal(t)
	return prefix, "^" + regexp.QuoteMeta(prefix) + "-(a|b|late)$"
}

func patternOpts(pattern string) bridge.SubscribeOptions {
	return bridge.SubscribeOptions{TopicsPattern: pattern, PatternDiscovery: discovery,
		Subscription: "pat", Type: bridge.Exclusive, InitialPosition: bridge.Earliest}
}

// countByTopic counts msgs per topic.
func countByTopic(msgs []*bridge.Message) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		out[m.Topic]++
	}
	return out
}

// A pattern subscription receives from every existing matching topic and
// from no other.
func testPatternExisting(t *testing.T, h Harness) {
	b := newBackend(t, h)
	prefix, pattern := patternTopics(t, h)
	a, bb, other := prefix+"-a", prefix+"-b", prefix+"-c"
	for _, topic := range []string{a, bb, other} {
		mustCreateTopic(t, h, b, topic, 0)
	}
	produceTo(t, h, b, a, plainMsgs(3))
	produceTo(t, h, b, bb, plainMsgs(4))
	produceTo(t, h, b, other, plainMsgs(2))
	c := subscribe(t, h, b, patternOpts(pattern))
	msgs := recvAck(t, h, c, 7)
	time.Sleep(2 * discovery)
	expectNoMessage(t, h, c)
	got := countByTopic(msgs)
	if got[a] != 3 || got[bb] != 4 || len(got) != 2 {
		t.Errorf("pattern %q received %v, want 3 from %s and 4 from %s", pattern, got, a, bb)
	}
	if _, ok := subInfo(t, h, b, other, "pat"); ok {
		t.Errorf("pattern subscription created a subscription on non-matching %s", other)
	}
}

// A matching topic created after subscribing starts flowing within the
// discovery period; a non-matching one does not.
func testPatternLater(t *testing.T, h Harness) {
	b := newBackend(t, h)
	prefix, pattern := patternTopics(t, h)
	a := prefix + "-a"
	mustCreateTopic(t, h, b, a, 0)
	c := subscribe(t, h, b, patternOpts(pattern))
	produceTo(t, h, b, a, plainMsgs(1))
	if m := recvAck(t, h, c, 1)[0]; m.Topic != a {
		t.Fatalf("got %s, want a message of %s", describe(m), a)
	}

	late, nomatch := prefix+"-late", prefix+"-lately"
	mustCreateTopic(t, h, b, nomatch, 0)
	mustCreateTopic(t, h, b, late, 0)
	produceTo(t, h, b, nomatch, plainMsgs(2))
	produceTo(t, h, b, late, plainMsgs(2))
	msgs := recvAck(t, h, c, 2)
	time.Sleep(3 * discovery)
	expectNoMessage(t, h, c)
	if got := countByTopic(msgs); got[late] != 2 {
		t.Errorf("after creating %s got %v, want its 2 messages", late, got)
	}
	checkIndexes(t, msgs, 0)
}

// ---------------------------------------------------------------------------
// flow control

func testFlowSmallQueueAcking(t *testing.T, h Harness) {
	const n = 100
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	o := subOpts(topic, "s", bridge.Exclusive)
	o.ReceiverQueueSize = 5
	c := subscribe(t, h, b, o)
	produceTo(t, h, b, topic, plainMsgs(n))
	checkIndexes(t, recvAck(t, h, c, n), 0)
	waitBacklog(t, h, b, topic, "s", 0)
}

// Receiving, not acknowledging, frees the queue: flow control bounds what is
// delivered and not yet received.
func testFlowSmallQueueNotAcking(t *testing.T, h Harness) {
	const n = 100
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	o := subOpts(topic, "s", bridge.Exclusive)
	o.ReceiverQueueSize = 5
	c := subscribe(t, h, b, o)
	produceTo(t, h, b, topic, plainMsgs(n))
	msgs := recvN(t, h, c, n)
	checkIndexes(t, msgs, 0)
	waitBacklog(t, h, b, topic, "s", n)
	if err := c.AckCumulative(msgs[n-1].ID); err != nil {
		t.Fatalf("AckCumulative: %v", err)
	}
	waitBacklog(t, h, b, topic, "s", 0)
}

func testFlowSmallQueueShared(t *testing.T, h Harness) {
	const n = 100
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	o := subOpts(topic, "s", bridge.Shared)
	o.ReceiverQueueSize = 5
	cs := []bridge.Consumer{subscribe(t, h, b, o), subscribe(t, h, b, o)}
	p := startPump(t, h, cs, ackAll(t))
	produceTo(t, h, b, topic, plainMsgs(n))
	p.waitTotal(n)
	settle(h)
	p.stop()
	got := p.snapshot()
	seen := map[int64]bool{}
	for _, msgs := range got {
		for _, m := range msgs {
			if seen[m.Index] {
				t.Errorf("index %d delivered twice", m.Index)
			}
			seen[m.Index] = true
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages of %d", len(seen), n)
	}
	waitBacklog(t, h, b, topic, "s", 0)
}

func testFlowSmallQueueReader(t *testing.T, h Harness) {
	const n = 100
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 0)
	produceTo(t, h, b, topic, plainMsgs(n/2))
	r, err := b.CreateReader(waitCtx(t, h), bridge.ReaderOptions{Topic: topic, Start: bridge.StartEarliest(), ReceiverQueueSize: 5})
	if err != nil {
		t.Fatalf("CreateReader: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	produceTo(t, h, b, topic, plainMsgs(n/2))
	checkIndexes(t, readN(t, h, r, n), 0)
}
