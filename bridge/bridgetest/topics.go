package bridgetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func topicTests() []testCase {
	return []testCase{
		{"CreateAndDescribe", testTopicCreateAndDescribe},
		{"ShortFormName", testTopicShortFormName},
		{"List", testTopicList},
		{"CreateTwice", testTopicCreateTwice},
		{"NotFound", testTopicNotFound},
		{"UpdatePartitions", testTopicUpdatePartitions},
		{"Delete", testTopicDelete},
		{"InvalidNames", testTopicInvalidNames},
		{"StoredBytes", testTopicStoredBytes},
	}
}

// mustTopic is Admin().Topic or a failed test.
func mustTopic(t *testing.T, h Harness, b bridge.Backend, topic string) bridge.TopicInfo {
	t.Helper()
	info, err := b.Admin().Topic(waitCtx(t, h), topic)
	if err != nil {
		t.Fatalf("Topic(%q): %v", topic, err)
	}
	return info
}

func testTopicCreateAndDescribe(t *testing.T, h Harness) {
	b := newBackend(t, h)
	part := newTopic(t, h, b, 3, "p")
	plain := newTopic(t, h, b, 0, "np")

	if got := mustTopic(t, h, b, part); got.Name != part || got.Partitions != 3 {
		t.Errorf("Topic(partitioned) = %+v, want {Name:%s Partitions:3}", got, part)
	}
	if got := mustTopic(t, h, b, plain); got.Name != plain || got.Partitions != 0 {
		t.Errorf("Topic(non-partitioned) = %+v, want {Name:%s Partitions:0}", got, plain)
	}
	// Each partition of a new topic is empty and addressable.
	for i := range 3 {
		if r := mustIndexRange(t, h, b, bridge.PartitionName(part, i)); r != (bridge.IndexRange{}) {
			t.Errorf("IndexRange(partition %d) of a new topic = %+v, want {0 0}", i, r)
		}
	}
	if r := mustIndexRange(t, h, b, plain); r != (bridge.IndexRange{}) {
		t.Errorf("IndexRange of a new topic = %+v, want {0 0}", r)
	}
}

// A topic is the same topic under "tenant/ns/name" and its full name.
func testTopicShortFormName(t *testing.T, h Harness) {
	b := newBackend(t, h)
	full := newTopic(t, h, b, 2)
	short := strings.TrimPrefix(full, "persistent://")
	got := mustTopic(t, h, b, short)
	if got.Name != full || got.Partitions != 2 {
		t.Errorf("Topic(%q) = %+v, want {Name:%s Partitions:2}", short, got, full)
	}
	err := b.Admin().CreateTopic(waitCtx(t, h), short, 0)
	if !errors.Is(err, bridge.ErrTopicExists) {
		t.Errorf("CreateTopic(%q) of existing %q: want ErrTopicExists, got %v", short, full, err)
	}
}

func testTopicList(t *testing.T, h Harness) {
	b := newBackend(t, h)
	part := newTopic(t, h, b, 3, "p")
	plain := newTopic(t, h, b, 0, "np")
	topics, err := b.Admin().ListTopics(waitCtx(t, h), h.Namespace)
	if err != nil {
		t.Fatalf("ListTopics(%q): %v", h.Namespace, err)
	}
	found := map[string]bridge.TopicInfo{}
	for _, ti := range topics {
		found[ti.Name] = ti
		if strings.HasPrefix(ti.Name, part+"-partition-") {
			t.Errorf("ListTopics lists partition %q of a partitioned topic as a topic", ti.Name)
		}
	}
	if ti, ok := found[part]; !ok || ti.Partitions != 3 {
		t.Errorf("ListTopics: partitioned %s = %+v (listed %v), want Partitions 3", part, ti, ok)
	}
	if ti, ok := found[plain]; !ok || ti.Partitions != 0 {
		t.Errorf("ListTopics: non-partitioned %s = %+v (listed %v), want Partitions 0", plain, ti, ok)
	}
}

