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

// wantRecord is what a record of the batch must carry, written out by
// hand rather than computed by the code under test.
type wantRecord struct {
	offset     int64
	ts         int64 // milliseconds
	key, value []byte
	headers    []kmsg.Header
}

// kmsgBatch encodes recs through kmsg's own types: the reference the
// hand-laid appendBatch must match byte for byte.
func kmsgBatch(recs []wantRecord, maxTS int64) []byte {
	base, firstTS := recs[0].offset, recs[0].ts
	var body []byte
	for _, r := range recs {
		rec := kmsg.Record{TimestampDelta64: r.ts - firstTS, OffsetDelta: int32(r.offset - base),
			Key: r.key, Value: r.value, Headers: r.headers}
		rec.Length = int32(len(rec.AppendTo(nil)) - 1)
		body = rec.AppendTo(body)
	}
	rb := kmsg.RecordBatch{FirstOffset: base, Length: int32(batchHeaderSize - 12 + len(body)),
		PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(recs[len(recs)-1].offset - base),
		FirstTimestamp: firstTS, MaxTimestamp: maxTS, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(recs)), Records: body}
	out := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32c))
	return out
}

func TestAppendBatchMatchesKmsg(t *testing.T) {
	const t0 = 1_700_000_000_000          // ms
	big := bytes.Repeat([]byte("v"), 300) // a length needing a two-byte varint
	msgs := []*bridge.Message{
		{Index: 41, Key: []byte("k1"), Value: []byte("a"), EventTime: time.UnixMilli(t0),
			PublishTime: time.UnixMilli(t0 + 7), Properties: map[string]string{"h": "1", "a": "2"}},
		{Index: 42, Value: big, PublishTime: time.UnixMilli(t0 - 1000)}, // no event time: the publish time
		{Index: 44, Key: []byte{}, Value: nil, EventTime: time.UnixMilli(t0 + 5000)},
	}
	// The event time is the record's timestamp, else the publish time;
	// properties are headers in key order.
	want := kmsgBatch([]wantRecord{
		{offset: 41, ts: t0, key: []byte("k1"), value: []byte("a"),
			headers: []kmsg.Header{{Key: "a", Value: []byte("2")}, {Key: "h", Value: []byte("1")}}},
		{offset: 42, ts: t0 - 1000, value: big},
		{offset: 44, ts: t0 + 5000, key: []byte{}},
	}, t0+5000)
	got := appendBatch([]byte("prefix"), msgs)
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatal("appendBatch overwrote dst")
	}
	if !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("appendBatch differs from kmsg's encoding:\n got %x\nwant %x", got[len("prefix"):], want)
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(want); err != nil || rb.NumRecords != 3 || rb.MaxTimestamp != t0+5000 {
		t.Fatalf("reference batch: %v %+v", err, rb)
	}
}
