package kafka

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestStoredBatchesFetchedWhole: on the embedded backend a produced batch
// is kept as it came and a Fetch returns its bytes at the offsets it was
// given; a client fetching from inside it gets only the records it asked
// for, and a batch that cannot be kept whole is stored as records.
func TestStoredBatchesFetchedWhole(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr)
	createTopic(t, cl, "whole", 1)
	produce := func(records []byte) int64 {
		t.Helper()
		p := produceRecords(t, cl, "whole", records)
		if p.ErrorCode != 0 {
			t.Fatalf("produce: error %d", p.ErrorCode)
		}
		return p.BaseOffset
	}
	var values []string
	for i := range 10 {
		values = append(values, fmt.Sprint("r", i))
	}
	first := rawBatch(-1, -1, -1, values...)
	if off := produce(first); off != 0 {
		t.Fatalf("first batch at %d", off)
	}
	// Offset deltas 0, 2: not storable as is, so stored as two records.
	gap := rawBatch(-1, -1, -1, "g0", "g1")
	gap = withOffsetDelta(t, gap, 1, 2)
	if off := produce(gap); off != 10 {
		t.Fatalf("second batch at %d", off)
	}
	second := rawBatch(-1, -1, -1, "s0")
	if off := produce(second); off != 12 {
		t.Fatalf("third batch at %d", off)
	}

	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MaxBytes = 100, 1<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "whole"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset, fp.PartitionMaxBytes = 3, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	got := resp.Topics[0].Partitions[0].RecordBatches
	// The whole first batch (from its base offset 0, though 3 was asked
	// for), byte for byte after the offset and leader epoch.
	if len(got) < len(first) || !bytes.Equal(got[16:len(first)], first[16:]) || binary.BigEndian.Uint64(got) != 0 {
		t.Fatalf("Fetch does not start with the stored batch:\n got %x\nwant %x", got[:min(len(got), len(first))], first)
	}

	cons := newClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"whole": {0: kgo.NewOffset().At(5)}}))
	recs := consume(t, cons, 8)
	want := append(values[5:], "g0", "g1", "s0")
	for i, r := range recs {
		if r.Offset != int64(5+i) || string(r.Value) != want[i] {
			t.Fatalf("record %d: offset %d value %q, want %d %q", i, r.Offset, r.Value, 5+i, want[i])
		}
	}
}

// withOffsetDelta rewrites record i's offset delta of an uncompressed
// single-byte-length batch built by rawBatch, and its CRC.
func withOffsetDelta(t *testing.T, b []byte, i int, delta int32) []byte {
	t.Helper()
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	var recs []byte
	raw := rb.Records
	for j := 0; len(raw) > 0; j++ {
		var r kmsg.Record
		l, n := int(raw[0]>>1), 1 // zigzag varint, small
		if err := r.ReadFrom(raw[:n+l]); err != nil {
			t.Fatal(err)
		}
		raw = raw[n+l:]
		if j == i {
			r.OffsetDelta = delta
		}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	rb.Records, rb.Length = recs, int32(batchHeaderSize-12+len(recs))
	out := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32c))
	return out
}
