package amqp

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// handshake plays a client's side of the connection opening on nc.
func handshake(t testing.TB, nc net.Conn) {
	t.Helper()
	r, w := wire.NewReader(nc), wire.NewWriter(nc)
	step := func(m wire.Method) {
		if err := w.WriteMethod(0, m); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	read := func() {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wire.DecodeMethod(f.Payload); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := io.WriteString(nc, wire.ProtocolHeader); err != nil {
		t.Fatal(err)
	}
	read() // start
	step(&wire.ConnectionStartOk{ClientProperties: wire.Table{}, Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	read() // tune
	r.SetFrameMax(131072)
	w.SetFrameMax(131072)
	step(&wire.ConnectionTuneOk{ChannelMax: 16, FrameMax: 131072, Heartbeat: 0})
	step(&wire.ConnectionOpen{VirtualHost: "/"})
	read() // open-ok
}

// Random bytes after a valid handshake never panic the handler, and it always ends.
func FuzzAfterHandshake(f *testing.F) {
	frame := func(typ byte, ch uint16, m wire.Method) []byte {
		p, _ := wire.AppendMethod(nil, m)
		b := []byte{typ, byte(ch >> 8), byte(ch), byte(len(p) >> 24), byte(len(p) >> 16), byte(len(p) >> 8), byte(len(p))}
		return append(append(b, p...), wire.FrameEnd)
	}
	open := frame(1, 1, &wire.ChannelOpen{})
	f.Add([]byte{})
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0xce})
	f.Add(open)
	f.Add(append(append([]byte{}, open...), frame(1, 1, &wire.QueueDeclare{Queue: "fz"})...))
	f.Add(append(append([]byte{}, open...), frame(1, 1, &wire.BasicPublish{RoutingKey: "fz"})...))
	f.Add(append(append([]byte{}, open...), frame(1, 1, &wire.BasicAck{DeliveryTag: 9})...))
	f.Add(frame(1, 0, &wire.ConnectionClose{ReplyCode: 200}))
	f.Add([]byte{1, 0, 1, 0xff, 0xff, 0xff, 0xff})

	g := startGateway(f, "")
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			g.srv.HandleConn(context.Background(), server)
			server.Close()
		}()
		handshake(t, client)
		go io.Copy(io.Discard, client)
		client.Write(data)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("handler did not end")
		}
	})
}
