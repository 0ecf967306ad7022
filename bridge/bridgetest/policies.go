package bridgetest

import (
	"errors"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Topic policies, log start and compaction (bridge.PolicyAdmin).
func policyTests() []testCase {
	return []testCase{
		{"DefaultAndSet", testPolicyDefaultAndSet},
		{"BackToDefault", testPolicyBackToDefault},
		{"NotFound", testPolicyNotFound},
		{"DeleteBefore", testPolicyDeleteBefore},
		{"DeleteBeforeRestart", testPolicyDeleteBeforeRestart},
		{"CompactKeepsNewest", testPolicyCompactKeepsNewest},
		{"DeleteForgets", testPolicyDeleteForgets},
	}
}

func mustPolicy(t *testing.T, h Harness, b bridge.Backend, topic string) bridge.TopicPolicy {
	t.Helper()
	p, err := b.Admin().TopicPolicy(waitCtx(t, h), topic)
	if err != nil {
		t.Fatalf("TopicPolicy(%q): %v", topic, err)
	}
	return p
}

func mustSetPolicy(t *testing.T, h Harness, b bridge.Backend, topic string, p bridge.TopicPolicy) {
	t.Helper()
	if err := b.Admin().SetTopicPolicy(waitCtx(t, h), topic, p); err != nil {
		t.Fatalf("SetTopicPolicy(%q, %+v): %v", topic, p, err)
	}
}

func compactPolicy() bridge.TopicPolicy {
	p := bridge.DefaultTopicPolicy()
	p.Compact, p.Delete, p.DeleteRetention = true, false, 0
	return p
}

// A topic starts with the default policy; a set one is what is read back,
// on every partition count, and after a restart.
func testPolicyDefaultAndSet(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 2)
	if got := mustPolicy(t, h, b, topic); got != bridge.DefaultTopicPolicy() {
		t.Errorf("TopicPolicy of a new topic = %+v, want the default %+v", got, bridge.DefaultTopicPolicy())
	}
	want := bridge.TopicPolicy{Compact: true, Delete: true, RetentionTime: 3 * time.Hour, RetentionBytes: 5 << 20,
		DeleteRetention: time.Minute, MinCompactionLag: time.Second}
	mustSetPolicy(t, h, b, topic, want)
	if got := mustPolicy(t, h, b, topic); got != want {
		t.Errorf("TopicPolicy after set = %+v, want %+v", got, want)
	}
	if h.Reopen == nil {
		return
	}
	b = h.Reopen(t, b)
	if got := mustPolicy(t, h, b, topic); got != want {
		t.Errorf("TopicPolicy after a restart = %+v, want %+v", got, want)
	}
}

// Setting the default again undoes a set policy.
func testPolicyBackToDefault(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 1)
	mustSetPolicy(t, h, b, topic, compactPolicy())
	mustSetPolicy(t, h, b, topic, bridge.DefaultTopicPolicy())
	if got := mustPolicy(t, h, b, topic); got != bridge.DefaultTopicPolicy() {
		t.Errorf("TopicPolicy after setting the default = %+v", got)
	}
}

func testPolicyNotFound(t *testing.T, h Harness) {
	b := newBackend(t, h)
	missing := uniqueTopic(t, h, "missing")
	if _, err := b.Admin().TopicPolicy(waitCtx(t, h), missing); !errors.Is(err, bridge.ErrTopicNotFound) {
		t.Errorf("TopicPolicy(missing) = %v, want ErrTopicNotFound", err)
	}
	if err := b.Admin().SetTopicPolicy(waitCtx(t, h), missing, compactPolicy()); !errors.Is(err, bridge.ErrTopicNotFound) {
		t.Errorf("SetTopicPolicy(missing) = %v, want ErrTopicNotFound", err)
	}
}

// deleteBefore produces 10 messages to one partition and moves its start to 4.
func deleteBefore(t *testing.T, h Harness, b bridge.Backend) (partition string) {
	t.Helper()
	topic := newTopic(t, h, b, 1)
	partition = bridge.PartitionName(topic, 0)
	produceTo(t, h, b, partition, plainMsgs(10))
	first, err := b.Admin().DeleteBefore(waitCtx(t, h), partition, 4)
	if err != nil || first != 4 {
		t.Fatalf("DeleteBefore(4) = %d, %v; want 4", first, err)
	}
	return partition
}

func checkStart(t *testing.T, h Harness, b bridge.Backend, partition string, first, next int64) {
	t.Helper()
	if r := mustIndexRange(t, h, b, partition); r.First != first || r.Next != next {
		t.Errorf("IndexRange = %+v, want {First:%d Next:%d}", r, first, next)
	}
	m := readN(t, h, newReader(t, h, b, partition, bridge.StartEarliest()), 1)[0]
	if m.Index != first || string(m.Value) != string(valueOf(int(first))) {
		t.Errorf("reader from the earliest got %s, want index %d", describe(m), first)
	}
	m = readN(t, h, newReader(t, h, b, partition, bridge.StartAtIndex(1)), 1)[0]
	if m.Index != first {
		t.Errorf("reader from index 1 got %s, want index %d (the start)", describe(m), first)
	}
}

