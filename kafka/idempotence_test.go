package kafka

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawBatch builds an uncompressed v2 batch as an idempotent producer would.
func rawBatch(pid int64, epoch int16, seq int32, values ...string) []byte {
	var recs []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	rb := kmsg.RecordBatch{
		Length: int32(batchHeaderSize - 12 + len(recs)), Magic: 2, PartitionLeaderEpoch: -1,
		LastOffsetDelta: int32(len(values) - 1), ProducerID: pid, ProducerEpoch: epoch,
		FirstSequence: seq, NumRecords: int32(len(values)), Records: recs,
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
	return b
}

func TestIdempotentSequences(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr)
	createTopic(t, cl, "idem", 1)

	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionTimeoutMillis = 60000
	ir, err := init.RequestWith(testCtx(t), cl)
	if err != nil || ir.ErrorCode != 0 || ir.ProducerID < 0 {
		t.Fatalf("InitProducerId: %+v %v", ir, err)
	}
	produce := func(seq int32, values ...string) (int16, int64) {
		t.Helper()
		p := produceRecords(t, cl, "idem", rawBatch(ir.ProducerID, ir.ProducerEpoch, seq, values...))
		return p.ErrorCode, p.BaseOffset
	}
	if code, off := produce(0, "a", "b"); code != 0 || off != 0 {
		t.Fatalf("first batch: code %d offset %d", code, off)
	}
	if code, off := produce(2, "c"); code != 0 || off != 2 {
		t.Fatalf("second batch: code %d offset %d", code, off)
	}
	// A retry of the first batch is answered with its offset, not stored.
	if code, off := produce(0, "a", "b"); code != 0 || off != 0 {
		t.Fatalf("duplicate: code %d offset %d", code, off)
	}
	if code, _ := produce(5, "gap"); code != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("sequence gap: code %d, want OUT_OF_ORDER_SEQUENCE_NUMBER", code)
	}
	cons := newClient(t, addr, kgo.ConsumeTopics("idem"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consume(t, cons, 3)
	if len(got) != 3 || string(got[2].Value) != "c" {
		t.Fatalf("stored %d records", len(got))
	}
	end, _ := newClient(t, addr).Request(testCtx(t), listEnd("idem"))
	if o := end.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].Offset; o != 3 {
		t.Fatalf("end offset %d, want 3", o)
	}
}

func listEnd(topic string) *kmsg.ListOffsetsRequest {
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}
