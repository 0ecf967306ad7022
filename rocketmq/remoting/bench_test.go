package remoting

import (
	"bytes"
	"io"
	"testing"
)

// benchSend is a SEND_MESSAGE_V2 request as client-go sends it (its header's short names,
// 1 KiB body); benchSendResult the broker's answer.
var (
	benchSend = &Command{Code: ReqSendMessageV2, Language: Go, Version: 317, Opaque: 12345,
		ExtFields: map[string]string{"a": "ProducerGroupName", "b": "TopicTest", "c": "TBW102", "d": "4",
			"e": "1", "f": "0", "g": "1700000000000", "h": "0", "i": "KEYS\x01order-42\x02TAGS\x01TagA\x02",
			"j": "0", "k": "false", "m": "false"},
		Body: bytes.Repeat([]byte("x"), 1024)}
	benchSendResult = &Command{Code: ResSuccess, Language: Java, Version: 435, Opaque: 12345, Flag: FlagResponse,
		ExtFields: map[string]string{"msgId": "7F00000100002A9F0000000000000C48", "queueId": "1",
			"queueOffset": "42", "transactionId": "7F000001652818B4AAC2A1B2C3D40000"}}
)

// loop replays one frame forever.
type loop struct {
	b   []byte
	off int
}

func (l *loop) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

func benchmarkRead(b *testing.B, c *Command, s SerializeType) {
	c2 := *c
	c2.Serialize = s
	f, err := AppendFrame(nil, &c2)
	if err != nil {
		b.Fatal(err)
	}
	r := NewReader(&loop{b: f})
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkWrite(b *testing.B, c *Command, s SerializeType) {
	c2 := *c
	c2.Serialize = s
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteCommand(&c2); err != nil {
			b.Fatal(err)
		}
	}
	w.Flush()
}

func BenchmarkReadSendJSON(b *testing.B)        { benchmarkRead(b, benchSend, JSON) }
func BenchmarkReadSendRocketMQ(b *testing.B)    { benchmarkRead(b, benchSend, RocketMQ) }
func BenchmarkWriteResultJSON(b *testing.B)     { benchmarkWrite(b, benchSendResult, JSON) }
func BenchmarkWriteResultRocketMQ(b *testing.B) { benchmarkWrite(b, benchSendResult, RocketMQ) }
func BenchmarkWriteSendJSON(b *testing.B)       { benchmarkWrite(b, benchSend, JSON) }
func BenchmarkReadResultRocketMQ(b *testing.B)  { benchmarkRead(b, benchSendResult, RocketMQ) }
