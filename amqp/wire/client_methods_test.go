package wire_test

import (
	"context"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// peer is the server end of one amqp091-go connection: a goroutine reads and assembles
// commands into cmds; the test writes replies and unsolicited methods itself.
type peer struct {
	t    *testing.T
	cmds chan *wire.Command
	mu   sync.Mutex
	w    *wire.Writer
}

// startPeer accepts one client, runs the handshake and starts reading commands.
func startPeer(t *testing.T, capabilities wire.Table) (*peer, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &peer{t: t, cmds: make(chan *wire.Command, 16)}
	go func() {
		defer close(p.cmds)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { nc.Close() })
		r := wire.NewReader(nc)
		p.mu.Lock()
		p.w = wire.NewWriter(nc)
		p.mu.Unlock()
		if r.ReadProtocolHeader() != nil {
			return
		}
		p.send(0, &wire.ConnectionStart{VersionMinor: 9, Mechanisms: "PLAIN", Locales: "en_US",
			ServerProperties: wire.Table{"capabilities": capabilities}})
		as := map[uint16]*wire.Assembler{}
		for {
			f, err := r.ReadFrame()
			if err != nil {
				return
			}
			if f.Type == wire.FrameHeartbeat {
				continue
			}
			a := as[f.Channel]
			if a == nil {
				a = &wire.Assembler{MaxBody: 1 << 20}
				as[f.Channel] = a
			}
			c, err := a.Add(f)
			if err != nil {
				t.Errorf("server: %v", err)
				return
			}
			if c == nil {
				continue
			}
			switch m := c.Method.(type) { // the handshake, answered here
			case *wire.ConnectionStartOk:
				p.send(0, &wire.ConnectionTune{ChannelMax: 16, FrameMax: wire.FrameMinSize, Heartbeat: 0})
				continue
			case *wire.ConnectionTuneOk:
				r.SetFrameMax(m.FrameMax)
				p.mu.Lock()
				p.w.SetFrameMax(m.FrameMax)
				p.mu.Unlock()
				continue
			case *wire.ConnectionOpen:
				p.send(0, &wire.ConnectionOpenOk{})
				continue
			case *wire.ChannelOpen:
				p.send(f.Channel, &wire.ChannelOpenOk{})
				continue
			}
			if !c.Method.ToServer() {
				t.Errorf("client sent %s, which only servers send", c.Method.Name())
			}
			p.cmds <- c
		}
	}()
	return p, "amqp://guest:guest@" + ln.Addr().String() + "/"
}

func (p *peer) send(ch uint16, m wire.Method) { p.sendContent(ch, m, nil, nil) }

func (p *peer) sendContent(ch uint16, m wire.Method, props *wire.Properties, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.w.WriteMethod(ch, m)
	if err == nil && m.HasContent() {
		err = p.w.WriteContent(ch, props, body)
	}
	if err == nil {
		err = p.w.Flush()
	}
	if err != nil {
		p.t.Errorf("server: writing %s: %v", m.Name(), err)
	}
}

// expect reads the next command and compares its method with want.
func (p *peer) expect(want wire.Method) *wire.Command {
	p.t.Helper()
	select {
	case c, ok := <-p.cmds:
		if !ok {
			p.t.Fatalf("connection ended; want %s", want.Name())
		}
		if !reflect.DeepEqual(c.Method, want) {
			p.t.Fatalf("got %s %+v\nwant %+v", c.Method.Name(), c.Method, want)
		}
		return c
	case <-time.After(5 * time.Second):
		p.t.Fatalf("timeout waiting for %s", want.Name())
		return nil
	}
}

// call runs a blocking client call while the server expects want and answers with reply.
func call[T any](p *peer, f func() (T, error), want, reply wire.Method) T {
	p.t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	p.expect(want)
	if reply != nil {
		ch := uint16(1)
		if class, _ := reply.ID(); class == wire.ClassConnection {
			ch = 0
		}
		p.send(ch, reply)
	}
	select {
	case r := <-done:
		if r.err != nil {
			p.t.Fatalf("%s: %v", want.Name(), r.err)
		}
		return r.v
	case <-time.After(5 * time.Second):
		p.t.Fatalf("client call for %s did not return", want.Name())
		var zero T
		return zero
	}
}

func noValue(f func() error) func() (struct{}, error) {
	return func() (struct{}, error) { return struct{}{}, f() }
}

func recv[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timeout")
		var zero T
		return zero
	}
}

