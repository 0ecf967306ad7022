package remoting

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// frame builds a frame from its parts, as a peer would send it.
func frame(serialize SerializeType, header, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(4+len(header)+len(body)))
	b = binary.BigEndian.AppendUint32(b, uint32(serialize)<<24|uint32(len(header)))
	return append(append(b, header...), body...)
}

func mustRead(t *testing.T, b []byte) *Command {
	t.Helper()
	c, err := NewReader(bytes.NewReader(b)).ReadCommand()
	if err != nil {
		t.Fatalf("ReadCommand: %v", err)
	}
	return c
}

func equalCommands(a, b *Command) bool {
	return a.Code == b.Code && a.Language == b.Language && a.Version == b.Version &&
		a.Opaque == b.Opaque && a.Flag == b.Flag && a.Remark == b.Remark &&
		maps.Equal(a.ExtFields, b.ExtFields) && bytes.Equal(a.Body, b.Body) && a.Serialize == b.Serialize
}

// A Java 5.1.4 client's route lookup, as captured from DefaultMQProducer (fastjson writes
// RemotingCommand's getters in name order and leaves the null remark out), decodes, and our
// encoding of it is the same bytes.
func TestJavaJSONHeader(t *testing.T) {
	const java = `{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":441}`
	c := mustRead(t, frame(JSON, []byte(java), nil))
	want := &Command{Code: ReqGetRouteInfoByTopic, Language: Java, Version: 441, Opaque: 0,
		ExtFields: map[string]string{"topic": "TopicTest"}, Serialize: JSON}
	if !equalCommands(c, want) {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
	if got := string(appendJSONHeader(nil, c)); got != java {
		t.Fatalf("encoded\n%s\nwant\n%s", got, java)
	}
}

// client-go's jsoniter writes the struct's fields in declaration order, an empty remark
// included, and a GO language.
func TestGoClientJSONHeader(t *testing.T) {
	const goClient = `{"code":10,"language":"GO","version":317,"opaque":3,"flag":2,"remark":"","extFields":{"producerGroup":"g","topic":"T","queueId":"1","sysFlag":"0","bornTimestamp":"1700000000000","flag":"0","properties":"KEYS\u0001k\u0002","reconsumeTimes":"0","unitMode":"false","batch":"false"}}`
	c := mustRead(t, frame(JSON, []byte(goClient), []byte("hello")))
	if c.Code != ReqSendMessage || c.Language != Go || c.Version != 317 || c.Opaque != 3 || !c.IsOneway() || c.IsResponse() {
		t.Fatalf("decoded %+v", c)
	}
	if c.ExtFields["properties"] != "KEYS\x01k\x02" || c.ExtFields["queueId"] != "1" || len(c.ExtFields) != 10 {
		t.Fatalf("ext fields %q", c.ExtFields)
	}
	if string(c.Body) != "hello" {
		t.Fatalf("body %q", c.Body)
	}
}

// The binary layout, byte by byte, as RocketMQSerializable writes it.
func TestBinaryHeaderLayout(t *testing.T) {
	c := &Command{Code: ResTopicNotExist, Language: Java, Version: 435, Opaque: -2, Flag: FlagResponse,
		Remark: "no topic", ExtFields: map[string]string{"b": "2", "a": ""}, Serialize: RocketMQ}
	h, err := appendBinaryHeader(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 17, 0, 0x01, 0xb3, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 1,
		0, 0, 0, 8, 'n', 'o', ' ', 't', 'o', 'p', 'i', 'c',
		0, 0, 0, 15, 0, 1, 'a', 0, 0, 0, 0, 0, 1, 'b', 0, 0, 0, 1, '2'}
	if !bytes.Equal(h, want) {
		t.Fatalf("header\n% x\nwant\n% x", h, want)
	}
	var d Command
	d.Serialize = RocketMQ
	if err := decodeBinaryHeader(h, &d); err != nil || !equalCommands(&d, c) {
		t.Fatalf("decoded %+v (%v), want %+v", d, err, c)
	}
}

func randomCommand(rng *rand.Rand, s SerializeType) *Command {
	str := func() string {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if s == JSON && b[i] >= 0x80 {
				b[i] = 'x' // JSON carries UTF-8 only; invalid bytes are replaced
			}
		}
		return string(b)
	}
	c := &Command{Code: int32(int16(rng.Uint32())), Language: Language(rng.IntN(13)), Version: int32(int16(rng.Uint32())),
		Opaque: int32(rng.Uint32()), Flag: int32(rng.Uint32()), Remark: str(), Serialize: s}
	for range rng.IntN(4) {
		if c.ExtFields == nil {
			c.ExtFields = map[string]string{}
		}
		c.ExtFields[str()] = str()
	}
	if n := rng.IntN(3) * 100; n > 0 {
		c.Body = bytes.Repeat([]byte{byte(n)}, n)
	}
	return c
}