func testTopicCreateTwice(t *testing.T, h Harness) {
	b := newBackend(t, h)
	part := newTopic(t, h, b, 3, "p")
	plain := newTopic(t, h, b, 0, "np")
	ad := b.Admin()
	for _, c := range []struct {
		topic string
		n     int
	}{{part, 3}, {part, 0}, {plain, 0}, {plain, 2}} {
		if err := ad.CreateTopic(waitCtx(t, h), c.topic, c.n); !errors.Is(err, bridge.ErrTopicExists) {
			t.Errorf("CreateTopic(%q, %d) again: want ErrTopicExists, got %v", c.topic, c.n, err)
		}
	}
	// The failed creations changed nothing.
	if got := mustTopic(t, h, b, part); got.Partitions != 3 {
		t.Errorf("after failed re-create: Partitions %d, want 3", got.Partitions)
	}
	if got := mustTopic(t, h, b, plain); got.Partitions != 0 {
		t.Errorf("after failed re-create: Partitions %d, want 0", got.Partitions)
	}
}

func testTopicNotFound(t *testing.T, h Harness) {
	b := newBackend(t, h)
	missing := uniqueTopic(t, h, "missing")
	if _, err := b.Admin().Topic(waitCtx(t, h), missing); !errors.Is(err, bridge.ErrTopicNotFound) {
		t.Errorf("Topic(missing): want ErrTopicNotFound, got %v", err)
	}
}

func testTopicUpdatePartitions(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 3)
	res := produceTo(t, h, b, topic, keyedMsgs(30, 10))
	if err := b.Admin().UpdatePartitions(waitCtx(t, h), topic, 5); err != nil {
		t.Fatalf("UpdatePartitions(3 -> 5): %v", err)
	}
	if got := mustTopic(t, h, b, topic); got.Partitions != 5 {
		t.Fatalf("after UpdatePartitions(5): Partitions %d", got.Partitions)
	}
	// The new partitions exist and take messages; the old keep theirs.
	r := produceTo(t, h, b, bridge.PartitionName(topic, 4), plainMsgs(1))
	if r[0].Partition != 4 || r[0].Index != 0 {
		t.Errorf("send to new partition 4: %+v, want partition 4 index 0", r[0])
	}
	counts := map[int]int64{}
	for _, s := range res {
		counts[s.Partition]++
	}
	for i := range 3 {
		if got := mustIndexRange(t, h, b, bridge.PartitionName(topic, i)); got.Next != counts[i] {
			t.Errorf("partition %d after UpdatePartitions: IndexRange %+v, want Next %d", i, got, counts[i])
		}
	}
	// Lowering a count is not raising it.
	if err := b.Admin().UpdatePartitions(waitCtx(t, h), topic, 2); !errors.Is(err, bridge.ErrInvalid) {
		t.Errorf("UpdatePartitions(5 -> 2): want ErrInvalid, got %v", err)
	}
	if got := mustTopic(t, h, b, topic); got.Partitions != 5 {
		t.Errorf("after refused UpdatePartitions(2): Partitions %d, want 5", got.Partitions)
	}
	// A non-partitioned topic cannot be given partitions.
	plain := newTopic(t, h, b, 0, "np")
	if err := b.Admin().UpdatePartitions(waitCtx(t, h), plain, 3); err == nil {
		t.Errorf("UpdatePartitions on a non-partitioned topic succeeded")
	}
	missing := uniqueTopic(t, h, "missing")
	if err := b.Admin().UpdatePartitions(waitCtx(t, h), missing, 3); err == nil {
		t.Errorf("UpdatePartitions on a missing topic succeeded")
	}
}

