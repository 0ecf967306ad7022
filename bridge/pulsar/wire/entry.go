package wire

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"google.golang.org/protobuf/encoding/protowire"
)

const magicBrokerEntryMetadata = 0x0e02

// MaxUncompressed bounds an entry once decompressed, whatever its metadata
// claims.
const MaxUncompressed = 256 << 20

// ErrUnsupportedEntry is an entry the gateway does not decode itself:
// encrypted or chunked messages.
var ErrUnsupportedEntry = errors.New("pulsar wire: entry needs the Pulsar client (encrypted or chunked)")

// Entry is a stored entry as a MESSAGE frame carries it.
type Entry struct {
	Index       int64 // the broker's index of its last message; -1 if absent
	PublishTime int64 // Unix milliseconds
	NumMessages int
	Batched     bool
	// The entry's own key, properties and event time: a lone message's.
	Key        string
	HasKey     bool
	Properties map[string]string
	EventTime  int64
	NullValue  bool
	// Tag is a batched entry's TagProperty (Metadata.Tag), "" if none.
	Tag string

	compression      int
	uncompressedSize int
	payload          []byte
}

// ParseEntry decodes a MESSAGE payload: broker metadata, checksum (which it
// verifies) and message metadata. The payload stays compressed until
// Messages.
func ParseEntry(p []byte) (Entry, error) {
	e := Entry{Index: -1, NumMessages: 1}
	if len(p) >= 6 && binary.BigEndian.Uint16(p) == magicBrokerEntryMetadata {
		n := binary.BigEndian.Uint32(p[2:])
		if uint64(n) > uint64(len(p)-6) {
			return e, ErrFrame
		}
		err := fields(p[6:6+n], func(num protowire.Number, v uint64, _ []byte) error {
			if num == 2 {
				e.Index = int64(v)
			}
			return nil
		})
		if err != nil {
			return e, err
		}
		p = p[6+n:]
	}
	if len(p) < 10 || binary.BigEndian.Uint16(p) != magicCrc32c {
		return e, fmt.Errorf("%w: entry without checksum", ErrFrame)
	}
	if crc32.Checksum(p[6:], crc32c) != binary.BigEndian.Uint32(p[2:]) {
		return e, fmt.Errorf("%w: entry checksum mismatch", ErrFrame)
	}
	n := binary.BigEndian.Uint32(p[6:])
	if uint64(n) > uint64(len(p)-10) {
		return e, ErrFrame
	}
	var unsupported bool
	err := fields(p[10:10+n], func(num protowire.Number, v uint64, sub []byte) error {
		switch num {
		case 3:
			e.PublishTime = int64(v)
		case 4:
			return addProperty(&e.Properties, sub)
		case 6:
			e.Key, e.HasKey = string(sub), true
		case 8:
			e.compression = int(v)
		case 9:
			e.uncompressedSize = int(v)
		case 11:
			e.NumMessages, e.Batched = int(int32(v)), true
		case 12:
			e.EventTime = int64(v)
		case 13, 14, 15:
			unsupported = true // encryption keys, algorithm, parameters
		case 25:
			e.NullValue = v != 0
		case 27:
			unsupported = unsupported || int32(v) > 1 // a chunk
		}
		return nil
	})
	if err != nil {
		return e, err
	}
	if unsupported {
		return e, ErrUnsupportedEntry
	}
	if tag, ok := e.Properties[TagProperty]; ok && e.Batched {
		e.Tag = tag
		delete(e.Properties, TagProperty)
	}
	e.payload = p[10+n:]
	if e.NumMessages < 1 || e.uncompressedSize < 0 || e.uncompressedSize > maxInflated(e.compression, len(e.payload)) {
		return e, fmt.Errorf("%w: entry of %d messages, %d bytes", ErrFrame, e.NumMessages, e.uncompressedSize)
	}
	return e, nil
}

// maxInflated bounds the size an entry's metadata may claim, which Messages
// allocates: the codec's largest ratio, and MaxUncompressed.
func maxInflated(codec, compressed int) int {
	ratio := map[int]int{0: 1, 1: 255, 2: 1032, 4: 64}[codec] // zstd: no useful bound
	if ratio == 0 {
		return MaxUncompressed
	}
	return min(MaxUncompressed, compressed*ratio+64)
}

