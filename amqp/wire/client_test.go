package wire_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// A real client against the codec: amqp091-go dials a scripted server built on wire, over
// a real socket. The script checks what it decodes from the client; the client checks what
// it decodes from us.

type conn struct {
	r *wire.Reader
	w *wire.Writer
}

// next returns the next method, skipping heartbeats, and fails unless it has type M.
func next[M wire.Method](c *conn) (M, uint16, error) {
	var zero M
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			return zero, 0, err
		}
		if f.Type == wire.FrameHeartbeat {
			continue
		}
		if f.Type != wire.FrameMethod {
			return zero, 0, fmt.Errorf("frame type %d, want a method", f.Type)
		}
		m, err := wire.DecodeMethod(f.Payload)
		if err != nil {
			return zero, 0, err
		}
		mm, ok := m.(M)
		if !ok {
			return zero, 0, fmt.Errorf("got %s (%+v), want %T", m.Name(), m, zero)
		}
		return mm, f.Channel, nil
	}
}

func (c *conn) content() (wire.Header, []byte, error) {
	var h wire.Header
	f, err := c.r.ReadFrame()
	if err != nil {
		return h, nil, err
	}
	if f.Type != wire.FrameHeader {
		return h, nil, fmt.Errorf("frame type %d, want a header", f.Type)
	}
	if err := wire.DecodeHeader(f.Payload, &h); err != nil {
		return h, nil, err
	}
	var body []byte
	for uint64(len(body)) < h.BodySize {
		f, err := c.r.ReadFrame()
		if err != nil {
			return h, nil, err
		}
		if f.Type != wire.FrameBody {
			return h, nil, fmt.Errorf("frame type %d, want a body", f.Type)
		}
		body = append(body, f.Payload...)
	}
	return h, body, nil
}

func (c *conn) send(ch uint16, m wire.Method) error {
	if err := c.w.WriteMethod(ch, m); err != nil {
		return err
	}
	return c.w.Flush()
}

// seen is what the server decoded from the client.
type seen struct {
	start     *wire.ConnectionStartOk
	tuneOk    *wire.ConnectionTuneOk
	open      *wire.ConnectionOpen
	exchange  *wire.ExchangeDeclare
	publish   *wire.BasicPublish
	header    wire.Header
	body      []byte
	consume   *wire.BasicConsume
	ack       *wire.BasicAck
	chClose   *wire.ChannelClose
	connClose *wire.ConnectionClose
}

const frameMax = wire.FrameMinSize // small, so that bodies span several frames

var body = bytes.Repeat([]byte("0123456789abcdef"), 700) // 11200 bytes

var deliveryHeaders = wire.Table{
	"t": true, "b": int8(-5), "B": uint8(250), "s": int16(-300), "u": uint16(65000),
	"I": int32(-70000), "i": uint32(4000000000), "l": int64(-1 << 40), "f": float32(1.5),
	"d": 2.25, "D": wire.Decimal{Scale: 2, Value: -12345}, "S": "str", "x": []byte{0, 1},
	"T": time.Unix(1700000000, 0), "F": wire.Table{"k": "v"}, "V": nil,
	"A": []any{int32(1), "two", wire.Table{}},
}