func testTopicDelete(t *testing.T, h Harness) {
	b := newBackend(t, h)
	ad := b.Admin()
	for _, n := range []int{0, 3} {
		topic := newTopic(t, h, b, n)
		produceTo(t, h, b, topic, keyedMsgs(10, 5))
		if err := ad.DeleteTopic(waitCtx(t, h), topic); err != nil {
			t.Fatalf("DeleteTopic(%q): %v", topic, err)
		}
		if _, err := ad.Topic(waitCtx(t, h), topic); !errors.Is(err, bridge.ErrTopicNotFound) {
			t.Errorf("Topic after DeleteTopic (partitions %d): want ErrTopicNotFound, got %v", n, err)
		}
		topics, err := ad.ListTopics(waitCtx(t, h), h.Namespace)
		if err != nil {
			t.Fatalf("ListTopics: %v", err)
		}
		for _, ti := range topics {
			if ti.Name == topic || strings.HasPrefix(ti.Name, topic+"-partition-") {
				t.Errorf("ListTopics after DeleteTopic still lists %q", ti.Name)
			}
		}
		// The name is free again, and the new topic starts empty.
		mustCreateTopic(t, h, b, topic, n)
		first := topic
		if n > 0 {
			first = bridge.PartitionName(topic, 0)
		}
		if r := mustIndexRange(t, h, b, first); r.Next != 0 {
			t.Errorf("re-created topic (partitions %d): IndexRange %+v, want empty", n, r)
		}
		expectNoRead(t, h, newReader(t, h, b, first, bridge.StartEarliest()))
	}
}

func testTopicInvalidNames(t *testing.T, h Harness) {
	b := newBackend(t, h)
	ad := b.Admin()
	bad := []string{
		"",
		"tenant/name",
		"persistent://tenant/ns",
		"persistent://tenant/ns/",
		"tenant//name",
		"persistent:///ns/name",
		"tenant/ns/na\x00me",
	}
	for _, name := range bad {
		if err := ad.CreateTopic(waitCtx(t, h), name, 0); !errors.Is(err, bridge.ErrInvalid) {
			t.Errorf("CreateTopic(%q): want ErrInvalid, got %v", name, err)
		}
		if _, err := ad.Topic(waitCtx(t, h), name); !errors.Is(err, bridge.ErrInvalid) {
			t.Errorf("Topic(%q): want ErrInvalid, got %v", name, err)
		}
	}
	topic := uniqueTopic(t, h)
	if err := ad.CreateTopic(waitCtx(t, h), topic, -1); !errors.Is(err, bridge.ErrInvalid) {
		t.Errorf("CreateTopic with -1 partitions: want ErrInvalid, got %v", err)
	}
	if _, err := ad.Topic(waitCtx(t, h), topic); !errors.Is(err, bridge.ErrTopicNotFound) {
		t.Errorf("Topic after a refused CreateTopic: want ErrTopicNotFound, got %v", err)
	}
}

// StoredBytes is zero for an empty partition, grows with what is stored
// there (at least the values' bytes) and stays zero on the other
// partitions; a missing topic is ErrTopicNotFound.
func testTopicStoredBytes(t *testing.T, h Harness) {
	b := newBackend(t, h)
	topic := newTopic(t, h, b, 2)
	p0, p1 := bridge.PartitionName(topic, 0), bridge.PartitionName(topic, 1)
	size := func(p string) int64 {
		t.Helper()
		n, err := b.Admin().StoredBytes(waitCtx(t, h), p)
		if err != nil {
			t.Fatalf("StoredBytes(%q): %v", p, err)
		}
		return n
	}
	if n := size(p0); n != 0 {
		t.Errorf("StoredBytes of an empty partition = %d, want 0", n)
	}
	msgs := make([]*bridge.OutMessage, 20)
	for i := range msgs {
		msgs[i] = &bridge.OutMessage{Value: make([]byte, 1000)}
	}
	produceTo(t, h, b, p0, msgs)
	eventually(t, h, func() string {
		if n := size(p0); n < 20*1000 {
			return fmt.Sprintf("StoredBytes after 20 messages of 1000 bytes = %d, want at least 20000", n)
		}
		return ""
	})
	if n := size(p1); n != 0 {
		t.Errorf("StoredBytes of the partition not written = %d, want 0", n)
	}
	if _, err := b.Admin().StoredBytes(waitCtx(t, h), uniqueTopic(t, h, "missing")); !errors.Is(err, bridge.ErrTopicNotFound) {
		t.Errorf("StoredBytes(missing): want ErrTopicNotFound, got %v", err)
	}
}
