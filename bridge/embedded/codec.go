package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"
	"unsafe"
)

// The stored form of a message and a cursor. Both are small and versioned by
// their first byte so a later layout can read an older one. Messages are
// stored in groups (group.go), each message in this encoding.

const recordVersion = 1

var errCorrupt = errors.New("embedded: corrupt record")

// storedMessage is a message as kept in the store; its index and partition
// come from the key.
type storedMessage struct {
	Key         []byte
	Value       []byte
	Properties  map[string]string
	EventTime   time.Time
	PublishTime time.Time
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// appendMessage encodes m after dst. Properties are written in key order so
// one message always encodes to the same bytes.
func appendMessage(dst []byte, m *storedMessage) []byte {
	dst = append(dst, recordVersion)
	dst = binary.AppendVarint(dst, unixNano(m.EventTime))
	dst = binary.AppendVarint(dst, unixNano(m.PublishTime))
	if m.Key == nil {
		dst = binary.AppendUvarint(dst, 0)
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(m.Key))+1)
		dst = append(dst, m.Key...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(m.Properties)))
	if len(m.Properties) > 0 {
		keys := make([]string, 0, len(m.Properties))
		for k := range m.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			dst = appendString(dst, k)
			dst = appendString(dst, m.Properties[k])
		}
	}
	return append(dst, m.Value...)
}

// messageSizeBound is at least the size of m's encoding.
func messageSizeBound(m *storedMessage) int {
	n := 1 + 4*binary.MaxVarintLen64 + len(m.Key) + len(m.Value)
	for k, v := range m.Properties {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	return n
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeMessage parses what appendMessage wrote. The result does not alias b.
func decodeMessage(b []byte) (*storedMessage, error) {
	m := &storedMessage{}
	if err := parseMessage(b, m, false); err != nil {
		return nil, err
	}
	if m.Key != nil {
		m.Key = append([]byte{}, m.Key...)
	}
	m.Value = append([]byte{}, m.Value...)
	return m, nil
}

// parseMessage is decodeMessage without copies: Key and Value alias b (capped,
// so an append by their user cannot overwrite the next message in a group).
// With frozen, the caller promises b never changes, so the properties'
// strings alias it too (a message read for a subscriber had two string
// copies per property, a good part of its allocations).
func parseMessage(b []byte, m *storedMessage, frozen bool) error {
	d := decoder{b: b}
	if v := d.byte(); v != recordVersion {
		return fmt.Errorf("%w: message version %d", errCorrupt, v)
	}
	m.EventTime = fromUnixNano(d.varint())
	m.PublishTime = fromUnixNano(d.varint())
	if n := d.uvarint(); n > 0 {
		m.Key = d.slice(n - 1)
	}
	if n := d.uvarint(); n > 0 {
		// Each property takes at least two bytes: a count above that is a lie.
		if n > uint64(len(d.b)) {
			return fmt.Errorf("%w: %d properties in %d bytes", errCorrupt, n, len(d.b))
		}
		m.Properties = make(map[string]string, n)
		str := func(b []byte) string { return string(b) }
		if frozen {
			str = func(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			k := str(d.slice(d.uvarint()))
			m.Properties[k] = str(d.slice(d.uvarint()))
		}
	}
	if d.err != nil {
		return d.err
	}
	m.Value = d.b[:len(d.b):len(d.b)]
	return nil
}

// cursor is a durable subscription's acknowledgement state on one partition:
// every index below AckedUpTo is acknowledged, and so are the Acked ones
// above it (acknowledged out of order).
type cursor struct {
	Type      int
	AckedUpTo int64
	Acked     []int64 // ascending, all >= AckedUpTo
}

func appendCursor(dst []byte, c *cursor) []byte {
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, uint64(c.Type))
	dst = binary.AppendVarint(dst, c.AckedUpTo)
	dst = binary.AppendUvarint(dst, uint64(len(c.Acked)))
	prev := c.AckedUpTo
	for _, i := range c.Acked {
		dst = binary.AppendUvarint(dst, uint64(i-prev)) // deltas keep it small
		prev = i
	}
	return dst
}

func decodeCursor(b []byte) (*cursor, error) {
	d := decoder{b: b}
	if v := d.byte(); v != recordVersion {
		return nil, fmt.Errorf("%w: cursor version %d", errCorrupt, v)
	}
	c := &cursor{Type: int(d.uvarint()), AckedUpTo: d.varint()}
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: %d acks in %d bytes", errCorrupt, n, len(d.b))
	}
	prev := c.AckedUpTo
	for i := uint64(0); i < n && d.err == nil; i++ {
		prev += int64(d.uvarint())
		c.Acked = append(c.Acked, prev)
	}
	if d.err != nil {
		return nil, d.err
	}
	if c.AckedUpTo < 0 || c.Type < 0 || c.Type > 3 {
		return nil, fmt.Errorf("%w: cursor fields out of range", errCorrupt)
	}
	return c, nil
}

// decoder reads varints and length-prefixed bytes, remembering the first
// error so call sites stay linear.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// slice takes n bytes without copying them; the result's capacity ends
// with it.
func (d *decoder) slice(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}
