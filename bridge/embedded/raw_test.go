package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
)

// kafkaBatch builds a v2 record batch of values, keyed k<i>, the first
// with a header, timestamped t0+i ms; LZ4-compressed when lz is set.
func kafkaBatch(t *testing.T, t0 int64, lz bool, values ...string) []byte {
	var raw []byte
	for i, v := range values {
		r := kmsg.Record{TimestampDelta64: int64(i), OffsetDelta: int32(i), Key: []byte("k" + strconv.Itoa(i)), Value: []byte(v)}
		if i == 0 {
			r.Headers = []kmsg.Header{{Key: "h", Value: []byte("1")}}
		}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		raw = r.AppendTo(raw)
	}
	var attrs int16
	if lz {
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		w.Write(raw)
		w.Close()
		raw, attrs = buf.Bytes(), 3
	}
	rb := kmsg.RecordBatch{Length: int32(recordbatch.HeaderSize - 12 + len(raw)), Magic: 2, Attributes: attrs,
		PartitionLeaderEpoch: -1, LastOffsetDelta: int32(len(values) - 1), FirstTimestamp: t0, MaxTimestamp: t0,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(values)), Records: raw}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := recordbatch.Parse(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRawBatches: Kafka batches stored whole sit between single messages
// at consecutive indexes; every reader sees their records as messages, a
// raw reader gets them back whole, and they survive a reopen.
func TestRawBatches(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.Close() }()
	if err := b.Admin().CreateTopic(ctx, "raw", 0); err != nil {
		t.Fatal(err)
	}
	pr := mustProducer(t, b, "raw")
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	batchA := kafkaBatch(t, t0, true, "a0", "a1", "a2")
	batchB := kafkaBatch(t, t0, false, "b0", "b1")
	// Callbacks run on the committer's goroutine, possibly after Flush
	// returned: they report through a channel.
	results := make(chan int64, 4)
	record := func(r bridge.SendResult, err error) {
		if err != nil {
			t.Error(err)
		}
		results <- r.Index
	}
	before := time.Now()
	pr.SendAsync(ctx, &bridge.OutMessage{Value: []byte("m0")}, record)
	pr.(bridge.RawProducer).SendRaw(ctx, batchA, 3, record)
	pr.SendAsync(ctx, &bridge.OutMessage{Value: []byte("m4")}, record)
	pr.(bridge.RawProducer).SendRaw(ctx, batchB, 2, record)
	if err := pr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for range 4 {
		select {
		case ix := <-results:
			got = append(got, ix)
		case <-time.After(10 * time.Second):
			t.Fatalf("callbacks: got %v", got)
		}
	}
	if want := []int64{0, 1, 4, 5}; !slices.Equal(got, want) {
		t.Fatalf("first indexes %v, want %v", got, want)
	}
	wantValues := []string{"m0", "a0", "a1", "a2", "m4", "b0", "b1"}

	r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: "raw", Start: bridge.StartEarliest()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, want := range wantValues {
		m, err := r.Next(ctx)
		if err != nil || string(m.Value) != want || m.Index != int64(i) {
			t.Fatalf("message %d: %v %q, want %q", i, err, m.Value, want)
		}
		if m.PublishTime.Before(before.Add(-time.Second)) {
			t.Fatalf("message %d: publish time %v", i, m.PublishTime)
		}
		if want == "a1" && (string(m.Key) != "k1" || !m.EventTime.Equal(time.UnixMilli(t0+1))) {
			t.Fatalf("a1: key %q, event time %v", m.Key, m.EventTime)
		}
		if want == "a0" && m.Properties["h"] != "1" {
			t.Fatalf("a0: properties %v", m.Properties)
		}
	}

	// A raw reader inside batch A gets all of it back, then the rest.
	if err := r.Seek(ctx, bridge.StartAtIndex(2)); err != nil {
		t.Fatal(err)
	}
	rr := r.(bridge.RawReader)
	m, rb, err := rr.NextRaw(ctx)
	if err != nil || m != nil || rb == nil || rb.First != 1 || rb.Count != 3 || !bytes.Equal(rb.Data, batchA) {
		t.Fatalf("NextRaw at 2: %v %v %+v", err, m, rb)
	}
	if m, _, err := rr.NextRaw(ctx); err != nil || m == nil || string(m.Value) != "m4" {
		t.Fatalf("NextRaw after A: %v %+v", err, m)
	}
	if _, rb, err := rr.NextRaw(ctx); err != nil || rb == nil || rb.First != 5 || !bytes.Equal(rb.Data, batchB) {
		t.Fatalf("NextRaw B: %v %+v", err, rb)
	}

	// A subscription receives the records as messages; a nacked record
	// comes again, read back alone by index.
	c, err := b.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{"raw"}, Subscription: "s",
		InitialPosition: bridge.Earliest, NackRedeliveryDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, want := range wantValues {
		m, err := c.Receive(rctx)
		if err != nil || string(m.Value) != want {
			t.Fatalf("receive: %v %q, want %q", err, m.Value, want)
		}
		if want == "a1" {
			c.Nack(m.ID)
		} else {
			c.Ack(m.ID)
		}
	}
	if m, err := c.Receive(rctx); err != nil || string(m.Value) != "a1" || m.Index != 2 || m.RedeliveryCount != 1 {
		t.Fatalf("redelivery: %v %+v", err, m)
	}

	// Reopened: the extent and the next index come from the raw groups.
	b.Close()
	if b, err = Open(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	rng, err := b.Admin().IndexRange(ctx, "raw")
	if err != nil || rng.First != 0 || rng.Next != 7 {
		t.Fatalf("range after reopen %+v, %v", rng, err)
	}
	if idx, err := b.Admin().IndexAtTime(ctx, "raw", time.Now().Add(time.Hour)); err != nil || idx != 7 {
		t.Fatalf("IndexAtTime(later) = %d, %v", idx, err)
	}
	res, err := mustProducer(t, b, "raw").Send(ctx, &bridge.OutMessage{Value: []byte("m7")})
	if err != nil || res.Index != 7 {
		t.Fatalf("send after reopen: %+v %v", res, err)
	}
}
