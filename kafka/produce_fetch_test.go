package kafka

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestProduceKeyedAndReadBack(t *testing.T) {
	addr := startGateway(t)
	prod := newClient(t, addr)
	createTopic(t, prod, "orders", 3)

	const n = 300
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{
			Topic:     "orders",
			Key:       []byte(fmt.Sprintf("k%d", i%17)),
			Value:     []byte(fmt.Sprintf("v%d", i)),
			Headers:   []kgo.RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}},
			Timestamp: time.UnixMilli(1700000000000 + int64(i)),
		})
	}
	if err := prod.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Produced offsets are the backend's: contiguous from 0 per partition.
	keyPart := map[string]int32{}
	for _, r := range recs {
		if p, ok := keyPart[string(r.Key)]; ok && p != r.Partition {
			t.Fatalf("key %s in partitions %d and %d", r.Key, p, r.Partition)
		}
		keyPart[string(r.Key)] = r.Partition
	}

	cons := newClient(t, addr, kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consume(t, cons, n)
	if len(got) != n {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
	next := map[int32]int64{}
	byValue := map[string]*kgo.Record{}
	for _, r := range got {
		if r.Offset != next[r.Partition] {
			t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition]++
		byValue[string(r.Value)] = r
	}
	if len(next) != 3 {
		t.Fatalf("records in %d partitions, want 3", len(next))
	}
	for _, want := range recs {
		r := byValue[string(want.Value)]
		switch {
		case r == nil:
			t.Fatalf("record %s missing", want.Value)
		case !bytes.Equal(r.Key, want.Key) || r.Partition != want.Partition || r.Offset != want.Offset:
			t.Fatalf("record %s: key %s p%d o%d, want key %s p%d o%d", want.Value, r.Key, r.Partition, r.Offset, want.Key, want.Partition, want.Offset)
		case !r.Timestamp.Equal(want.Timestamp):
			t.Fatalf("record %s: timestamp %v, want %v", want.Value, r.Timestamp, want.Timestamp)
		case len(r.Headers) != 1 || r.Headers[0].Key != "h" || !bytes.Equal(r.Headers[0].Value, want.Headers[0].Value):
			t.Fatalf("record %s: headers %v", want.Value, r.Headers)
		}
	}
}

func TestCompressionCodecs(t *testing.T) {
	addr := startGateway(t)
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			topic := "codec-" + name
			prod := newClient(t, addr, kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation())
			var recs []*kgo.Record
			for i := range 50 {
				recs = append(recs, kgo.StringRecord(fmt.Sprintf("%s value %d %s", name, i, bytes.Repeat([]byte("x"), 100))))
			}
			if err := prod.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			cons := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			got := consume(t, cons, len(recs))
			for i, r := range got {
				if !bytes.Equal(r.Value, recs[i].Value) || r.Offset != int64(i) {
					t.Fatalf("record %d: offset %d value %q", i, r.Offset, r.Value)
				}
			}
		})
	}
}