// Commands survive both serializations, through AppendFrame/DecodeFrame and Writer/Reader.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range []SerializeType{JSON, RocketMQ} {
		var stream bytes.Buffer
		w := NewWriter(&stream)
		var sent []*Command
		for range 200 {
			c := randomCommand(rng, s)
			b, err := AppendFrame(nil, c)
			if err != nil {
				t.Fatal(err)
			}
			d, err := DecodeFrame(b[4:])
			if err != nil || !equalCommands(c, d) {
				t.Fatalf("%v: DecodeFrame: %+v (%v), want %+v", s, d, err, c)
			}
			if err := w.WriteCommand(c); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, c)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r := NewReader(&stream)
		for _, c := range sent {
			d, err := r.ReadCommand()
			if err != nil || !equalCommands(c, d) {
				t.Fatalf("%v: ReadCommand: %+v (%v), want %+v", s, d, err, c)
			}
		}
		if _, err := r.ReadCommand(); err != io.EOF {
			t.Fatalf("after the last frame: %v, want io.EOF", err)
		}
	}
}

// A response keeps its request's opaque and serialization, so that the client finds and
// reads it.
func TestNewResponse(t *testing.T) {
	req := &Command{Code: ReqGetRouteInfoByTopic, Language: Go, Version: 317, Opaque: 42, Flag: 0,
		ExtFields: map[string]string{"topic": "t"}, Serialize: RocketMQ}
	res := req.NewResponse(ResTopicNotExist, "No topic route info in name server for the topic: t")
	if !res.IsResponse() || res.IsOneway() || res.Opaque != 42 || res.Serialize != RocketMQ || res.Code != 17 || res.ExtFields != nil {
		t.Fatalf("response %+v", res)
	}
	if s := res.String(); s != `response TOPIC_NOT_EXIST opaque=42 remark="No topic route info in name server for the topic: t"` {
		t.Fatalf("String: %s", s)
	}
	if s := req.String(); s != "request GET_ROUTEINFO_BY_TOPIC opaque=42" {
		t.Fatalf("String: %s", s)
	}
}

// Strings with quotes, control characters, non-ASCII, invalid UTF-8 and escapes of every
// kind decode as encoding/json does.
func TestJSONStrings(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`"q\"b\\s\/n\n\r\t\b\f"`, "q\"b\\s/n\n\r\t\b\f"},
		{`"\u00e9\u4e2d\ud83d\ude00"`, "é中😀"},
		{`"\ud83d"`, "\ufffd"},
		{`"\ud83dx"`, "\ufffdx"},
		{`"\ud83d\u0041"`, "\ufffdA"},
		{`"\ude00\ud83d"`, "\ufffd\ufffd"},
		{"\"a\xffb\"", "a\ufffdb"},
		{"\"é😀\"", "é😀"},
	} {
		var c Command
		if err := decodeJSONHeader([]byte(`{"remark":`+tc.in+`}`), &c); err != nil || c.Remark != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.in, c.Remark, err, tc.want)
		}
	}
	for _, s := range []string{"\x00\x1f\"\\\n", "a\xffb", "é😀\u2028"} {
		var c Command
		h := appendJSONHeader(nil, &Command{Remark: s})
		want := strings.ToValidUTF8(s, "\ufffd")
		if err := decodeJSONHeader(h, &c); err != nil || c.Remark != want {
			t.Errorf("%q encoded as %s decodes to %q (%v)", s, h, c.Remark, err)
		}
	}
}

// What fastjson would also read: unknown properties of any shape, nulls, numbers and
// booleans among the ext fields, white space, a language by ordinal.
func TestJSONLenient(t *testing.T) {
	h := ` { "serializeTypeCurrentRPC" : "JSON", "x": [1, {"y": [true, null, -1.5e3]}], "code" : 11 ,
		"language": 9, "remark": null, "extFields": {"n": 12, "b": true, "z": null, "s": "v"}, "flag": null } `
	var c Command
	if err := decodeJSONHeader([]byte(h), &c); err != nil {
		t.Fatal(err)
	}
	want := Command{Code: ReqPullMessage, Language: Go, ExtFields: map[string]string{"n": "12", "b": "true", "s": "v"}}
	if !equalCommands(&c, &want) {
		t.Fatalf("%+v, want %+v", c, want)
	}
	var newer Command
	if err := decodeJSONHeader([]byte(`{"language":"NODEJS"}`), &newer); err != nil || newer.Language != Other {
		t.Fatalf("an unknown language name: %v (%v), want OTHER", newer.Language, err)
	}
}

