package kafka

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// slowRanges is a backend whose IndexRange takes delay, as the admin calls
// behind it on a busy Pulsar broker do (8-25 ms measured, more under load).
type slowRanges struct {
	bridge.Backend
	delay time.Duration
}

func (s slowRanges) Admin() bridge.Admin { return slowRangeAdmin{s.Backend.Admin(), s.delay} }

type slowRangeAdmin struct {
	bridge.Admin
	delay time.Duration
}

func (a slowRangeAdmin) IndexRange(ctx context.Context, partition string) (bridge.IndexRange, error) {
	select {
	case <-time.After(a.delay):
	case <-ctx.Done():
		return bridge.IndexRange{}, ctx.Err()
	}
	return a.Admin.IndexRange(ctx, partition)
}

// TestTailingConsumerNotHeldBySlowExtent: a consumer reading as records
// come gets each one about when it is written, even when asking the
// backend for the partition's extent is slow. A Fetch used to ask it
// itself once the cached extent was a second old, and every record written
// meanwhile waited for the answer: on Pulsar that was the p99 of a
// steady-rate run.
func TestTailingConsumerNotHeldBySlowExtent(t *testing.T) {
	const delay = time.Second
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	addr := serveOn(t, slowRanges{b, delay})
	const topic = "tailing"
	prod := newClient(t, addr, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	createTopic(t, prod, topic, 1)
	cons := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	stamped := func() []byte {
		v := make([]byte, 8)
		binary.BigEndian.PutUint64(v, uint64(time.Now().UnixNano()))
		return v
	}
	// The consumer reads the first record (its start-up asks for extents).
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: stamped()}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	consume(t, cons, 1)

	// Records every 20 ms for three seconds: the cached extent ages past
	// its TTL several times meanwhile.
	const n = 150
	go func() {
		for range n {
			prod.Produce(ctx, &kgo.Record{Value: stamped()}, nil)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var worst time.Duration
	for got := 0; got < n; {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records: %v", got, n, ctx.Err())
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			got++
			worst = max(worst, now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(r.Value)))))
		})
	}
	if worst > delay/2 {
		t.Fatalf("a record reached the consumer %v after it was sent; the extent lookup takes %v", worst, delay)
	}
	t.Logf("slowest record: %v from send to consumer", worst)
}
