package recordbatch

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kbin"
)

// Run is a run of consecutive records of a batch, rebuilt as a batch of
// its own: Start is its first record's position in the original batch.
type Run struct {
	Start, Count int
	Raw          []byte
}

// Filter rebuilds the batch without the records keep refuses (compaction):
// each run of consecutive kept records becomes an uncompressed batch whose
// offset deltas run 0 to Count-1, so it is stored and read back as any
// produced batch. Keys, values (null stays null), headers and timestamps
// are kept; the producer id and sequences are not (a run is no producer's
// batch any more).
func (b *Batch) Filter(keep func(i int) bool) ([]Run, error) {
	base := int64(binary.BigEndian.Uint64(b.Raw[27:]))
	attrs := uint16(b.Attributes) & 0x08 // the timestamp type stays
	var runs []Run
	var cur *Run
	var recs []byte
	var firstTS, maxTS int64
	finish := func() {
		if cur == nil {
			return
		}
		cur.Raw = appendHeader(make([]byte, 0, HeaderSize+len(recs)), attrs, cur.Count, firstTS, maxTS)
		cur.Raw = append(cur.Raw, recs...)
		seal(cur.Raw)
		runs = append(runs, *cur)
		cur, recs = nil, nil
	}
	i := 0
	err := b.Each(func(r *Record) error {
		defer func() { i++ }()
		if !keep(i) {
			finish()
			return nil
		}
		ts := base + r.TimestampDelta
		if cur == nil {
			cur = &Run{Start: i}
			firstTS, maxTS = ts, ts
		}
		maxTS = max(maxTS, ts)
		recs = appendRecord(recs, ts-firstTS, int32(cur.Count), r)
		cur.Count++
		return nil
	})
	if err != nil {
		return nil, err
	}
	finish()
	return runs, nil
}

func appendRecord(dst []byte, tsDelta int64, offDelta int32, r *Record) []byte {
	var body []byte
	body = append(body, 0) // attributes
	body = kbin.AppendVarlong(body, tsDelta)
	body = kbin.AppendVarint(body, offDelta)
	body = appendNullable(body, r.Key)
	body = appendNullable(body, r.Value)
	body = kbin.AppendVarint(body, int32(r.HeaderCount))
	body = append(body, r.Headers...)
	dst = kbin.AppendVarint(dst, int32(len(body)))
	return append(dst, body...)
}

func appendNullable(dst, b []byte) []byte {
	if b == nil {
		return kbin.AppendVarint(dst, -1)
	}
	return append(kbin.AppendVarint(dst, int32(len(b))), b...)
}

// appendHeader writes a v2 batch header at base offset 0 without producer;
// seal fills in its length and CRC once the records follow it.
func appendHeader(dst []byte, attrs uint16, count int, firstTS, maxTS int64) []byte {
	be := binary.BigEndian
	dst = be.AppendUint64(dst, 0)               // base offset
	dst = be.AppendUint32(dst, 0)               // length, by seal
	dst = be.AppendUint32(dst, 0xffffffff)      // partition leader epoch
	dst = append(dst, 2)                        // magic
	dst = be.AppendUint32(dst, 0)               // CRC, by seal
	dst = be.AppendUint16(dst, attrs)           // attributes
	dst = be.AppendUint32(dst, uint32(count-1)) // last offset delta
	dst = be.AppendUint64(dst, uint64(firstTS))
	dst = be.AppendUint64(dst, uint64(maxTS))
	dst = be.AppendUint64(dst, 0xffffffffffffffff) // producer id
	dst = be.AppendUint16(dst, 0xffff)             // producer epoch
	dst = be.AppendUint32(dst, 0xffffffff)         // first sequence
	return be.AppendUint32(dst, uint32(count))
}

func seal(raw []byte) {
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32c))
}