func serve(ln net.Listener, s *seen) (err error) {
	nc, err := ln.Accept()
	if err != nil {
		return err
	}
	defer nc.Close()
	c := &conn{r: wire.NewReader(nc), w: wire.NewWriter(nc)}
	step := func(name string, e error) {
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %w", name, e)
		}
	}
	if e := c.r.ReadProtocolHeader(); e != nil {
		return e
	}
	step("start", c.send(0, &wire.ConnectionStart{
		VersionMajor: 0, VersionMinor: 9,
		ServerProperties: wire.Table{"product": "pulsar-gateway", "capabilities": wire.Table{
			"publisher_confirms": true, "basic.nack": true, "consumer_cancel_notify": true}},
		Mechanisms: "PLAIN AMQPLAIN", Locales: "en_US",
	}))
	s.start, _, err = next[*wire.ConnectionStartOk](c)
	if err != nil {
		return err
	}
	step("tune", c.send(0, &wire.ConnectionTune{ChannelMax: 2047, FrameMax: frameMax, Heartbeat: 60}))
	if s.tuneOk, _, err = next[*wire.ConnectionTuneOk](c); err != nil {
		return err
	}
	c.r.SetFrameMax(s.tuneOk.FrameMax)
	c.w.SetFrameMax(s.tuneOk.FrameMax)
	if s.open, _, err = next[*wire.ConnectionOpen](c); err != nil {
		return err
	}
	step("open-ok", c.send(0, &wire.ConnectionOpenOk{}))
	_, ch, err := next[*wire.ChannelOpen](c)
	if err != nil {
		return err
	}
	step("channel.open-ok", c.send(ch, &wire.ChannelOpenOk{}))
	if s.exchange, _, err = next[*wire.ExchangeDeclare](c); err != nil {
		return err
	}
	step("exchange.declare-ok", c.send(ch, &wire.ExchangeDeclareOk{}))
	qd, _, err := next[*wire.QueueDeclare](c)
	if err != nil {
		return err
	}
	step("queue.declare-ok", c.send(ch, &wire.QueueDeclareOk{Queue: qd.Queue, MessageCount: 3, ConsumerCount: 1}))
	if _, _, err = next[*wire.ConfirmSelect](c); err != nil {
		return err
	}
	step("confirm.select-ok", c.send(ch, &wire.ConfirmSelectOk{}))
	if s.publish, _, err = next[*wire.BasicPublish](c); err != nil {
		return err
	}
	if s.header, s.body, err = c.content(); err != nil {
		return err
	}
	step("ack", c.send(ch, &wire.BasicAck{DeliveryTag: 1}))
	if s.consume, _, err = next[*wire.BasicConsume](c); err != nil {
		return err
	}
	step("consume-ok", c.w.WriteMethod(ch, &wire.BasicConsumeOk{ConsumerTag: s.consume.ConsumerTag}))
	step("deliver", c.w.WriteMethod(ch, &wire.BasicDeliver{ConsumerTag: s.consume.ConsumerTag,
		DeliveryTag: 42, Redelivered: true, Exchange: "ex", RoutingKey: "rk"}))
	step("content", c.w.WriteContent(ch, &wire.Properties{
		ContentType: "application/octet-stream", ContentEncoding: "identity", Headers: deliveryHeaders,
		DeliveryMode: 2, Priority: 7, CorrelationID: "corr", ReplyTo: "reply", Expiration: "1000",
		MessageID: "mid", Timestamp: time.Unix(1600000000, 0), Type: "type", UserID: "guest", AppID: "app",
	}, body))
	step("flush", c.w.Flush())
	if s.ack, _, err = next[*wire.BasicAck](c); err != nil {
		return err
	}
	if s.chClose, _, err = next[*wire.ChannelClose](c); err != nil {
		return err
	}
	step("channel.close-ok", c.send(ch, &wire.ChannelCloseOk{}))
	if s.connClose, _, err = next[*wire.ConnectionClose](c); err != nil {
		return err
	}
	step("connection.close-ok", c.send(0, &wire.ConnectionCloseOk{}))
	return err
}

// toClient converts our table values to the types amqp091-go decodes them into.
func toClient(v any) any {
	switch v := v.(type) {
	case wire.Table:
		t := amqp.Table{}
		for k, e := range v {
			t[k] = toClient(e)
		}
		return t
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = toClient(e)
		}
		return a
	case wire.Decimal:
		return amqp.Decimal{Scale: v.Scale, Value: v.Value}
	}
	return v
}

func TestRealClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var s seen
	done := make(chan error, 1)
	go func() { done <- serve(ln, &s) }()
	fail := func(err error) {
		t.Helper()
		select {
		case serr := <-done:
			t.Fatalf("%v (server: %v)", err, serr)
		case <-time.After(time.Second):
			t.Fatal(err)
		}
	}

	client, err := amqp.DialConfig("amqp://guest:secret@"+ln.Addr().String()+"/vh",
		amqp.Config{Heartbeat: 30 * time.Second, Properties: amqp.Table{"connection_name": "wire-test"}})
	if err != nil {
		fail(err)
	}
	ch, err := client.Channel()
	if err != nil {
		fail(err)
	}
	args := amqp.Table{
		"bool": true, "byte": byte(200), "int8": int8(-8), "int": 1 << 20, "int16": int16(-16),
		"int32": int32(-32), "int64": int64(-1 << 50), "uint16": uint16(16), "uint32": uint32(1 << 31),
		"float32": float32(0.5), "float64": -0.25, "string": "s", "bytes": []byte("xyz"),
		"decimal": amqp.Decimal{Scale: 3, Value: 314}, "time": time.Unix(1234567890, 0),
		"array": []any{"a", int32(1), amqp.Table{"n": nil}}, "table": amqp.Table{"k": "v"}, "void": nil,
	}
	if err := ch.ExchangeDeclare("ex", "topic", true, false, false, false, args); err != nil {
		fail(err)
	}
	q, err := ch.QueueDeclare("q", true, false, false, false, nil)
	if err != nil {
		fail(err)
	}
	if q.Name != "q" || q.Messages != 3 || q.Consumers != 1 {
		t.Errorf("queue.declare-ok decoded by the client as %+v", q)
	}
	if err := ch.Confirm(false); err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pub := amqp.Publishing{
		Headers: amqp.Table{"h": "v", "n": int64(-1)}, ContentType: "text/plain", DeliveryMode: amqp.Persistent,
		Priority: 3, CorrelationId: "c1", ReplyTo: "amq.rabbitmq.reply-to", Expiration: "60000",
		MessageId: "m1", Timestamp: time.Unix(1700000000, 0), Type: "ty", UserId: "guest", AppId: "test",
		Body: body,
	}
	conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, "ex", "rk", true, false, pub)
	if err != nil {
		fail(err)
	}
	if ok, err := conf.WaitContext(ctx); !ok || err != nil {
		fail(fmt.Errorf("confirm: %v %v", ok, err))
	}
	deliveries, err := ch.Consume("q", "ctag", false, true, false, false, nil)
	if err != nil {
		fail(err)
	}
	var d amqp.Delivery
	select {
	case d = <-deliveries:
	case <-ctx.Done():
		fail(errors.New("no delivery"))
	}
	if err := d.Ack(false); err != nil {
		fail(err)
	}
	if err := ch.Close(); err != nil {
		fail(err)
	}
	if err := client.Close(); err != nil {
		fail(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}

	// What we decoded from the client.
	if s.start.Mechanism != "PLAIN" || s.start.Response != "\x00guest\x00secret" || s.start.Locale != "en_US" {
		t.Errorf("start-ok: %+v", s.start)
	}
	if caps, _ := s.start.ClientProperties["capabilities"].(wire.Table); caps["basic.nack"] != true ||
		s.start.ClientProperties["connection_name"] != "wire-test" {
		t.Errorf("client properties: %+v", s.start.ClientProperties)
	}
	if s.tuneOk.FrameMax != frameMax || s.tuneOk.ChannelMax != 2047 || s.tuneOk.Heartbeat != 30 {
		t.Errorf("tune-ok: %+v", s.tuneOk)
	}
	if s.open.VirtualHost != "vh" {
		t.Errorf("open: %+v", s.open)
	}
	wantArgs := wire.Table{
		"bool": true, "byte": uint8(200), "int8": int8(-8), "int": int32(1 << 20), "int16": int16(-16),
		"int32": int32(-32), "int64": int64(-1 << 50), "uint16": uint16(16), "uint32": uint32(1 << 31),
		"float32": float32(0.5), "float64": -0.25, "string": "s", "bytes": []byte("xyz"),
		"decimal": wire.Decimal{Scale: 3, Value: 314}, "time": time.Unix(1234567890, 0),
		"array": []any{"a", int32(1), wire.Table{"n": nil}}, "table": wire.Table{"k": "v"}, "void": nil,
	}
	if e := s.exchange; e.Exchange != "ex" || e.Type != "topic" || !e.Durable || e.AutoDelete || e.NoWait ||
		!reflect.DeepEqual(e.Arguments, wantArgs) {
		t.Errorf("exchange.declare: %+v", e)
	}
	if p := s.publish; p.Exchange != "ex" || p.RoutingKey != "rk" || !p.Mandatory || p.Immediate {
		t.Errorf("publish: %+v", p)
	}
	wantProps := wire.Properties{
		Flags:   wire.FlagContentType | wire.FlagHeaders | wire.FlagDeliveryMode | wire.FlagPriority | wire.FlagCorrelationID | wire.FlagReplyTo | wire.FlagExpiration | wire.FlagMessageID | wire.FlagTimestamp | wire.FlagType | wire.FlagUserID | wire.FlagAppID,
		Headers: wire.Table{"h": "v", "n": int64(-1)}, ContentType: "text/plain", DeliveryMode: 2,
		Priority: 3, CorrelationID: "c1", ReplyTo: "amq.rabbitmq.reply-to", Expiration: "60000",
		MessageID: "m1", Timestamp: time.Unix(1700000000, 0), Type: "ty", UserID: "guest", AppID: "test",
	}
	if h := s.header; h.ClassID != wire.ClassBasic || h.BodySize != uint64(len(body)) || !reflect.DeepEqual(h.Properties, wantProps) {
		t.Errorf("content header: %+v", h)
	}
	if !bytes.Equal(s.body, body) {
		t.Errorf("body: %d bytes", len(s.body))
	}
	if c := s.consume; c.Queue != "q" || c.ConsumerTag != "ctag" || c.NoAck || c.NoLocal || !c.Exclusive {
		t.Errorf("consume: %+v", c)
	}
	if s.ack.DeliveryTag != 42 || s.ack.Multiple {
		t.Errorf("ack: %+v", s.ack)
	}
	if s.chClose.ReplyCode != wire.ReplySuccess || s.connClose.ReplyCode != wire.ReplySuccess {
		t.Errorf("close: %+v %+v", s.chClose, s.connClose)
	}

	// What the client decoded from us.
	if d.ConsumerTag != "ctag" || d.DeliveryTag != 42 || !d.Redelivered || d.Exchange != "ex" || d.RoutingKey != "rk" {
		t.Errorf("deliver: %+v", d)
	}
	if d.ContentType != "application/octet-stream" || d.ContentEncoding != "identity" || d.DeliveryMode != 2 ||
		d.Priority != 7 || d.CorrelationId != "corr" || d.ReplyTo != "reply" || d.Expiration != "1000" ||
		d.MessageId != "mid" || !d.Timestamp.Equal(time.Unix(1600000000, 0)) || d.Type != "type" ||
		d.UserId != "guest" || d.AppId != "app" {
		t.Errorf("delivery properties: %+v", d)
	}
	if !reflect.DeepEqual(d.Headers, toClient(deliveryHeaders)) {
		t.Errorf("delivery headers: %#v", d.Headers)
	}
	if !bytes.Equal(d.Body, body) {
		t.Errorf("delivery body: %d bytes", len(d.Body))
	}
}
