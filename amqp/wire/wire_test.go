package wire

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// allMethods lists a zero value of every method the spec defines.
func allMethods() []Method {
	var ms []Method
	for c := range uint16(256) {
		for id := range uint16(256) {
			if m := newMethod(c, id); m != nil {
				ms = append(ms, m)
			}
		}
	}
	return ms
}

// fill sets every field of the method struct to a random value.
func fill(rng *rand.Rand, v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(rng.IntN(2) == 1)
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(rng.Uint64() >> (64 - f.Type().Bits()))
		case reflect.String:
			b := make([]byte, rng.IntN(40))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
			f.SetString(string(b))
		case reflect.Map:
			f.Set(reflect.ValueOf(Table{"k": int32(rng.Int32()), "s": "v"}))
		default:
			panic("unhandled field kind " + f.Kind().String())
		}
	}
}

func TestEveryMethodRoundTrip(t *testing.T) {
	ms := allMethods()
	if len(ms) != 64 {
		t.Errorf("spec has %d methods, want 64", len(ms))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range ms {
		for range 20 {
			fill(rng, reflect.ValueOf(m).Elem())
			b, err := AppendMethod(nil, m)
			if err != nil {
				t.Fatalf("%s: %v", m.Name(), err)
			}
			got, err := DecodeMethod(b)
			if err != nil {
				t.Fatalf("%s: %v", m.Name(), err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("%s: got %+v, want %+v", m.Name(), got, m)
			}
			// Every strict prefix is malformed: an *Error, never a panic.
			for n := range len(b) {
				_, err := DecodeMethod(b[:n])
				var we *Error
				if !errors.As(err, &we) || (we.Code != SyntaxError && we.Code != FrameError) || !we.ConnectionLevel {
					t.Fatalf("%s cut to %d bytes: %v", m.Name(), n, err)
				}
			}
		}
	}
}

// Golden encodings, written out by hand from the spec.
func TestMethodGolden(t *testing.T) {
	for _, tc := range []struct {
		m    Method
		want string
	}{
		{&BasicPublish{Exchange: "ex", RoutingKey: "rk", Mandatory: true},
			"\x00\x3c\x00\x28" + "\x00\x00" + "\x02ex" + "\x02rk" + "\x01"},
		{&BasicPublish{Immediate: true}, "\x00\x3c\x00\x28\x00\x00\x00\x00\x02"},
		{&QueueDeclare{Queue: "q", Durable: true, NoWait: true, Arguments: Table{}},
			"\x00\x32\x00\x0a\x00\x00\x01q\x12\x00\x00\x00\x00"},
		{&BasicNack{DeliveryTag: 7, Multiple: true, Requeue: true},
			"\x00\x3c\x00\x78\x00\x00\x00\x00\x00\x00\x00\x07\x03"},
		{&ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60},
			"\x00\x0a\x00\x1e\x07\xff\x00\x02\x00\x00\x00\x3c"},
		{&ExchangeUnbindOk{}, "\x00\x28\x00\x33"},
		{&ConfirmSelect{NoWait: true}, "\x00\x55\x00\x0a\x01"},
		{&ChannelClose{ReplyCode: 404, ReplyText: "NOT_FOUND", ClassID: 50, MethodID: 10},
			"\x00\x14\x00\x28\x01\x94\x09NOT_FOUND\x00\x32\x00\x0a"},
	} {
		b, err := AppendMethod(nil, tc.m)
		if err != nil || string(b) != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.m.Name(), b, err, tc.want)
		}
		got, err := DecodeMethod([]byte(tc.want))
		if err != nil || !reflect.DeepEqual(got, tc.m) {
			t.Errorf("%s: decoded %+v, %v", tc.m.Name(), got, err)
		}
	}
}

func TestDecodeMethodErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code uint16
	}{
		{"", FrameError},
		{"\x00\x3c\x00", FrameError},
		{"\x00\x3c\x00\x29", NotImplemented},
		{"\x00\x3d\x00\x28", NotImplemented},
		{"\x00\x3c\x00\x28\x00\x00\x00\x00\x02\x00", SyntaxError}, // trailing byte
		{"\x00\x3c\x00\x28\x00\x00\x05ab", SyntaxError},           // shortstr past the end
		{"\x00\x32\x00\x0a\x00\x00\x01q\x12\xff\xff\xff\xff", SyntaxError},
		{"\x00\x32\x00\x0a\x00\x00\x01q\x12\x00\x00\x00\x03\x01kZ", SyntaxError}, // unknown field type
	} {
		_, err := DecodeMethod([]byte(tc.in))
		var we *Error
		if !errors.As(err, &we) || we.Code != tc.code || !we.ConnectionLevel {
			t.Errorf("%q: got %v, want code %d", tc.in, err, tc.code)
		}
	}
	_, err := DecodeMethod([]byte("\x00\x3c\x00\x28\x00\x00\x05ab"))
	var we *Error
	if errors.As(err, &we) && (we.ClassID != 60 || we.MethodID != 40) {
		t.Errorf("error names method %d.%d, want 60.40", we.ClassID, we.MethodID)
	}
}

func TestEncodeErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, m := range []Method{
		&BasicPublish{Exchange: long},
		&QueueDeclare{Arguments: Table{long: true}},
		&QueueDeclare{Arguments: Table{"k": struct{}{}}},
		&QueueDeclare{Arguments: Table{"k": []any{uint64(1)}}},
	} {
		if b, err := AppendMethod([]byte("keep"), m); err == nil || string(b) != "keep" {
			t.Errorf("%+v: got %q, %v; want an error and the input slice", m, b, err)
		}
	}
}

func TestErrorScope(t *testing.T) {
	soft := []uint16{ContentTooLarge, NoRoute, NoConsumers, AccessRefused, NotFound, ResourceLocked, PreconditionFailed}
	hard := []uint16{ConnectionForced, InvalidPath, FrameError, SyntaxError, CommandInvalid, ChannelError,
		UnexpectedFrame, ResourceError, NotAllowed, NotImplemented, InternalError}
	for _, c := range soft {
		if e := NewError(c, "x"); e.ConnectionLevel {
			t.Errorf("%d should close the channel", c)
		}
	}
	for _, c := range hard {
		if e := NewError(c, "x"); !e.ConnectionLevel {
			t.Errorf("%d should close the connection", c)
		}
	}
	e := NewError(NotFound, "no queue '%s' in vhost '%s'", "q", "/").WithMethod(&QueueDeclare{})
	if e.Text != "NOT_FOUND - no queue 'q' in vhost '/'" || e.ClassID != 50 || e.MethodID != 10 {
		t.Errorf("got %+v", e)
	}
	if e.Error() == "" || len(NewError(InternalError, "%s", strings.Repeat("y", 300)).ReplyText()) != 255 {
		t.Error("reply text not cut to a shortstr")
	}
}

// everyType holds a value of every RabbitMQ type letter.
var everyType = Table{
	"t": true, "f0": false, "b": int8(-5), "B": uint8(250), "s": int16(-300), "u": uint16(65000),
	"I": int32(-70000), "i": uint32(4000000000), "l": int64(-1 << 40), "f": float32(1.5),
	"d": math.Pi, "D": Decimal{Scale: 2, Value: -12345}, "S": "long string\x00",
	"x": []byte{0, 1, 2, 0xff}, "T": time.Unix(1700000000, 0),
	"F": Table{"nested": Table{"deep": "yes"}, "empty": Table{}},
	"V": nil, "A": []any{int32(1), "two", []any{}, Table{"k": nil}, []byte{}},
}

