package pulsar

import (
	"context"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// BenchmarkHotPath measures the bridge's own per-message cost of Receive +
// Ack on a Shared subscription, without a broker: a fake client consumer
// hands out pre-built messages (batches of 100 per entry). "client" is the
// same loop on the fake consumer directly, the floor the bridge adds to.
// Unlike BenchmarkConsume it is CPU-bound and stable on a noisy machine.
func BenchmarkHotPath(b *testing.B) {
	const batch = 100
	msgs := make([]pulsar.Message, 0, 100*batch)
	ix := uint64(0)
	for e := int64(0); e < 100; e++ {
		for i := int32(0); i < batch; i++ {
			v := ix
			ix++
			msgs = append(msgs, &fakeMsg{topic: "persistent://public/default/hot", index: &v,
				id: &fakeID{ledger: 7, entry: e, batch: i, size: batch}, payload: make([]byte, 100)})
		}
	}
	b.Run("bridge", func(b *testing.B) {
		be := &Backend{index: newSparseIndex(1 << 16), acks: newAckBook()}
		fc := &fakeConsumer{msgs: msgs}
		c := &consumer{b: be, c: fc, opts: bridge.SubscribeOptions{Subscription: "s", Type: bridge.Shared},
			timers: map[*time.Timer]struct{}{}, floors: map[string]int64{}, unacked: map[subKey]*msgSet{},
			parts: map[string]int{}}
		c.ctx, c.cancel = context.WithCancel(context.Background())
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			m, err := c.Receive(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Ack(m.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client", func(b *testing.B) {
		fc := &fakeConsumer{msgs: msgs}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			m, err := fc.Receive(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := fc.AckID(m.ID()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type fakeConsumer struct {
	pulsar.Consumer
	msgs []pulsar.Message
	i    int
}

func (f *fakeConsumer) Receive(context.Context) (pulsar.Message, error) {
	m := f.msgs[f.i%len(f.msgs)]
	f.i++
	return m, nil
}

func (f *fakeConsumer) AckID(pulsar.MessageID) error { return nil }
func (f *fakeConsumer) Ack(pulsar.Message) error     { return nil }

type fakeMsg struct {
	pulsar.Message
	topic   string
	index   *uint64
	id      *fakeID
	payload []byte
}

func (m *fakeMsg) Topic() string                 { return m.topic }
func (m *fakeMsg) ID() pulsar.MessageID          { return m.id }
func (m *fakeMsg) Index() *uint64                { return m.index }
func (m *fakeMsg) Payload() []byte               { return m.payload }
func (m *fakeMsg) Key() string                   { return "" }
func (m *fakeMsg) Properties() map[string]string { return nil }
func (m *fakeMsg) PublishTime() time.Time        { return time.Unix(1, 0) }
func (m *fakeMsg) EventTime() time.Time          { return time.Time{} }
func (m *fakeMsg) RedeliveryCount() uint32       { return 0 }

type fakeID struct {
	pulsar.MessageID
	ledger, entry int64
	batch, size   int32
}

func (i *fakeID) LedgerID() int64     { return i.ledger }
func (i *fakeID) EntryID() int64      { return i.entry }
func (i *fakeID) BatchIdx() int32     { return i.batch }
func (i *fakeID) BatchSize() int32    { return i.size }
func (i *fakeID) PartitionIdx() int32 { return -1 }

func TestMsgSet(t *testing.T) {
	s := newMsgSet()
	p1, p2, p3 := pos{1, 1}, pos{1, 2}, pos{2, 0}
	for i := int32(0); i < 70; i++ {
		s.add(p1, i, 70)
	}
	s.add(p2, -1, 0)
	s.add(p3, 3, 5)
	count := func() (n int, neg int) {
		s.each(func(k msgKey) {
			n++
			if k.batch < 0 {
				neg++
			}
		})
		return
	}
	if n, neg := count(); n != 72 || neg != 1 {
		t.Fatalf("each: %d members, %d non-batched; want 72, 1", n, neg)
	}
	for i := int32(0); i < 70; i++ {
		s.remove(p1, i)
	}
	s.remove(p2, -1)
	s.entry(p3) // moves the cache off p2: drops it
	if _, ok := s.m[p1]; ok {
		t.Fatal("p1 not dropped when empty")
	}
	if n, _ := count(); n != 1 || len(s.m) != 1 {
		t.Fatalf("after removes: %d members in %d entries, want 1 in 1", n, len(s.m))
	}
	s.add(p1, 5, 70)
	s.add(p3, 4, 5)
	s.removeUpTo(p3, 3)
	var got []msgKey
	s.each(func(k msgKey) { got = append(got, k) })
	if len(got) != 1 || got[0] != (msgKey{p3, 4}) {
		t.Fatalf("after removeUpTo: %v, want [{2:0 4}]", got)
	}
}
