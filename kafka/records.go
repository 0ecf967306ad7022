package kafka

import (
	"encoding/binary"
	"hash/crc32"
	"sort"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// batchHeaderSize is a v2 record batch up to its records.
const batchHeaderSize = recordbatch.HeaderSize

// timestamp is a message's Kafka timestamp: the producer's event time, or
// when the backend stored it.
func timestamp(m *bridge.Message) int64 {
	if !m.EventTime.IsZero() {
		return m.EventTime.UnixMilli()
	}
	return m.PublishTime.UnixMilli()
}

// appendBatch appends one uncompressed v2 record batch holding msgs, each
// at its own backend index, so offsets read back are the ones produced.
// It is on every Fetch's path: records are encoded once, straight after a
// header written in place, and the header's sizes, max timestamp and CRC
// are filled in at the end.
func appendBatch(dst []byte, msgs []*bridge.Message) []byte {
	return appendBatchOf(dst, msgs, -1, -1, 0)
}

// appendBatchOf is appendBatch for a producer's records: a transactional
// one's (attrs) keep their producer id and epoch, as read_committed
// consumers match them against markers.
func appendBatchOf(dst []byte, msgs []*bridge.Message, pid int64, epoch int16, attrs uint16) []byte {
	base := msgs[0].Index
	firstTS := timestamp(msgs[0])
	maxTS := firstTS
	start := len(dst)
	dst = append(dst, make([]byte, batchHeaderSize)...)
	for _, m := range msgs {
		ts := timestamp(m)
		maxTS = max(maxTS, ts)
		rec := kmsg.Record{
			TimestampDelta64: ts - firstTS,
			OffsetDelta:      int32(m.Index - base),
			Key:              m.Key,
			Value:            framedValue(m),
			Headers:          headers(m.Properties),
		}
		// The length leads the record: computed first, so the value is
		// copied once, straight into the batch.
		rec.Length = int32(recordBodyLen(&rec))
		dst = rec.AppendTo(dst)
	}
	h := dst[start:]
	be := binary.BigEndian
	be.PutUint64(h[0:], uint64(base))                          // FirstOffset
	be.PutUint32(h[8:], uint32(len(h)-12))                     // Length: after itself
	be.PutUint32(h[12:], 0xffffffff)                           // PartitionLeaderEpoch -1
	h[16] = 2                                                  // Magic
	be.PutUint16(h[21:], attrs)                                // Attributes
	be.PutUint32(h[23:], uint32(msgs[len(msgs)-1].Index-base)) // LastOffsetDelta
	be.PutUint64(h[27:], uint64(firstTS))                      // FirstTimestamp
	be.PutUint64(h[35:], uint64(maxTS))                        // MaxTimestamp
	be.PutUint64(h[43:], uint64(pid))                          // ProducerID
	be.PutUint16(h[51:], uint16(epoch))                        // ProducerEpoch
	be.PutUint32(h[53:], 0xffffffff)                           // FirstSequence -1
	be.PutUint32(h[57:], uint32(len(msgs)))                    // NumRecords
	be.PutUint32(h[17:], crc32.Checksum(h[21:], crc32c))       // CRC of what follows it
	return dst
}

// recordBodyLen is the size of a record after its length, as AppendTo
// writes it.
func recordBodyLen(r *kmsg.Record) int {
	n := 1 + kbin.VarlongLen(r.TimestampDelta64) + kbin.VarintLen(r.OffsetDelta) +
		bytesLen(r.Key) + bytesLen(r.Value) + kbin.VarintLen(int32(len(r.Headers)))
	for _, h := range r.Headers {
		n += kbin.VarintLen(int32(len(h.Key))) + len(h.Key) + bytesLen(h.Value)
	}
	return n
}

// bytesLen is the size of nullable bytes with their varint length.
func bytesLen(b []byte) int {
	if b == nil {
		return 1 // -1
	}
	return kbin.VarintLen(int32(len(b))) + len(b)
}

// headers turns properties into Kafka headers in key order.
func headers(props map[string]string) []kmsg.Header {
	if len(props) == 0 {
		return nil
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		if k == bridge.TxnRecordProperty || k == bridge.TxnMarkerProperty || k == bridge.SchemaIDProperty {
			continue // the gateway's, not the producer's headers
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	hs := make([]kmsg.Header, len(keys))
	for i, k := range keys {
		hs[i] = kmsg.Header{Key: k, Value: []byte(props[k])}
	}
	return hs
}

// Control records (transaction markers): key version 0 and type (0 abort,
// 1 commit), value version 0 and the coordinator epoch, in a batch of its
// own with the transactional and control bits.
func controlKey(commit bool) []byte {
	k := []byte{0, 0, 0, 0}
	if commit {
		k[3] = 1
	}
	return k
}

var controlValue = []byte{0, 0, 0, 0, 0, 0}

// appendControlBatch appends the marker batch of a producer's transaction
// at offset base.
func appendControlBatch(dst []byte, base, pid int64, epoch int16, commit bool, ts int64) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, batchHeaderSize)...)
	rec := kmsg.Record{Key: controlKey(commit), Value: controlValue}
	rec.Length = int32(recordBodyLen(&rec))
	dst = rec.AppendTo(dst)
	h := dst[start:]
	be := binary.BigEndian
	be.PutUint64(h[0:], uint64(base))
	be.PutUint32(h[8:], uint32(len(h)-12))
	be.PutUint32(h[12:], 0xffffffff)
	h[16] = 2
	be.PutUint16(h[21:], recordbatch.AttrTransactional|recordbatch.AttrControl)
	be.PutUint32(h[23:], 0)
	be.PutUint64(h[27:], uint64(ts))
	be.PutUint64(h[35:], uint64(ts))
	be.PutUint64(h[43:], uint64(pid))
	be.PutUint16(h[51:], uint16(epoch))
	be.PutUint32(h[53:], 0xffffffff)
	be.PutUint32(h[57:], 1)
	be.PutUint32(h[17:], crc32.Checksum(h[21:], crc32c))
	return dst
}
