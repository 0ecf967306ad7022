// Package recordbatch reads Kafka v2 record batches, the unit a Kafka
// producer sends: it checks their framing and CRC, bounds decompression,
// and turns their records into bridge messages.
//
// Two packages need it: kafka, which decodes what producers send, and the
// embedded backend, which can keep a producer's batch as it came (so a
// Kafka Fetch returns its bytes) and still hand its records to readers of
// any other protocol.
package recordbatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// HeaderSize is a v2 batch up to its records.
const HeaderSize = 61

// Attribute bits.
const (
	AttrCompression   = 0x07
	AttrTransactional = 0x10
	AttrControl       = 0x20
)

// ErrCorrupt is any batch that does not decode.
var ErrCorrupt = errors.New("corrupt record batch")

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// Batch is one v2 record batch whose framing, magic and CRC are checked.
type Batch struct {
	Raw           []byte // the whole batch, from its base offset on; aliases the input
	Attributes    int16
	ProducerID    int64
	ProducerEpoch int16
	FirstSequence int32
	NumRecords    int
}

func (b *Batch) Transactional() bool { return b.Attributes&AttrTransactional != 0 }
func (b *Batch) Control() bool       { return b.Attributes&AttrControl != 0 }

// Split cuts a Produce request's records into batches. Only magic 2 is
// accepted: Produce starts at v3, which requires it.
func Split(records []byte) ([]Batch, error) {
	var out []Batch
	for len(records) > 0 {
		b, err := header(records)
		if err != nil {
			return nil, err
		}
		records = records[len(b.Raw):]
		out = append(out, b)
	}
	return out, nil
}

// header checks the batch at the start of data and returns it.
func header(data []byte) (Batch, error) {
	be := binary.BigEndian
	if len(data) < HeaderSize {
		return Batch{}, ErrCorrupt
	}
	length := int32(be.Uint32(data[8:]))
	if length < HeaderSize-12 || int(length) > len(data)-12 {
		return Batch{}, ErrCorrupt
	}
	raw := data[:12+length]
	if magic := raw[16]; magic != 2 {
		return Batch{}, fmt.Errorf("%w: magic %d", ErrCorrupt, magic)
	}
	if be.Uint32(raw[17:]) != crc32.Checksum(raw[21:], crc32c) {
		return Batch{}, fmt.Errorf("%w: crc mismatch", ErrCorrupt)
	}
	n := int32(be.Uint32(raw[57:]))
	if n < 0 {
		return Batch{}, ErrCorrupt
	}
	return Batch{
		Raw:           raw,
		Attributes:    int16(be.Uint16(raw[21:])),
		ProducerID:    int64(be.Uint64(raw[43:])),
		ProducerEpoch: int16(be.Uint16(raw[51:])),
		FirstSequence: int32(be.Uint32(raw[53:])),
		NumRecords:    int(n),
	}, nil
}

// Parse checks a single stored batch (the whole of data) and returns it.
func Parse(data []byte) (Batch, error) {
	b, err := header(data)
	if err == nil && len(b.Raw) != len(data) {
		err = fmt.Errorf("%w: %d bytes after the batch", ErrCorrupt, len(data)-len(b.Raw))
	}
	return b, err
}

// Record is one record of a batch; its slices alias the decompressed
// records.
type Record struct {
	TimestampDelta int64
	OffsetDelta    int32
	Key, Value     []byte // nil when null
	Headers        []byte // headerCount headers, still encoded (see EachHeader)
	HeaderCount    int
}

// Each decompresses the batch and calls fn for each record in order. It
// fails on records that do not decode, on a count other than NumRecords,
// and on bytes after the last record.
func (b *Batch) Each(fn func(r *Record) error) error {
	return b.each(nil, fn)
}

// each is Each decompressing into scratch's memory when it is big enough.
func (b *Batch) each(scratch *[]byte, fn func(r *Record) error) error {
	raw, err := decompress(scratch, b.Raw[HeaderSize:], b.Attributes&AttrCompression)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	// Each record needs at least 7 bytes: bound the count before trusting it.
	if b.NumRecords > len(raw)/7+1 {
		return ErrCorrupt
	}
	var r Record
	for range b.NumRecords {
		l, n := kbin.Varint(raw)
		if n <= 0 || l < 0 || int(l) > len(raw)-n {
			return ErrCorrupt
		}
		if err := parseRecord(raw[n:n+int(l)], &r); err != nil {
			return err
		}
		raw = raw[n+int(l):]
		if err := fn(&r); err != nil {
			return err
		}
	}
	if len(raw) != 0 {
		return ErrCorrupt
	}
	return nil
}