func TestTableRoundTripEveryType(t *testing.T) {
	b, err := AppendTable(nil, everyType)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, everyType) {
		t.Fatalf("got %#v", got)
	}
	// int encodes as 'l'; 'L' decodes as int64, as RabbitMQ reads it.
	b, _ = AppendTable(nil, Table{"n": 7})
	if got, _ := DecodeTable(b); got["n"] != int64(7) {
		t.Errorf("int: got %#v", got["n"])
	}
	if got, err := decodeEntries([]byte("\x01nL\x00\x00\x00\x00\x00\x00\x00\x09")); err != nil || got["n"] != int64(9) {
		t.Errorf("L: got %#v, %v", got, err)
	}
}

// Golden bytes of each letter: RabbitMQ's meaning, not the 0-9-1 spec's.
func TestTableLetters(t *testing.T) {
	for _, tc := range []struct {
		enc string
		v   any
	}{
		{"t\x01", true}, {"b\xff", int8(-1)}, {"B\xff", uint8(255)},
		{"s\xff\xfe", int16(-2)}, {"u\xff\xfe", uint16(65534)},
		{"I\xff\xff\xff\xfd", int32(-3)}, {"i\xff\xff\xff\xfd", uint32(math.MaxUint32 - 2)},
		{"l\xff\xff\xff\xff\xff\xff\xff\xfc", int64(-4)},
		{"f\x3f\xc0\x00\x00", float32(1.5)}, {"d\x3f\xf8\x00\x00\x00\x00\x00\x00", 1.5},
		{"D\x02\xff\xff\xff\xff", Decimal{2, -1}}, {"S\x00\x00\x00\x02hi", "hi"},
		{"x\x00\x00\x00\x01\x00", []byte{0}}, {"T\x00\x00\x00\x00\x00\x00\x00\x3c", time.Unix(60, 0)},
		{"F\x00\x00\x00\x00", Table{}}, {"V", nil}, {"A\x00\x00\x00\x02t\x00", []any{false}},
	} {
		b, err := AppendTable(nil, Table{"k": tc.v})
		want := "\x01k" + tc.enc
		if err != nil || string(b[4:]) != want {
			t.Errorf("%T %v: got %q, %v; want %q", tc.v, tc.v, b[4:], err, want)
		}
		got, err := decodeEntries([]byte(want))
		if err != nil || !reflect.DeepEqual(got["k"], tc.v) {
			t.Errorf("%q: decoded %#v, %v", want, got["k"], err)
		}
	}
}