// Single is one message of an entry. Payload aliases the decompressed
// entry.
type Single struct {
	Key        string
	HasKey     bool
	Properties map[string]string
	EventTime  int64
	Payload    []byte
	NullValue  bool
}

// Messages decompresses the entry and calls fn for each of its messages in
// order, with its position in the batch. Messages compacted out are
// skipped, as clients skip them.
func (e *Entry) Messages(fn func(i int, m *Single) error) error {
	raw, err := e.decompress()
	if err != nil {
		return err
	}
	if !e.Batched {
		m := Single{Key: e.Key, HasKey: e.HasKey, Properties: e.Properties, EventTime: e.EventTime,
			Payload: raw, NullValue: e.NullValue}
		return fn(0, &m)
	}
	for i := range e.NumMessages {
		if len(raw) < 4 {
			return fmt.Errorf("%w: batch ends before message %d", ErrFrame, i)
		}
		n := binary.BigEndian.Uint32(raw)
		if uint64(n) > uint64(len(raw)-4) {
			return ErrFrame
		}
		var m Single
		size, compacted := -1, false
		err := fields(raw[4:4+n], func(num protowire.Number, v uint64, sub []byte) error {
			switch num {
			case 1:
				return addProperty(&m.Properties, sub)
			case 2:
				m.Key, m.HasKey = string(sub), true
			case 3:
				size = int(int32(v))
			case 4:
				compacted = v != 0
			case 5:
				m.EventTime = int64(v)
			case 9:
				m.NullValue = v != 0
			}
			return nil
		})
		if err != nil {
			return err
		}
		raw = raw[4+n:]
		if size < 0 || size > len(raw) {
			return fmt.Errorf("%w: message %d of %d bytes", ErrFrame, i, size)
		}
		m.Payload, raw = raw[:size:size], raw[size:]
		if compacted {
			continue
		}
		if err := fn(i, &m); err != nil {
			return err
		}
	}
	return nil
}

var zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxUncompressed))

func (e *Entry) decompress() ([]byte, error) {
	switch e.compression {
	case 0:
		return e.payload, nil
	case 1: // LZ4: one raw block
		out := make([]byte, e.uncompressedSize)
		n, err := lz4.UncompressBlock(e.payload, out)
		if err != nil || n != len(out) {
			return nil, fmt.Errorf("%w: lz4: %v", ErrFrame, err)
		}
		return out, nil
	case 2: // ZLIB
		r, err := zlib.NewReader(bytes.NewReader(e.payload))
		if err != nil {
			return nil, fmt.Errorf("%w: zlib: %v", ErrFrame, err)
		}
		out := make([]byte, e.uncompressedSize)
		if _, err := io.ReadFull(r, out); err != nil {
			return nil, fmt.Errorf("%w: zlib: %v", ErrFrame, err)
		}
		return out, nil
	case 3: // ZSTD
		out, err := zstdDecoder.DecodeAll(e.payload, make([]byte, 0, e.uncompressedSize))
		if err != nil || len(out) != e.uncompressedSize {
			return nil, fmt.Errorf("%w: zstd: %v", ErrFrame, err)
		}
		return out, nil
	case 4: // SNAPPY: one raw block
		if n, err := s2.DecodedLen(e.payload); err != nil || n != e.uncompressedSize {
			return nil, fmt.Errorf("%w: snappy: %v", ErrFrame, err)
		}
		out, err := s2.Decode(make([]byte, e.uncompressedSize), e.payload)
		if err != nil {
			return nil, fmt.Errorf("%w: snappy: %v", ErrFrame, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: compression %d", ErrUnsupportedEntry, e.compression)
}

// addProperty decodes a KeyValue into *props, made on first use.
func addProperty(props *map[string]string, b []byte) error {
	var k, v string
	err := fields(b, func(num protowire.Number, _ uint64, sub []byte) error {
		switch num {
		case 1:
			k = string(sub)
		case 2:
			v = string(sub)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if *props == nil {
		*props = map[string]string{}
	}
	(*props)[k] = v
	return nil
}
