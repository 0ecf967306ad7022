package pulsar_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// interopMsg is what both sides must agree on for one message, keyed by its
// (unique) value.
type interopMsg struct {
	partition int
	index     int64
	key       []byte // nil: no key
	props     map[string]string
	eventTime time.Time
}

func nativeClient(t *testing.T) pulsar.Client {
	t.Helper()
	u, _ := brokerURLs(t)
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: u, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func partitionNum(t *testing.T, topic string) int {
	t.Helper()
	tn, err := bridge.ParseTopic(topic)
	if err != nil {
		t.Fatal(err)
	}
	_, n, ok := tn.PartitionIndex()
	if !ok {
		return -1
	}
	return n
}

// checkSame compares what a reader saw with what is expected.
func checkSame(t *testing.T, where string, val string, want, got interopMsg) {
	t.Helper()
	if got.partition != want.partition || got.index != want.index {
		t.Errorf("%s %q: partition/index %d/%d, want %d/%d", where, val, got.partition, got.index, want.partition, want.index)
	}
	if (got.key == nil) != (want.key == nil) || !bytes.Equal(got.key, want.key) {
		t.Errorf("%s %q: key %q (nil %v), want %q (nil %v)", where, val, got.key, got.key == nil, want.key, want.key == nil)
	}
	if !maps.Equal(got.props, want.props) {
		t.Errorf("%s %q: properties %v, want %v", where, val, got.props, want.props)
	}
	if !got.eventTime.Equal(want.eventTime) {
		t.Errorf("%s %q: event time %v, want %v", where, val, got.eventTime, want.eventTime)
	}
}

func fromBridge(m *bridge.Message) interopMsg {
	return interopMsg{partition: m.Partition, index: m.Index, key: m.Key, props: m.Properties, eventTime: m.EventTime}
}

// TestInteropNativeToBridge: a native producer (keys, properties, event
// time, batched SendAsync) on a partitioned topic; the bridge's readers and
// consumer see the index the native client reports (Message.Index()) and the
// same key, properties and event time.
func TestInteropNativeToBridge(t *testing.T) {
	be := openBackend(t)
	c := nativeClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const parts, n = 3, 300
	topic := fmt.Sprintf("persistent://public/default/interop-n2b-%d", time.Now().UnixNano())
	if err := be.Admin().CreateTopic(ctx, topic, parts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = be.Admin().DeleteTopic(context.Background(), topic) })

	// Subscribe first (Earliest anyway) so the bridge consumer sees all.
	cons, err := be.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{topic}, Subscription: "interop",
		Type: bridge.Shared, InitialPosition: bridge.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()

	np, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic, BatchingMaxMessages: 50,
		BatchingMaxPublishDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer np.Close()
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var wg sync.WaitGroup
	var sendErr error
	var mu sync.Mutex
	for i := range n {
		pm := &pulsar.ProducerMessage{Payload: []byte("v" + strconv.Itoa(i))}
		if i%5 != 4 { // every fifth message without key, properties or event time
			pm.Key = "k" + strconv.Itoa(i%17)
			pm.Properties = map[string]string{"i": strconv.Itoa(i), "kind": "native"}
			pm.EventTime = base.Add(time.Duration(i) * time.Millisecond)
		}
		wg.Add(1)
		np.SendAsync(ctx, pm, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				sendErr = err
				mu.Unlock()
			}
			wg.Done()
		})
	}
	if err := np.Flush(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if sendErr != nil {
		t.Fatal(sendErr)
	}

	// The native view: a native reader per partition.
	want := map[string]interopMsg{}
	for p := range parts {
		pname := bridge.PartitionName(topic, p)
		r, err := c.CreateReader(pulsar.ReaderOptions{Topic: pname, StartMessageID: pulsar.EarliestMessageID()})
		if err != nil {
			t.Fatal(err)
		}
		for r.HasNext() {
			m, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Index() == nil {
				t.Fatalf("native message without index")
			}
			w := interopMsg{partition: partitionNum(t, m.Topic()), index: int64(*m.Index())}
			if m.Key() != "" {
				w.key = []byte(m.Key())
			}
			if len(m.Properties()) > 0 {
				w.props = m.Properties()
			}
			if et := m.EventTime(); et.UnixMilli() != 0 {
				w.eventTime = et
			}
			want[string(m.Payload())] = w
		}
		r.Close()
	}
	if len(want) != n {
		t.Fatalf("native readers saw %d messages, want %d", len(want), n)
	}
	for i := range n {
		w := want["v"+strconv.Itoa(i)]
		if i%5 != 4 && (string(w.key) != "k"+strconv.Itoa(i%17) || w.props["i"] != strconv.Itoa(i) ||
			!w.eventTime.Equal(base.Add(time.Duration(i)*time.Millisecond))) {
			t.Fatalf("native view of v%d: %+v", i, w)
		}
	}

	// Bridge readers, from the earliest and from an index inside a batch.
	seen := 0
	for p := range parts {
		pname := bridge.PartitionName(topic, p)
		r, err := be.CreateReader(ctx, bridge.ReaderOptions{Topic: pname, Start: bridge.StartEarliest()})
		if err != nil {
			t.Fatal(err)
		}
		var count int64
		for _, w := range want {
			if w.partition == p {
				count++
			}
		}
		for j := range count {
			m, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Index != j {
				t.Errorf("bridge reader of %s: message %d has index %d", pname, j, m.Index)
			}
			checkSame(t, "bridge reader", string(m.Value), want[string(m.Value)], fromBridge(m))
			seen++
		}
		if count > 3 {
			mid := count / 2
			if err := r.Seek(ctx, bridge.StartAtIndex(mid)); err != nil {
				t.Fatal(err)
			}
			m, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Index != mid {
				t.Errorf("bridge reader of %s at index %d: got %d", pname, mid, m.Index)
			}
			checkSame(t, "bridge reader after seek", string(m.Value), want[string(m.Value)], fromBridge(m))
		}
		r.Close()
	}
	if seen != n {
		t.Fatalf("bridge readers saw %d, want %d", seen, n)
	}

	// Bridge consumer.
	got := map[string]bool{}
	for len(got) < n {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatalf("bridge consumer after %d: %v", len(got), err)
		}
		v := string(m.Value)
		if got[v] {
			t.Errorf("bridge consumer: %q twice", v)
		}
		got[v] = true
		checkSame(t, "bridge consumer", v, want[v], fromBridge(m))
		if err := cons.Ack(m.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInteropBridgeToNative: bridge-produced messages read by a native
// consumer show the same key, properties and event time, and Index() equal
// to the bridge's SendResult.Index. An empty non-nil key travels as no
// Pulsar key plus the backend's marker property (Pulsar has no empty key):
// a native client sees Key() == "" and that property; a native message with
// Key "" reads through the bridge as no key (nil).
func TestInteropBridgeToNative(t *testing.T) {
	be := openBackend(t)
	c := nativeClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const parts, n = 3, 300
	topic := fmt.Sprintf("persistent://public/default/interop-b2n-%d", time.Now().UnixNano())
	if err := be.Admin().CreateTopic(ctx, topic, parts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = be.Admin().DeleteTopic(context.Background(), topic) })
	nc, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "native",
		Type: pulsar.Shared, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	p, err := be.CreateProducer(ctx, bridge.ProducerOptions{Topic: topic, BatchingMaxMessages: 50,
		BatchingMaxDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	want := map[string]interopMsg{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		v := "b" + strconv.Itoa(i)
		om := &bridge.OutMessage{Value: []byte(v)}
		switch i % 5 {
		case 3: // empty non-nil key
			om.Key = []byte{}
			om.Properties = map[string]string{"i": strconv.Itoa(i)}
		case 4: // nil key, no properties, no event time
		default:
			om.Key = []byte("k" + strconv.Itoa(i%17))
			om.Properties = map[string]string{"i": strconv.Itoa(i), "kind": "bridge"}
			om.EventTime = base.Add(time.Duration(i) * time.Millisecond)
		}
		w := interopMsg{key: om.Key, props: om.Properties, eventTime: om.EventTime}
		wg.Add(1)
		p.SendAsync(ctx, om, func(r bridge.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("send %s: %v", v, err)
				return
			}
			w.partition, w.index = r.Partition, r.Index
			if r.ID == nil || r.ID.Index() != r.Index || r.ID.Partition() != r.Partition {
				t.Errorf("send %s: result %+v has an inconsistent ID", v, r)
			}
			mu.Lock()
			want[v] = w
			mu.Unlock()
		})
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	for seen := 0; seen < n; seen++ {
		m, err := nc.Receive(ctx)
		if err != nil {
			t.Fatalf("native consumer after %d: %v", seen, err)
		}
		v := string(m.Payload())
		w, ok := want[v]
		if !ok {
			t.Fatalf("native consumer: unexpected %q", v)
		}
		if m.Index() == nil {
			t.Fatalf("native consumer: %q without index", v)
		}
		got := interopMsg{partition: partitionNum(t, m.Topic()), index: int64(*m.Index())}
		if m.Key() != "" {
			got.key = []byte(m.Key())
		}
		props := m.Properties()
		wantProps := w.props
		if w.key != nil && len(w.key) == 0 {
			// The backend's empty-key marker is visible to native clients.
			if m.Key() != "" {
				t.Errorf("native consumer %q: key %q, want none", v, m.Key())
			}
			if _, ok := props["__pgw.emptykey"]; !ok {
				t.Errorf("native consumer %q: no empty-key marker in %v", v, props)
			}
			props = maps.Clone(props)
			delete(props, "__pgw.emptykey")
			got.key = []byte{}
		}
		if len(props) > 0 {
			got.props = props
		}
		if len(wantProps) == 0 {
			wantProps = nil
		}
		w.props = wantProps
		if et := m.EventTime(); et.UnixMilli() != 0 {
			got.eventTime = et
		}
		checkSame(t, "native consumer", v, w, got)
		if err := nc.Ack(m); err != nil {
			t.Fatal(err)
		}
	}

	// A native message with an empty key reads through the bridge as no key.
	pname := bridge.PartitionName(topic, 0)
	np, err := c.CreateProducer(pulsar.ProducerOptions{Topic: pname, DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	defer np.Close()
	if _, err := np.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("native-empty-key"), Key: ""}); err != nil {
		t.Fatal(err)
	}
	r, err := be.CreateReader(ctx, bridge.ReaderOptions{Topic: pname, Start: bridge.StartLatest()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var last int64 = -1
	for _, w := range want {
		if w.partition == 0 {
			last = max(last, w.index)
		}
	}
	if err := r.Seek(ctx, bridge.StartAtIndex(last+1)); err != nil {
		t.Fatal(err)
	}
	m, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Value) != "native-empty-key" || m.Index != last+1 || m.Key != nil {
		t.Errorf("native empty key through the bridge: value %q index %d key %q (nil %v), want index %d and nil key",
			m.Value, m.Index, m.Key, m.Key == nil, last+1)
	}
}

// A binary key (a Kafka Streams long, an Avro key) on the first and last
// entries: the broker's admin API answers with it as an HTTP header Go's
// client refuses, and the partition's index range must still be found
// (before, IndexRange failed and Kafka readers saw no such partition).
func TestIndexRangeBinaryKeys(t *testing.T) {
	be := openBackend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := fmt.Sprintf("persistent://public/default/binary-keys-%d", time.Now().UnixNano())
	if err := be.Admin().CreateTopic(ctx, topic, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = be.Admin().DeleteTopic(context.Background(), topic) })
	p, err := be.CreateProducer(ctx, bridge.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range 3 {
		if _, err := p.Send(ctx, &bridge.OutMessage{Key: []byte{0, 0, 0, byte(i), '\n'}, Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	rng, err := be.Admin().IndexRange(ctx, topic)
	if err != nil || rng.First != 0 || rng.Next != 3 {
		t.Fatalf("index range %+v, %v; want [0,3)", rng, err)
	}
}