func TestMalformed(t *testing.T) {
	bin := func(c *Command) []byte { b, _ := appendBinaryHeader(nil, c); return b }
	good := bin(&Command{Remark: "r", ExtFields: map[string]string{"k": "v"}})
	for name, f := range map[string][]byte{
		"no header-length word":  {0, 0, 0, 2, 0, 0, 0, 0},
		"unknown serialization":  frame(2, []byte("{}"), nil),
		"header past the frame":  binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), 100),
		"JSON not an object":     frame(JSON, []byte(`[]`), nil),
		"JSON trailing data":     frame(JSON, []byte(`{}{}`), nil),
		"JSON code a string":     frame(JSON, []byte(`{"code":"10"}`), nil),
		"JSON code a float":      frame(JSON, []byte(`{"code":1.0}`), nil),
		"JSON code out of range": frame(JSON, []byte(`{"opaque":2147483648}`), nil),
		"JSON ext nested":        frame(JSON, []byte(`{"extFields":{"a":{}}}`), nil),
		"JSON too deep":          frame(JSON, []byte(`{"x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`), nil),
		"JSON raw newline":       frame(JSON, []byte("{\"remark\":\"a\nb\"}"), nil),
		"JSON bad escape":        frame(JSON, []byte(`{"remark":"\x"}`), nil),
		"binary short":           frame(RocketMQ, good[:20], nil),
		"binary remark too long": frame(RocketMQ, append(append(good[:13:13], 0x7f, 0, 0, 0), good[17:]...), nil),
		"binary negative key":    frame(RocketMQ, append(good[:len(good)-12:len(good)-12], 0xff, 0xff, 'k', 0, 0, 0, 1, 'v'), nil),
		"binary trailing bytes":  frame(RocketMQ, append(good, 0), nil),
	} {
		_, err := NewReader(bytes.NewReader(f)).ReadCommand()
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
		end := min(4+int(binary.BigEndian.Uint32(f)), len(f))
		if _, err := DecodeFrame(f[4:end]); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeFrame: %v, want ErrMalformed", name, err)
		}
	}
	// Cut anywhere inside a frame: io.ErrUnexpectedEOF.
	f := frame(JSON, []byte(`{"code":1}`), []byte("body"))
	for n := 1; n < len(f); n++ {
		if _, err := NewReader(bytes.NewReader(f[:n])).ReadCommand(); err != io.ErrUnexpectedEOF {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
}

// A frame over the limit is refused from its length alone: nothing of it is read or
// allocated, whatever it claims.
func TestFrameTooLarge(t *testing.T) {
	huge := []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 2, '{', '}'}
	r := NewReader(bytes.NewReader(huge))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := r.ReadCommand(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("%v, want ErrFrameTooLarge", err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("%d bytes allocated refusing a 2 GiB frame", n)
	}

	at := frame(JSON, []byte(`{}`), make([]byte, 100))
	r = NewReader(bytes.NewReader(at))
	r.SetMaxFrameSize(len(at))
	if _, err := r.ReadCommand(); err != nil {
		t.Fatalf("a frame of exactly the limit: %v", err)
	}
	r = NewReader(bytes.NewReader(at))
	r.SetMaxFrameSize(len(at) - 1)
	if _, err := r.ReadCommand(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("one byte over the limit: %v", err)
	}

	var out bytes.Buffer
	w := NewWriter(&out)
	w.SetMaxFrameSize(1000)
	big := &Command{Body: make([]byte, 1000)}
	if err := w.WriteCommand(big); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("writing over the limit: %v", err)
	}
	w.Flush()
	if out.Len() != 0 {
		t.Fatalf("%d bytes written of a refused frame", out.Len())
	}
}

// The binary header has shorts where Java has ints: what does not fit is an error, not a
// silently different code.
func TestBinaryRange(t *testing.T) {
	for _, c := range []*Command{
		{Code: ReqPopMessage, Serialize: RocketMQ},
		{Version: 1 << 15, Serialize: RocketMQ},
		{ExtFields: map[string]string{strings.Repeat("k", 1<<15): ""}, Serialize: RocketMQ},
	} {
		if _, err := AppendFrame(nil, c); err == nil {
			t.Errorf("%+v encoded", c)
		}
	}
	b, err := AppendFrame(nil, &Command{Code: ReqPopMessage, Serialize: JSON})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := DecodeFrame(b[4:]); err != nil || c.Code != ReqPopMessage {
		t.Fatalf("POP_MESSAGE in JSON: %+v %v", c, err)
	}
}

func TestCodeNames(t *testing.T) {
	if RequestCodeName(ReqHeartBeat) != "HEART_BEAT" || ResponseCodeName(ResPullNotFound) != "PULL_NOT_FOUND" || RequestCodeName(-5) != "" {
		t.Fatal("code names")
	}
	if !reflect.DeepEqual(Language(9).String(), "GO") || Language(200).String() != "200" {
		t.Fatal("language names")
	}
}