func TestTableDepthLimit(t *testing.T) {
	v := Table{}
	for range maxTableDepth + 1 {
		v = Table{"n": v}
	}
	b, err := AppendTable(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	var we *Error
	if _, err := DecodeTable(b); !errors.As(err, &we) || we.Code != SyntaxError {
		t.Fatalf("got %v, want syntax-error", err)
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	full := Header{ClassID: ClassBasic, BodySize: 1 << 40, Properties: Properties{
		ContentType: "text/plain", ContentEncoding: "gzip", Headers: everyType,
		DeliveryMode: 2, Priority: 9, CorrelationID: "c", ReplyTo: "amq.rabbitmq.reply-to",
		Expiration: "60000", MessageID: "m", Timestamp: time.Unix(1700000000, 0), Type: "t",
		UserID: "guest", AppID: "app", Reserved: "r",
	}}
	for _, h := range []Header{
		full,
		{ClassID: ClassBasic},
		{ClassID: ClassBasic, BodySize: 3, Properties: Properties{Flags: FlagPriority | FlagContentType}},
		{ClassID: ClassBasic, Properties: Properties{Flags: FlagHeaders, Headers: Table{}}},
	} {
		b, err := AppendHeader(nil, &h)
		if err != nil {
			t.Fatal(err)
		}
		var got Header
		if err := DecodeHeader(b, &got); err != nil {
			t.Fatal(err)
		}
		h.Flags = h.present()
		if !reflect.DeepEqual(got, h) {
			t.Fatalf("got %+v\nwant %+v", got, h)
		}
		for n := range len(b) {
			var we *Error
			if err := DecodeHeader(b[:n], &got); !errors.As(err, &we) {
				t.Fatalf("cut to %d: %v", n, err)
			}
		}
	}
	// delivery-mode 2 and priority 0 present: flags 0x1800.
	b, _ := AppendHeader(nil, &Header{ClassID: ClassBasic, BodySize: 5,
		Properties: Properties{Flags: FlagPriority, DeliveryMode: 2}})
	if want := "\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x18\x00\x02\x00"; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code uint16
	}{
		{"\x00\x3c\x00\x00\x00\x00", FrameError},
		{"\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", UnexpectedFrame},
		{"\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02", SyntaxError},         // unknown property
		{"\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x04", SyntaxError}, // continuation word names a property
		{"\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00", SyntaxError},         // content-type missing
	} {
		var h Header
		var we *Error
		if err := DecodeHeader([]byte(tc.in), &h); !errors.As(err, &we) || we.Code != tc.code {
			t.Errorf("%q: got %v, want %d", tc.in, err, tc.code)
		}
	}
	// An empty continuation word is allowed.
	var h Header
	if err := DecodeHeader([]byte("\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x01\x00\x00"), &h); err != nil || h.BodySize != 7 {
		t.Errorf("got %+v, %v", h, err)
	}
}

func frame(typ uint8, ch uint16, payload string, end byte) string {
	n := len(payload)
	return string([]byte{typ, byte(ch >> 8), byte(ch), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) + payload + string([]byte{end})
}

func TestReadFrame(t *testing.T) {
	in := ProtocolHeader + frame(FrameMethod, 1, "\x00\x14\x00\x0a\x00", FrameEnd) +
		frame(FrameHeartbeat, 0, "", FrameEnd) + frame(FrameBody, 3, "abc", FrameEnd)
	r := NewReader(strings.NewReader(in))
	if err := r.ReadProtocolHeader(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []Frame{{FrameMethod, 1, []byte("\x00\x14\x00\x0a\x00")}, {FrameHeartbeat, 0, []byte{}}, {FrameBody, 3, []byte("abc")}} {
		f, err := r.ReadFrame()
		if err != nil || f.Type != want.Type || f.Channel != want.Channel || !bytes.Equal(f.Payload, want.Payload) {
			t.Fatalf("got %+v, %v; want %+v", f, err, want)
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code uint16
	}{
		{frame(FrameBody, 1, "abc", 0xCD), FrameError},
		{frame(4, 1, "", FrameEnd), FrameError},
		{frame(FrameBody, 1, strings.Repeat("x", FrameMinSize+1), FrameEnd), FrameError},
		{frame(FrameHeartbeat, 1, "", FrameEnd), UnexpectedFrame},
	} {
		var we *Error
		if _, err := NewReader(strings.NewReader(tc.in)).ReadFrame(); !errors.As(err, &we) || we.Code != tc.code || !we.ConnectionLevel {
			t.Errorf("%.20q: got %v, want %d", tc.in, err, tc.code)
		}
	}
	// A full-size payload is accepted (RabbitMQ's 8-byte leniency).
	if _, err := NewReader(strings.NewReader(frame(FrameBody, 1, strings.Repeat("x", FrameMinSize), FrameEnd))).ReadFrame(); err != nil {
		t.Error(err)
	}
	// The size is checked before allocating: a 4 GiB claim allocates nothing.
	r := NewReader(strings.NewReader("\x03\x00\x01\xff\xff\xff\xff"))
	r.SetFrameMax(1 << 31)
	if _, err := r.ReadFrame(); err == nil {
		t.Error("accepted a 4 GiB frame")
	}
	if cap(r.buf) != 0 {
		t.Errorf("allocated %d bytes for a rejected frame", cap(r.buf))
	}
	for _, in := range []string{"\x01\x00", frame(FrameBody, 1, "abc", FrameEnd)[:9]} {
		if _, err := NewReader(strings.NewReader(in)).ReadFrame(); err != io.ErrUnexpectedEOF {
			t.Errorf("%q: got %v, want io.ErrUnexpectedEOF", in, err)
		}
	}
}

func TestProtocolHeader(t *testing.T) {
	for in, ok := range map[string]bool{
		ProtocolHeader: true, "AMQP\x01\x01\x00\x09": true, "AMQP\x00\x00\x09\x00": false,
		"AMQP\x00\x01\x00\x00": false, "GET / HT": false,
	} {
		err := NewReader(strings.NewReader(in)).ReadProtocolHeader()
		if ok != (err == nil) || (!ok && !errors.Is(err, ErrProtocolHeader)) {
			t.Errorf("%q: got %v", in, err)
		}
	}
	if err := NewReader(strings.NewReader("AMQ")).ReadProtocolHeader(); err != io.ErrUnexpectedEOF {
		t.Errorf("short header: got %v", err)
	}
}

func TestWriteContentSplitsBody(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.SetFrameMax(FrameMinSize)
	body := bytes.Repeat([]byte("0123456789"), 1000) // 10000 bytes: 3 frames of ≤ 4088
	if err := w.WriteMethod(5, &BasicPublish{RoutingKey: "q"}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteContent(5, &Properties{DeliveryMode: 2}, body); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteHeartbeat(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf)
	f, _ := r.ReadFrame()
	if m, err := DecodeMethod(f.Payload); err != nil || m.(*BasicPublish).RoutingKey != "q" || f.Channel != 5 {
		t.Fatalf("method %+v %v", m, err)
	}
	f, _ = r.ReadFrame()
	var h Header
	if err := DecodeHeader(f.Payload, &h); err != nil || h.BodySize != 10000 || h.DeliveryMode != 2 {
		t.Fatalf("header %+v %v", h, err)
	}
	var got []byte
	var sizes []int
	for len(got) < len(body) {
		f, err := r.ReadFrame()
		if err != nil || f.Type != FrameBody {
			t.Fatalf("body frame %+v %v", f, err)
		}
		sizes = append(sizes, len(f.Payload))
		got = append(got, f.Payload...)
	}
	if !bytes.Equal(got, body) || !reflect.DeepEqual(sizes, []int{4088, 4088, 1824}) {
		t.Fatalf("body sizes %v", sizes)
	}
	if f, err := r.ReadFrame(); err != nil || f.Type != FrameHeartbeat {
		t.Fatalf("heartbeat %+v %v", f, err)
	}
	// An empty body has no body frame.
	buf.Reset()
	w.WriteContent(1, nil, nil)
	w.Flush()
	if buf.Len() != FrameOverhead+14 {
		t.Errorf("empty content: %d bytes", buf.Len())
	}
	if err := w.WriteFrame(FrameMethod, 0, make([]byte, FrameMinSize)); err == nil {
		t.Error("wrote a frame over frame_max")
	}
}

func TestToServer(t *testing.T) {
	for m, want := range map[Method]bool{
		&BasicPublish{}: true, &BasicAck{}: true, &BasicNack{}: true, &ConnectionStartOk{}: true,
		&ChannelFlowOk{}: true, &ConnectionClose{}: true, &BasicDeliver{}: false, &ConnectionStart{}: false,
		&QueueDeclareOk{}: false, &ConfirmSelect{}: true,
	} {
		if m.ToServer() != want {
			t.Errorf("%s: ToServer %t", m.Name(), !want)
		}
	}
}

func TestDecodeTableFraming(t *testing.T) {
	b, _ := AppendTable(nil, Table{"a": "b"})
	for _, in := range [][]byte{append(b, 0), b[:len(b)-1], {0, 0, 0}} {
		var we *Error
		if _, err := DecodeTable(in); !errors.As(err, &we) || we.Code != SyntaxError {
			t.Errorf("%q: got %v", in, err)
		}
	}
}
