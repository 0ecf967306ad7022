package pulsar_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// TestEntryReaderMatchesClientReader: a reader that decodes entries itself
// (ReaderOptions.Batches) returns, from every kind of start, exactly what
// the pulsar-client-go reader returns: index, key, properties, event and
// publish time, value. The partition holds native batches (LZ4, ZSTD,
// ZLIB, none), unbatched messages and the gateway's own batch entries.
func TestEntryReaderMatchesClientReader(t *testing.T) {
	be := openBackend(t)
	c := nativeClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topic := fmt.Sprintf("persistent://public/default/entry-reader-%d", time.Now().UnixNano())
	if err := be.Admin().CreateTopic(ctx, topic, 1); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("KEEP") == "" {
		t.Cleanup(func() { _ = be.Admin().DeleteTopic(context.Background(), topic) })
	}
	part := bridge.PartitionName(topic, 0)

	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	i := 0
	native := func(opts pulsar.ProducerOptions, n int) {
		opts.Topic = part
		np, err := c.CreateProducer(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer np.Close()
		for range n {
			pm := &pulsar.ProducerMessage{Payload: []byte("native-" + strconv.Itoa(i))}
			switch i % 3 {
			case 0:
				pm.Key = "k" + strconv.Itoa(i)
				pm.Properties = map[string]string{"i": strconv.Itoa(i)}
				pm.EventTime = base.Add(time.Duration(i) * time.Millisecond)
			case 1:
				// Not unbatched: pulsar-client-go's reader drops an
				// unbatched empty message without properties (the
				// entry reader returns it).
				if !opts.DisableBatching {
					pm.Payload = nil
				}
			}
			i++
			np.SendAsync(ctx, pm, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					t.Error(err)
				}
			})
		}
		if err := np.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	native(pulsar.ProducerOptions{BatchingMaxMessages: 10, CompressionType: pulsar.LZ4}, 25)
	native(pulsar.ProducerOptions{DisableBatching: true}, 4)
	native(pulsar.ProducerOptions{BatchingMaxMessages: 6, CompressionType: pulsar.ZSTD}, 12)
	native(pulsar.ProducerOptions{BatchingMaxMessages: 6, CompressionType: pulsar.ZLib}, 7)
	native(pulsar.ProducerOptions{BatchingMaxMessages: 5}, 9)
	p, err := be.CreateProducer(ctx, bridge.ProducerOptions{Topic: part, BatchingMaxMessages: 8, Compression: bridge.CompressionLZ4})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]bridge.OutMessage, 20)
	for j := range msgs {
		msgs[j] = bridge.OutMessage{Value: []byte("gw-" + strconv.Itoa(j)), Key: []byte{}}
		if j%2 == 0 {
			msgs[j].Key = nil
			msgs[j].Properties = map[string]string{"j": strconv.Itoa(j)}
		}
	}
	done := make(chan error, 1)
	p.(bridge.BatchProducer).SendBatch(ctx, msgs, func(_ bridge.SendResult, err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p.Close()
	const total = 25 + 4 + 12 + 7 + 9 + 20

	rng, err := be.Admin().IndexRange(ctx, part)
	if err != nil {
		t.Fatal(err)
	}
	if rng.Next-rng.First != total {
		t.Fatalf("partition holds %d messages, want %d", rng.Next-rng.First, total)
	}
	readAll := func(batches bool, start bridge.StartPosition, n int) []*bridge.Message {
		t.Helper()
		r, err := be.CreateReader(ctx, bridge.ReaderOptions{Topic: part, Start: start, Batches: batches})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, ok := r.(bridge.BatchReader); ok != batches {
			t.Fatalf("reader with Batches %v is a BatchReader: %v", batches, ok)
		}
		var out []*bridge.Message
		for len(out) < n {
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			if br, ok := r.(bridge.BatchReader); ok && len(out)%2 == 0 {
				ms, err := br.NextBatch(rctx)
				rcancel()
				if err != nil {
					t.Fatalf("NextBatch after %d: %v (got %v)", len(out), err, indexes(out))
				}
				out = append(out, ms...)
				continue
			}
			m, err := r.Next(rctx)
			rcancel()
			if err != nil {
				t.Fatalf("Next (batches %v) after %d: %v", batches, len(out), err)
			}
			out = append(out, m)
		}
		return out[:n]
	}
	same := func(where string, got, want []*bridge.Message) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d messages, want %d", where, len(got), len(want))
		}
		for k := range want {
			g, w := got[k], want[k]
			if g.Index != w.Index || !bytes.Equal(g.Value, w.Value) || (g.Value == nil) != (w.Value == nil) ||
				!bytes.Equal(g.Key, w.Key) || (g.Key == nil) != (w.Key == nil) || !maps.Equal(g.Properties, w.Properties) ||
				!g.EventTime.Equal(w.EventTime) || !g.PublishTime.Equal(w.PublishTime) || g.Topic != w.Topic || g.Partition != w.Partition {
				t.Fatalf("%s: message %d is\n%+v\nwant\n%+v", where, k, *g, *w)
			}
		}
	}
	want := readAll(false, bridge.StartEarliest(), total)
	same("earliest", readAll(true, bridge.StartEarliest(), total), want)
	for _, from := range []int{1, 10, 25, 27, 29, 30, 35, 57, 66, total - 1} { // inside and at the start of entries
		start := bridge.StartAtIndex(want[from].Index)
		same(fmt.Sprintf("from index %d", want[from].Index), readAll(true, start, total-from), want[from:])
	}
	t0 := want[40].PublishTime
	fromTime := readAll(false, bridge.StartAtTime(t0), 5)
	same("from a time", readAll(true, bridge.StartAtTime(t0), 5), fromTime)

	// Seek back, and latest: nothing until a new message.
	r, err := be.CreateReader(ctx, bridge.ReaderOptions{Topic: part, Start: bridge.StartLatest(), Batches: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Seek(ctx, bridge.StartAtIndex(want[3].Index)); err != nil {
		t.Fatal(err)
	}
	m, err := r.Next(ctx)
	if err != nil || m.Index != want[3].Index {
		t.Fatalf("after a seek: %v %v, want index %d", m, err, want[3].Index)
	}
	if err := r.Seek(ctx, bridge.StartLatest()); err != nil {
		t.Fatal(err)
	}
	short, scancel := context.WithTimeout(ctx, 300*time.Millisecond)
	if m, err := r.Next(short); err == nil {
		t.Fatalf("latest: read %d before anything new", m.Index)
	}
	scancel()
}

func indexes(ms []*bridge.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Index
	}
	return out
}
