package wire

import (
	"bytes"
	"io"
	"testing"
	"time"
)

var (
	benchProps = Properties{ContentType: "application/json", DeliveryMode: 2, MessageID: "0123456789abcdef",
		Timestamp: time.Unix(1700000000, 0), Headers: Table{"x-trace": "abc", "n": int32(7)}}
	benchBody = bytes.Repeat([]byte("x"), 1024)
)

func BenchmarkEncodePublish(b *testing.B) {
	w := NewWriter(io.Discard)
	w.SetFrameMax(131072)
	m := &BasicPublish{Exchange: "amq.topic", RoutingKey: "orders.eu.created"}
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteMethod(1, m); err != nil {
			b.Fatal(err)
		}
		if err := w.WriteContent(1, &benchProps, benchBody); err != nil {
			b.Fatal(err)
		}
	}
	w.Flush()
}

// loop replays one command forever.
type loop struct {
	b   []byte
	off int
}

func (l *loop) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

func BenchmarkDecodePublish(b *testing.B) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.SetFrameMax(131072)
	w.WriteMethod(1, &BasicPublish{Exchange: "amq.topic", RoutingKey: "orders.eu.created"})
	w.WriteContent(1, &benchProps, benchBody)
	w.Flush()
	r := NewReader(&loop{b: buf.Bytes()})
	r.SetFrameMax(131072)
	var h Header
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := r.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeMethod(f.Payload); err != nil {
			b.Fatal(err)
		}
		if f, err = r.ReadFrame(); err != nil {
			b.Fatal(err)
		}
		if err := DecodeHeader(f.Payload, &h); err != nil {
			b.Fatal(err)
		}
		if f, err = r.ReadFrame(); err != nil || len(f.Payload) != len(benchBody) {
			b.Fatal(err)
		}
	}
}
