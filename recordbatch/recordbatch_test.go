package recordbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type rec struct {
	key, value []byte
	headers    []kmsg.Header
	tsDelta    int64
	offDelta   int32
}

// build encodes a v2 batch through kmsg's own types, compressed with codec.
func build(t testing.TB, codec int16, firstTS int64, recs ...rec) []byte {
	var raw []byte
	for _, r := range recs {
		kr := kmsg.Record{TimestampDelta64: r.tsDelta, OffsetDelta: r.offDelta, Key: r.key, Value: r.value, Headers: r.headers}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1)
		raw = kr.AppendTo(raw)
	}
	records := compress(t, codec, raw)
	rb := kmsg.RecordBatch{Length: int32(HeaderSize - 12 + len(records)), Magic: 2, PartitionLeaderEpoch: -1,
		Attributes: codec, LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: firstTS, MaxTimestamp: firstTS,
		ProducerID: 7, ProducerEpoch: 1, FirstSequence: 3, NumRecords: int32(len(recs)), Records: records}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
	return b
}

func compress(t testing.TB, codec int16, raw []byte) []byte {
	var buf bytes.Buffer
	switch codec {
	case codecNone:
		return raw
	case codecGzip:
		w := gzip.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	case codecSnappy:
		return s2.EncodeSnappy(nil, raw)
	case codecLz4:
		w := lz4.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	case codecZstd:
		w, _ := zstd.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	default:
		t.Fatalf("codec %d", codec)
	}
	return buf.Bytes()
}

func TestMessagesEveryCodec(t *testing.T) {
	t0 := int64(1_700_000_000_000)
	recs := []rec{
		{key: []byte("k"), value: []byte("v1"), headers: []kmsg.Header{{Key: "a", Value: []byte("1")}, {Key: "b", Value: nil}}},
		{key: nil, value: bytes.Repeat([]byte("x"), 300), tsDelta: 5, offDelta: 1},
		{key: []byte{}, value: nil, tsDelta: -2, offDelta: 2},
	}
	for _, codec := range []int16{codecNone, codecGzip, codecSnappy, codecLz4, codecZstd} {
		data := append(build(t, codec, t0, recs...), build(t, codec, t0, recs[0])...)
		batches, err := Split(data)
		if err != nil || len(batches) != 2 {
			t.Fatalf("codec %d: Split: %d batches, %v", codec, len(batches), err)
		}
		b := batches[0]
		if b.ProducerID != 7 || b.ProducerEpoch != 1 || b.FirstSequence != 3 || b.NumRecords != 3 || b.Transactional() {
			t.Fatalf("codec %d: header %+v", codec, b)
		}
		if seq, err := b.Sequential(); !seq || err != nil {
			t.Fatalf("codec %d: Sequential = %v, %v", codec, seq, err)
		}
		msgs, err := b.Messages()
		if err != nil || len(msgs) != 3 {
			t.Fatalf("codec %d: Messages: %d, %v", codec, len(msgs), err)
		}
		m := msgs[0]
		if string(m.Key) != "k" || string(m.Value) != "v1" || m.Properties["a"] != "1" || len(m.Properties) != 2 || !m.EventTime.Equal(time.UnixMilli(t0)) {
			t.Fatalf("codec %d: first message %+v", codec, m)
		}
		if msgs[1].Key != nil || len(msgs[1].Value) != 300 || !msgs[1].EventTime.Equal(time.UnixMilli(t0+5)) {
			t.Fatalf("codec %d: second message %+v", codec, msgs[1])
		}
		if msgs[2].Key == nil || len(msgs[2].Key) != 0 || msgs[2].Value != nil || !msgs[2].EventTime.Equal(time.UnixMilli(t0-2)) {
			t.Fatalf("codec %d: third message %+v", codec, msgs[2])
		}
	}
}

func TestSequentialNeedsConsecutiveDeltas(t *testing.T) {
	gap := build(t, codecLz4, 0, rec{value: []byte("a")}, rec{value: []byte("b"), offDelta: 2})
	b, err := Parse(gap)
	if err != nil {
		t.Fatal(err)
	}
	if seq, err := b.Sequential(); seq || err != nil {
		t.Fatalf("offset deltas 0, 2: Sequential = %v, %v", seq, err)
	}
	if _, err := Parse(append(gap, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
}

func TestCorruptBatches(t *testing.T) {
	good := build(t, codecNone, 0, rec{value: []byte("abc")})
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1
	lying := bytes.Clone(good)
	binary.BigEndian.PutUint32(lying[57:], 1000) // claims 1000 records
	binary.BigEndian.PutUint32(lying[17:], crc32.Checksum(lying[21:], crc32c))
	for name, data := range map[string][]byte{"crc": flipped, "short": good[:HeaderSize-1], "count": lying} {
		batches, err := Split(data)
		if err == nil {
			_, err = batches[0].Messages()
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	// SetBaseOffset leaves the CRC valid.
	SetBaseOffset(good, 1234)
	if b, err := Parse(good); err != nil || int64(binary.BigEndian.Uint64(b.Raw)) != 1234 {
		t.Fatalf("after SetBaseOffset: %v", err)
	}
}

// FuzzSplit feeds arbitrary bytes to the decoder: it must return an error
// or records, never panic or allocate past its bounds.
func FuzzSplit(f *testing.F) {
	f.Add(build(f, codecNone, 0, rec{key: []byte("k"), value: []byte("v"), headers: []kmsg.Header{{Key: "h"}}}))
	f.Add(build(f, codecLz4, 9, rec{value: []byte("x")}, rec{value: []byte("y"), offDelta: 1}))
	f.Add(build(f, codecSnappy, 0, rec{value: []byte("x")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		batches, err := Split(data)
		if err != nil {
			return
		}
		for _, b := range batches {
			seq, serr := b.Sequential()
			msgs, merr := b.Messages()
			if (serr == nil) != (merr == nil) {
				t.Fatalf("Sequential %v but Messages %v", serr, merr)
			}
			if merr == nil && len(msgs) != b.NumRecords {
				t.Fatalf("%d messages of %d", len(msgs), b.NumRecords)
			}
			_ = seq
		}
	})
}
