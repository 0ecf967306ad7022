package wire

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
)

func methodSeeds(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range allMethods() {
		fill(rng, reflect.ValueOf(m).Elem())
		b, err := AppendMethod(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// mustBeError fails unless err is nil or an *Error.
func mustBeError(t *testing.T, err error) {
	t.Helper()
	var we *Error
	if err != nil && !errors.As(err, &we) {
		t.Fatalf("not an *Error: %v", err)
	}
}

// stable checks that encode∘decode is a fixed point after one step: the first decoding may
// normalise (key order, unused bits, 'L', booleans other than 1), but must lose nothing that
// a second decoding would see. Bytes are compared, not values, because of NaN.
func stable[T any](t *testing.T, v T, enc func(T) ([]byte, error), dec func([]byte) (T, error)) {
	t.Helper()
	b1, err := enc(v)
	if err != nil {
		t.Fatalf("re-encoding a decoded value: %v", err)
	}
	v2, err := dec(b1)
	if err != nil {
		t.Fatalf("decoding our own encoding %q: %v", b1, err)
	}
	b2, err := enc(v2)
	if err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("unstable: %q then %q (%v)", b1, b2, err)
	}
}

func FuzzDecodeMethod(f *testing.F) {
	methodSeeds(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeMethod(p)
		mustBeError(t, err)
		if err == nil {
			stable(t, m, func(m Method) ([]byte, error) { return AppendMethod(nil, m) }, DecodeMethod)
		}
	})
}

func FuzzDecodeTable(f *testing.F) {
	b, _ := AppendTable(nil, everyType)
	f.Add(b[4:]) // entries, so that the fuzzer need not keep the length prefix right
	f.Add([]byte("\x01kL\x00\x00\x00\x00\x00\x00\x00\x01"))
	f.Add([]byte("\x01kA\x00\x00\x00\x02t\x02"))
	f.Fuzz(func(t *testing.T, p []byte) {
		tb, err := decodeEntries(p)
		mustBeError(t, err)
		if err == nil {
			enc := func(tb Table) ([]byte, error) {
				b, err := AppendTable(nil, tb)
				if err != nil {
					return nil, err
				}
				return b[4:], nil
			}
			stable(t, tb, enc, decodeEntries)
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	b, _ := AppendHeader(nil, &Header{ClassID: ClassBasic, BodySize: 9, Properties: Properties{
		ContentType: "t", Headers: everyType, DeliveryMode: 2, Priority: 1, CorrelationID: "c", ReplyTo: "r",
		Expiration: "1", MessageID: "m", Type: "t", UserID: "u", AppID: "a", Reserved: "x"}})
	f.Add(b)
	f.Add([]byte("\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x01\x00\x00"))
	f.Fuzz(func(t *testing.T, p []byte) {
		var h Header
		err := DecodeHeader(p, &h)
		mustBeError(t, err)
		if err == nil {
			stable(t, h, func(h Header) ([]byte, error) { return AppendHeader(nil, &h) },
				func(p []byte) (Header, error) {
					var h Header
					err := DecodeHeader(p, &h)
					return h, err
				})
		}
	})
}

// FuzzReadFrame feeds a stream of frames through the reader and decodes what it yields.
func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteMethod(1, &BasicPublish{Exchange: "ex", RoutingKey: "rk"})
	w.WriteContent(1, &Properties{DeliveryMode: 2, Headers: Table{"a": int32(1)}}, bytes.Repeat([]byte("b"), 5000))
	w.WriteHeartbeat()
	w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte(frame(FrameHeartbeat, 1, "", FrameEnd)))
	f.Add([]byte(frame(FrameMethod, 0, "\x00\x0a\x00\x0b", 0)))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		as := map[uint16]*Assembler{}
		for {
			fr, err := r.ReadFrame()
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return
			}
			mustBeError(t, err)
			if err != nil {
				return
			}
			if len(fr.Payload) > FrameMinSize {
				t.Fatalf("payload of %d bytes passed frame_max", len(fr.Payload))
			}
			switch fr.Type {
			case FrameMethod:
				_, err = DecodeMethod(fr.Payload)
			case FrameHeader:
				var h Header
				err = DecodeHeader(fr.Payload, &h)
			}
			mustBeError(t, err)
			if fr.Type != FrameHeartbeat {
				a := as[fr.Channel]
				if a == nil {
					a = &Assembler{MaxBody: 1 << 16}
					as[fr.Channel] = a
				}
				c, err := a.Add(fr)
				mustBeError(t, err)
				if c != nil && uint64(len(c.Body)) != c.Header.BodySize {
					t.Fatalf("body of %d bytes, header says %d", len(c.Body), c.Header.BodySize)
				}
			}
		}
	})
}
