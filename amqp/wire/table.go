package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// Table is a field table. Values and the RabbitMQ type letter each encodes as:
//
//	bool 't'   int8 'b'   uint8 'B'   int16 's'   uint16 'u'   int32 'I'   uint32 'i'
//	int64 'l' (and int)   float32 'f'   float64 'd'   Decimal 'D'   string 'S'
//	[]any 'A'   time.Time 'T' (seconds)   Table 'F'   nil 'V'   []byte 'x'
//
// These are RabbitMQ's letters (its errata), which its clients use; the 0-9-1 spec's own list
// differs ('s' shortstr, 'U' int16, 'L' int64) and no client speaks it. Decoding also accepts
// 'L' as int64, as RabbitMQ does.
type Table map[string]any

// Decimal is the 'D' type: Value × 10^-Scale.
type Decimal struct {
	Scale uint8
	Value int32
}

// AppendTable appends t as a field table (long length, then entries), keys in sorted order so
// that the encoding is deterministic.
func AppendTable(b []byte, t Table) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	var err error
	var small [16]string // most tables are small: sort their keys without allocating
	keys := small[:0]
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(k) > math.MaxUint8 {
			return b[:start], syntaxErr("table key of %d bytes", len(k))
		}
		b = append(append(b, uint8(len(k))), k...)
		if b, err = appendField(b, t[k]); err != nil {
			return b[:start], fmt.Errorf("table key %q: %w", k, err)
		}
	}
	return putLen(b, start)
}

// putLen fills the 4-byte length placeholder at start with the length of what follows it.
func putLen(b []byte, start int) ([]byte, error) {
	n := len(b) - start - 4
	if uint64(n) > math.MaxUint32 {
		return b[:start], syntaxErr("table or array of %d bytes", n)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	return b, nil
}

func appendField(b []byte, v any) ([]byte, error) {
	be := binary.BigEndian
	switch v := v.(type) {
	case bool:
		var x uint8
		if v {
			x = 1
		}
		return append(b, 't', x), nil
	case int8:
		return append(b, 'b', uint8(v)), nil
	case uint8:
		return append(b, 'B', v), nil
	case int16:
		return be.AppendUint16(append(b, 's'), uint16(v)), nil
	case uint16:
		return be.AppendUint16(append(b, 'u'), v), nil
	case int32:
		return be.AppendUint32(append(b, 'I'), uint32(v)), nil
	case uint32:
		return be.AppendUint32(append(b, 'i'), v), nil
	case int64:
		return be.AppendUint64(append(b, 'l'), uint64(v)), nil
	case int:
		return be.AppendUint64(append(b, 'l'), uint64(v)), nil
	case float32:
		return be.AppendUint32(append(b, 'f'), math.Float32bits(v)), nil
	case float64:
		return be.AppendUint64(append(b, 'd'), math.Float64bits(v)), nil
	case Decimal:
		return be.AppendUint32(append(b, 'D', v.Scale), uint32(v.Value)), nil
	case string:
		if uint64(len(v)) > math.MaxUint32 {
			return b, syntaxErr("longstr of %d bytes", len(v))
		}
		return append(be.AppendUint32(append(b, 'S'), uint32(len(v))), v...), nil
	case []byte:
		if uint64(len(v)) > math.MaxUint32 {
			return b, syntaxErr("byte array of %d bytes", len(v))
		}
		return append(be.AppendUint32(append(b, 'x'), uint32(len(v))), v...), nil
	case time.Time:
		return be.AppendUint64(append(b, 'T'), uint64(v.Unix())), nil
	case Table:
		return AppendTable(append(b, 'F'), v)
	case map[string]any:
		return AppendTable(append(b, 'F'), v)
	case []any:
		b = append(b, 'A')
		start := len(b)
		b = append(b, 0, 0, 0, 0)
		var err error
		for i, e := range v {
			if b, err = appendField(b, e); err != nil {
				return b, fmt.Errorf("array index %d: %w", i, err)
			}
		}
		return putLen(b, start)
	case nil:
		return append(b, 'V'), nil
	}
	return b, syntaxErr("no field table type for %T", v)
}

// DecodeTable decodes a field table as AppendTable writes it: length, then entries.
func DecodeTable(p []byte) (Table, error) {
	d := decoder{b: p}
	t := d.table()
	if err := d.done(); err != nil {
		return nil, err
	}
	return t, nil
}

// decodeEntries decodes a table's entries, without the length prefix.
func decodeEntries(p []byte) (Table, error) {
	t, err := decodeTable(p, 0)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func decodeTable(p []byte, depth int) (Table, *Error) {
	if depth >= maxTableDepth {
		return nil, syntaxErr("field tables nested deeper than %d", maxTableDepth)
	}
	d := decoder{b: p, depth: depth + 1}
	t := Table{}
	for d.err == nil && d.off < len(d.b) {
		k := d.shortstr()
		v := d.field()
		if d.err == nil {
			t[k] = v
		}
	}
	return t, d.err
}

func (d *decoder) field() any {
	switch typ := d.octet(); typ {
	case 't':
		return d.octet() != 0
	case 'b':
		return int8(d.octet())
	case 'B':
		return d.octet()
	case 's':
		return int16(d.short())
	case 'u':
		return d.short()
	case 'I':
		return int32(d.long())
	case 'i':
		return d.long()
	case 'l', 'L':
		return int64(d.longlong())
	case 'f':
		return math.Float32frombits(d.long())
	case 'd':
		return math.Float64frombits(d.longlong())
	case 'D':
		return Decimal{Scale: d.octet(), Value: int32(d.long())}
	case 'S':
		return d.longstr()
	case 'x':
		if p := d.longbytes(); p != nil {
			return slices.Clone(p) // the frame buffer is reused
		}
		return []byte{}
	case 'T':
		return d.timestamp()
	case 'F':
		return d.table()
	case 'A':
		return d.array()
	case 'V':
		return nil
	default:
		if d.err == nil {
			d.err = syntaxErr("unknown field type %q", typ)
		}
		return nil
	}
}

func (d *decoder) array() []any {
	p := d.longbytes()
	if d.err != nil {
		return nil
	}
	if d.depth >= maxTableDepth {
		d.err = syntaxErr("field arrays nested deeper than %d", maxTableDepth)
		return nil
	}
	a := decoder{b: p, depth: d.depth + 1}
	vs := []any{}
	for a.err == nil && a.off < len(a.b) {
		vs = append(vs, a.field())
	}
	if a.err != nil {
		d.err = a.err
		return nil
	}
	return vs
}