// TestRealClientMethods drives amqp091-go through the methods a client sends and those it
// receives, so that every one of them is decoded by a real client or from one.
func TestRealClientMethods(t *testing.T) {
	p, url := startPeer(t, wire.Table{"publisher_confirms": true, "basic.nack": true,
		"consumer_cancel_notify": true, "connection.blocked": true, "accept_consumer_cancel_ok": true})
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 2))
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	cancels := ch.NotifyCancel(make(chan string, 1))
	flows := ch.NotifyFlow(make(chan bool, 1))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 2))
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	args := amqp.Table{"x-match": "all", "n": int32(1)}
	wargs := wire.Table{"x-match": "all", "n": int32(1)}

	call(p, noValue(func() error { return ch.Qos(10, 0, true) }), &wire.BasicQos{PrefetchCount: 10, Global: true}, &wire.BasicQosOk{})
	call(p, noValue(func() error { return ch.ExchangeDeclarePassive("ex", "headers", true, true, true, false, args) }),
		&wire.ExchangeDeclare{Exchange: "ex", Type: "headers", Passive: true, Durable: true, AutoDelete: true, Internal: true, Arguments: wargs},
		&wire.ExchangeDeclareOk{})
	call(p, noValue(func() error { return ch.ExchangeBind("dst", "rk", "src", false, args) }),
		&wire.ExchangeBind{Destination: "dst", Source: "src", RoutingKey: "rk", Arguments: wargs}, &wire.ExchangeBindOk{})
	call(p, noValue(func() error { return ch.ExchangeUnbind("dst", "rk", "src", false, nil) }),
		&wire.ExchangeUnbind{Destination: "dst", Source: "src", RoutingKey: "rk", Arguments: wire.Table{}}, &wire.ExchangeUnbindOk{})
	call(p, noValue(func() error { return ch.ExchangeDelete("ex", true, false) }),
		&wire.ExchangeDelete{Exchange: "ex", IfUnused: true}, &wire.ExchangeDeleteOk{})
	call(p, noValue(func() error { return ch.QueueBind("q", "rk", "ex", false, args) }),
		&wire.QueueBind{Queue: "q", Exchange: "ex", RoutingKey: "rk", Arguments: wargs}, &wire.QueueBindOk{})
	call(p, noValue(func() error { return ch.QueueUnbind("q", "rk", "ex", nil) }),
		&wire.QueueUnbind{Queue: "q", Exchange: "ex", RoutingKey: "rk", Arguments: wire.Table{}}, &wire.QueueUnbindOk{})
	if n := call(p, func() (int, error) { return ch.QueuePurge("q", false) }, &wire.QueuePurge{Queue: "q"}, &wire.QueuePurgeOk{MessageCount: 5}); n != 5 {
		t.Errorf("purge-ok decoded as %d", n)
	}
	if n := call(p, func() (int, error) { return ch.QueueDelete("q", true, true, false) },
		&wire.QueueDelete{Queue: "q", IfUnused: true, IfEmpty: true}, &wire.QueueDeleteOk{MessageCount: 2}); n != 2 {
		t.Errorf("delete-ok decoded as %d", n)
	}

	// basic.get: get-ok with content, then get-empty.
	type got struct {
		d  amqp.Delivery
		ok bool
	}
	getDone := make(chan got, 1)
	go func() {
		d, ok, err := ch.Get("q", false)
		if err != nil {
			t.Error(err)
		}
		getDone <- got{d, ok}
	}()
	p.expect(&wire.BasicGet{Queue: "q"})
	p.sendContent(1, &wire.BasicGetOk{DeliveryTag: 9, Redelivered: true, Exchange: "ex", RoutingKey: "rk", MessageCount: 4},
		&wire.Properties{ContentType: "text/plain"}, []byte("hello"))
	if g := recv(t, getDone); !g.ok || g.d.DeliveryTag != 9 || !g.d.Redelivered || g.d.MessageCount != 4 ||
		g.d.ContentType != "text/plain" || string(g.d.Body) != "hello" {
		t.Errorf("get-ok decoded as %+v", g)
	}
	go func() {
		_, ok, err := ch.Get("q", true)
		if err != nil {
			t.Error(err)
		}
		getDone <- got{ok: ok}
	}()
	p.expect(&wire.BasicGet{Queue: "q", NoAck: true})
	p.send(1, &wire.BasicGetEmpty{})
	if g := recv(t, getDone); g.ok {
		t.Error("get-empty decoded as a message")
	}

	if err := ch.Reject(9, true); err != nil {
		t.Fatal(err)
	}
	p.expect(&wire.BasicReject{DeliveryTag: 9, Requeue: true})
	if err := ch.Nack(10, true, false); err != nil {
		t.Fatal(err)
	}
	p.expect(&wire.BasicNack{DeliveryTag: 10, Multiple: true})
	call(p, noValue(func() error { return ch.Recover(true) }), &wire.BasicRecover{Requeue: true}, &wire.BasicRecoverOk{})
	call(p, noValue(ch.Tx), &wire.TxSelect{}, &wire.TxSelectOk{})
	call(p, noValue(ch.TxCommit), &wire.TxCommit{}, &wire.TxCommitOk{})
	call(p, noValue(ch.TxRollback), &wire.TxRollback{}, &wire.TxRollbackOk{})
	call(p, noValue(func() error { return ch.Flow(true) }), &wire.ChannelFlow{Active: true}, &wire.ChannelFlowOk{Active: true})
	call(p, noValue(func() error { return conn.UpdateSecret("new-token", "expiry") }),
		&wire.ConnectionUpdateSecret{NewSecret: "new-token", Reason: "expiry"}, &wire.ConnectionUpdateSecretOk{})

	// A mandatory publish on a confirm channel, returned then nacked; an empty body.
	call(p, noValue(func() error { return ch.Confirm(false) }), &wire.ConfirmSelect{}, &wire.ConfirmSelectOk{})
	ctx := context.Background()
	if err := ch.PublishWithContext(ctx, "ex", "nowhere", true, false, amqp.Publishing{Priority: 0}); err != nil {
		t.Fatal(err)
	}
	c := p.expect(&wire.BasicPublish{Exchange: "ex", RoutingKey: "nowhere", Mandatory: true})
	if c.Header.BodySize != 0 || len(c.Body) != 0 {
		t.Errorf("empty publish: %+v", c.Header)
	}
	p.sendContent(1, &wire.BasicReturn{ReplyCode: wire.NoRoute, ReplyText: "NO_ROUTE", Exchange: "ex", RoutingKey: "nowhere"},
		&wire.Properties{MessageID: "m"}, []byte("back"))
	p.send(1, &wire.BasicNack{DeliveryTag: 1})
	if r := recv(t, returns); r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || r.RoutingKey != "nowhere" || r.MessageId != "m" || string(r.Body) != "back" {
		t.Errorf("return decoded as %+v", r)
	}
	if cf := recv(t, confirms); cf.Ack || cf.DeliveryTag != 1 {
		t.Errorf("nack decoded as %+v", cf)
	}

	// A consumer cancelled by the server (answered with cancel-ok), then by the client.
	call(p, func() (<-chan amqp.Delivery, error) {
		return ch.Consume("q", "c1", true, false, false, false, amqp.Table{"x-priority": int32(5)})
	}, &wire.BasicConsume{Queue: "q", ConsumerTag: "c1", NoAck: true, Arguments: wire.Table{"x-priority": int32(5)}},
		&wire.BasicConsumeOk{ConsumerTag: "c1"})
	p.send(1, &wire.BasicCancel{ConsumerTag: "c1"})
	if tag := recv(t, cancels); tag != "c1" {
		t.Errorf("cancel decoded as %q", tag)
	}
	p.expect(&wire.BasicCancelOk{ConsumerTag: "c1"})
	call(p, func() (<-chan amqp.Delivery, error) { return ch.Consume("q", "c2", false, true, false, false, nil) },
		&wire.BasicConsume{Queue: "q", ConsumerTag: "c2", Exclusive: true, Arguments: wire.Table{}}, &wire.BasicConsumeOk{ConsumerTag: "c2"})
	call(p, noValue(func() error { return ch.Cancel("c2", false) }), &wire.BasicCancel{ConsumerTag: "c2"}, &wire.BasicCancelOk{ConsumerTag: "c2"})

	// Server-sent flow, blocked and unblocked.
	p.send(1, &wire.ChannelFlow{Active: false})
	if active := recv(t, flows); active {
		t.Error("channel.flow decoded as active")
	}
	p.expect(&wire.ChannelFlowOk{Active: false})
	p.send(0, &wire.ConnectionBlocked{Reason: "low on memory"})
	p.send(0, &wire.ConnectionUnblocked{})
	if b := recv(t, blocked); !b.Active || b.Reason != "low on memory" {
		t.Errorf("blocked decoded as %+v", b)
	}
	if b := recv(t, blocked); b.Active {
		t.Errorf("unblocked decoded as %+v", b)
	}

	// A channel error, then a connection error, both from the server.
	p.send(1, &wire.ChannelClose{ReplyCode: wire.NotFound, ReplyText: "NOT_FOUND - no queue 'q'", ClassID: 50, MethodID: 10})
	p.expect(&wire.ChannelCloseOk{})
	if e := recv(t, chClosed); e == nil || e.Code != 404 || e.Reason != "NOT_FOUND - no queue 'q'" || !e.Server || !e.Recover { // Recover: amqp091-go agrees 404 is soft
		t.Errorf("channel.close decoded as %+v", e)
	}
	p.send(0, &wire.ConnectionClose{ReplyCode: wire.ConnectionForced, ReplyText: "CONNECTION_FORCED - bye"})
	p.expect(&wire.ConnectionCloseOk{})
	if e := recv(t, connClosed); e == nil || e.Code != 320 || e.Reason != "CONNECTION_FORCED - bye" || e.Recover {
		t.Errorf("connection.close decoded as %+v", e)
	}
}