// parseRecord reads one record's body (after its length), which must be
// used up exactly.
func parseRecord(b []byte, r *Record) error {
	d := reader{b: b}
	d.take(1) // attributes: unused in v2 records
	r.TimestampDelta = d.varlong()
	r.OffsetDelta = int32(d.varint())
	r.Key = d.nullable()
	r.Value = d.nullable()
	hc := d.varint()
	if hc < 0 || int(hc) > len(d.b) {
		return ErrCorrupt
	}
	r.HeaderCount = int(hc)
	r.Headers = d.b
	for range hc {
		d.take(int(d.varint())) // key: a string, never null
		d.nullable()
	}
	if d.bad || len(d.b) != 0 {
		return ErrCorrupt
	}
	r.Headers = r.Headers[:len(r.Headers)-len(d.b)]
	return nil
}

// EachHeader calls fn with each header of a record parsed by Each.
func (r *Record) EachHeader(fn func(key, value []byte)) {
	d := reader{b: r.Headers}
	for range r.HeaderCount {
		k := d.take(int(d.varint()))
		fn(k, d.nullable())
	}
}

// Sequential decompresses and checks every record, and reports whether
// their offset deltas run 0, 1, 2... as the batch's last offset delta says:
// then the batch can be kept as produced and read back at any base offset.
func (b *Batch) Sequential() (bool, error) {
	seq := int32(binary.BigEndian.Uint32(b.Raw[23:])) == int32(b.NumRecords-1)
	i := int32(0)
	scratch := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(scratch)
	err := b.each(scratch, func(r *Record) error {
		if r.OffsetDelta != i {
			seq = false
		}
		i++
		return nil
	})
	return seq && err == nil, err
}

// scratchPool holds decompression buffers for checks that keep nothing.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// Messages decodes the batch's records as messages: key, value, headers
// as properties (the last of a repeated key wins) and the record's time as
// event time. Key and value alias the batch when it is not compressed.
func (b *Batch) Messages() ([]bridge.OutMessage, error) {
	first := int64(binary.BigEndian.Uint64(b.Raw[27:]))
	txnPID := ""
	if b.Transactional() && !b.Control() {
		txnPID = strconv.FormatInt(b.ProducerID, 10)
	}
	// Each checks the count against the bytes before the first call.
	var out []bridge.OutMessage
	err := b.Each(func(r *Record) error {
		if out == nil {
			out = make([]bridge.OutMessage, 0, b.NumRecords)
		}
		m := bridge.OutMessage{Key: r.Key, Value: r.Value}
		if ts := first + r.TimestampDelta; ts >= 0 {
			m.EventTime = time.UnixMilli(ts)
		}
		if r.HeaderCount > 0 {
			m.Properties = make(map[string]string, r.HeaderCount)
			r.EachHeader(func(k, v []byte) { m.Properties[string(k)] = string(v) })
		}
		if txnPID != "" {
			if m.Properties == nil {
				m.Properties = make(map[string]string, 1)
			}
			m.Properties[bridge.TxnRecordProperty] = txnPID
		}
		if b.Control() {
			// A transaction marker: key version and type (1 commit).
			outcome := "abort"
			if len(r.Key) >= 4 && r.Key[3] == 1 {
				outcome = "commit"
			}
			m.Key, m.Properties = nil, map[string]string{bridge.TxnMarkerProperty: outcome}
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// SetBaseOffset makes a stored batch's records read back from offset on,
// and clears the partition leader epoch; neither is under the CRC.
func SetBaseOffset(raw []byte, offset int64) {
	binary.BigEndian.PutUint64(raw[0:], uint64(offset))
	binary.BigEndian.PutUint32(raw[12:], 0xffffffff)
}

// reader walks a record's fields; a field past the end sets bad.
type reader struct {
	b   []byte
	bad bool
}

func (d *reader) take(n int) []byte {
	if n < 0 || n > len(d.b) {
		d.bad, d.b = true, nil
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *reader) varint() int32 {
	v, n := kbin.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *reader) varlong() int64 {
	v, n := kbin.Varlong(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// nullable reads a varint length and that many bytes; -1 is null.
func (d *reader) nullable() []byte {
	l := d.varint()
	if l == -1 {
		return nil
	}
	return d.take(int(l))
}
