package kafka

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// kmsgBatch encodes msgs through kmsg's own types: the reference the
// hand-laid appendBatch must match byte for byte.
func kmsgBatch(msgs []*bridge.Message) []byte {
	base, firstTS := msgs[0].Index, timestamp(msgs[0])
	maxTS := firstTS
	var recs []byte
	for _, m := range msgs {
		ts := timestamp(m)
		maxTS = max(maxTS, ts)
		rec := kmsg.Record{TimestampDelta64: ts - firstTS, OffsetDelta: int32(m.Index - base),
			Key: m.Key, Value: m.Value, Headers: headers(m.Properties)}
		rec.Length = int32(len(rec.AppendTo(nil)) - 1)
		recs = rec.AppendTo(recs)
	}
	rb := kmsg.RecordBatch{FirstOffset: base, Length: int32(batchHeaderSize - 12 + len(recs)),
		PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(msgs[len(msgs)-1].Index - base),
		FirstTimestamp: firstTS, MaxTimestamp: maxTS, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(msgs)), Records: recs}
	out := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32c))
	return out
}

func TestAppendBatchMatchesKmsg(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	big := bytes.Repeat([]byte("v"), 300) // a length needing a two-byte varint
	msgs := []*bridge.Message{
		{Index: 41, Key: []byte("k1"), Value: []byte("a"), EventTime: t0, Properties: map[string]string{"h": "1", "a": "2"}},
		{Index: 42, Value: big, PublishTime: t0.Add(-time.Second)}, // an earlier timestamp
		{Index: 44, Key: []byte{}, Value: nil, EventTime: t0.Add(5 * time.Second)},
	}
	got := appendBatch([]byte("prefix"), msgs)
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatal("appendBatch overwrote dst")
	}
	want := kmsgBatch(msgs)
	if !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("appendBatch differs from kmsg's encoding:\n got %x\nwant %x", got[len("prefix"):], want)
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(want); err != nil || rb.NumRecords != 3 || rb.MaxTimestamp != t0.Add(5*time.Second).UnixMilli() {
		t.Fatalf("reference batch: %v %+v", err, rb)
	}
}