// DeleteBefore moves the start (IndexRange, readers); a lower index changes
// nothing and one past the end is refused.
func testPolicyDeleteBefore(t *testing.T, h Harness) {
	b := newBackend(t, h)
	partition := deleteBefore(t, h, b)
	checkStart(t, h, b, partition, 4, 10)
	if first, err := b.Admin().DeleteBefore(waitCtx(t, h), partition, 2); err != nil || first != 4 {
		t.Errorf("DeleteBefore(2) after 4 = %d, %v; want 4, nil", first, err)
	}
	if _, err := b.Admin().DeleteBefore(waitCtx(t, h), partition, 11); !errors.Is(err, bridge.ErrInvalid) {
		t.Errorf("DeleteBefore(past the end) = %v, want ErrInvalid", err)
	}
	if first, err := b.Admin().DeleteBefore(waitCtx(t, h), partition, 10); err != nil || first != 10 {
		t.Errorf("DeleteBefore(the end) = %d, %v; want 10, nil", first, err)
	}
	if r := mustIndexRange(t, h, b, partition); r.First != 10 || r.Next != 10 {
		t.Errorf("IndexRange after deleting all = %+v, want {10 10}", r)
	}
	// New messages go on from the end.
	res := produceTo(t, h, b, partition, plainMsgs(1))
	if res[0].Index != 10 {
		t.Errorf("next message got index %d, want 10", res[0].Index)
	}
}

func testPolicyDeleteBeforeRestart(t *testing.T, h Harness) {
	needReopen(t, h)
	b := newBackend(t, h)
	partition := deleteBefore(t, h, b)
	b = h.Reopen(t, b)
	checkStart(t, h, b, partition, 4, 10)
}

// After compaction the newest message of every key is still there at its
// index, in index order, and the log reads to its end. (The embedded store
// removes what newer messages of the key replaced; Pulsar's log keeps them
// and its compacted view is for readCompacted readers.)
func testPolicyCompactKeepsNewest(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 1)
	partition := bridge.PartitionName(topic, 0)
	mustSetPolicy(t, h, b, topic, compactPolicy())
	msgs := keyedMsgs(30, 3)                                     // k0,k1,k2 ten times each
	msgs[25] = &bridge.OutMessage{Key: []byte("k1")}             // a tombstone for k1, later rewritten
	msgs = append(msgs, &bridge.OutMessage{Key: []byte("gone")}) // a tombstone alone
	msgs = append(msgs, &bridge.OutMessage{Value: []byte("no key")})
	produceTo(t, h, b, partition, msgs)
	if err := b.Admin().Compact(waitCtx(t, h), topic); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	newest := map[string]int64{"k0": 27, "k1": 28, "k2": 29}
	got := map[string]int64{}
	r := newReader(t, h, b, partition, bridge.StartEarliest())
	prev := int64(-1)
	for prev < int64(len(msgs)-1) {
		m := readN(t, h, r, 1)[0]
		if m.Index <= prev {
			t.Fatalf("index %d after %d", m.Index, prev)
		}
		prev = m.Index
		if m.Key != nil {
			got[string(m.Key)] = m.Index
		}
		if want := msgs[m.Index]; string(want.Value) != string(m.Value) || string(want.Key) != string(m.Key) {
			t.Errorf("message at %d is %s, was produced as key %q value %q", m.Index, describe(m), want.Key, want.Value)
		}
	}
	for k, idx := range newest {
		if got[k] != idx {
			t.Errorf("newest of %s read at %d, want %d", k, got[k], idx)
		}
	}
	if r := mustIndexRange(t, h, b, partition); r.Next != int64(len(msgs)) {
		t.Errorf("IndexRange after compaction = %+v, want Next %d", r, len(msgs))
	}
}

// A deleted topic's policy and log start go with it.
func testPolicyDeleteForgets(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := uniqueTopic(t, h)
	mustCreateTopic(t, h, b, topic, 1)
	mustSetPolicy(t, h, b, topic, compactPolicy())
	partition := bridge.PartitionName(topic, 0)
	produceTo(t, h, b, partition, plainMsgs(3))
	if _, err := b.Admin().DeleteBefore(waitCtx(t, h), partition, 2); err != nil {
		t.Fatalf("DeleteBefore: %v", err)
	}
	if err := b.Admin().DeleteTopic(waitCtx(t, h), topic); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	mustCreateTopic(t, h, b, topic, 1)
	if got := mustPolicy(t, h, b, topic); got != bridge.DefaultTopicPolicy() {
		t.Errorf("TopicPolicy of a re-created topic = %+v, want the default", got)
	}
	if r := mustIndexRange(t, h, b, partition); r != (bridge.IndexRange{}) {
		t.Errorf("IndexRange of a re-created topic = %+v, want {0 0}", r)
	}
}
