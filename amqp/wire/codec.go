package wire

import (
	"encoding/binary"
	"math"
	"time"
)

// encoder appends to b; the first error sticks and later calls do nothing, which keeps
// generated code free of error checks.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) octet(v uint8)     { e.b = append(e.b, v) }
func (e *encoder) short(v uint16)    { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) long(v uint32)     { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) longlong(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }

func (e *encoder) timestamp(v time.Time) { e.longlong(uint64(v.Unix())) }

func (e *encoder) shortstr(s string) {
	if len(s) > math.MaxUint8 {
		e.fail(syntaxErr("shortstr of %d bytes", len(s)))
		return
	}
	e.b = append(append(e.b, uint8(len(s))), s...)
}

func (e *encoder) longstr(s string) {
	if uint64(len(s)) > math.MaxUint32 {
		e.fail(syntaxErr("longstr of %d bytes", len(s)))
		return
	}
	e.long(uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) table(t Table) {
	if e.err == nil {
		e.b, e.err = AppendTable(e.b, t)
	}
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// decoder reads from b; like encoder its first error sticks and later reads return zero
// values, so a truncated input can never index out of range.
type decoder struct {
	b   []byte
	off int
	err *Error
	// depth of nested tables and arrays, bounded so hostile input cannot exhaust the stack.
	depth int
}

const maxTableDepth = 64

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.err = syntaxErr("truncated: need %d bytes at offset %d of %d", n, d.off, len(d.b))
		return nil
	}
	p := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return p
}

func (d *decoder) octet() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) short() uint16 {
	if p := d.take(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) long() uint32 {
	if p := d.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) longlong() uint64 {
	if p := d.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) timestamp() time.Time { return time.Unix(int64(d.longlong()), 0) }

func (d *decoder) shortstr() string { return string(d.take(int(d.octet()))) }

// longbytes returns a length-prefixed slice; the length is checked against what is left of
// the frame before anything is allocated.
func (d *decoder) longbytes() []byte {
	n := d.long()
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(d.b)-d.off) {
		d.err = syntaxErr("length %d exceeds the %d bytes left", n, len(d.b)-d.off)
		return nil
	}
	return d.take(int(n))
}

func (d *decoder) longstr() string { return string(d.longbytes()) }

func (d *decoder) table() Table {
	p := d.longbytes()
	if d.err != nil {
		return nil
	}
	t, err := decodeTable(p, d.depth)
	if err != nil {
		d.err = err
	}
	return t
}

// done fails unless every byte was consumed: a method with trailing bytes is malformed.
func (d *decoder) done() *Error {
	if d.err == nil && d.off != len(d.b) {
		d.err = syntaxErr("%d trailing bytes", len(d.b)-d.off)
	}
	return d.err
}
