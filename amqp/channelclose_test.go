package amqp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// rawClient speaks frames to the gateway, for orderings a client library cannot force.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	r  *wire.Reader
	w  *wire.Writer
}

func dialRaw(t *testing.T, g *gateway) *rawClient {
	t.Helper()
	addr := strings.TrimPrefix(g.url, "amqp://guest:guest@")
	addr = addr[:strings.Index(addr, "/")]
	nc, err := net.Dial("tcp", addr)
	must(t, err)
	t.Cleanup(func() { nc.Close() })
	handshake(t, nc)
	rc := &rawClient{t: t, nc: nc, r: wire.NewReader(nc), w: wire.NewWriter(nc)}
	rc.r.SetFrameMax(131072)
	rc.w.SetFrameMax(131072)
	return rc
}

// send buffers methods (with an empty body for content methods); flush writes them at once.
func (rc *rawClient) send(ch uint16, ms ...wire.Method) {
	rc.t.Helper()
	for _, m := range ms {
		must(rc.t, rc.w.WriteMethod(ch, m))
		if _, ok := m.(*wire.BasicPublish); ok {
			must(rc.t, rc.w.WriteContent(ch, &wire.Properties{}, nil))
		}
	}
}

func (rc *rawClient) flush() { rc.t.Helper(); must(rc.t, rc.w.Flush()) }

// expect reads the next method, which must be on channel ch and of want's type.
func (rc *rawClient) expect(ch uint16, want wire.Method) wire.Method {
	rc.t.Helper()
	rc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := rc.r.ReadFrame()
	must(rc.t, err)
	m, err := wire.DecodeMethod(f.Payload)
	must(rc.t, err)
	if f.Channel != ch || m.Name() != want.Name() {
		rc.t.Fatalf("got %s %+v on channel %d, want %s on channel %d", m.Name(), m, f.Channel, want.Name(), ch)
	}
	return m
}

// The server's channel.close and the client's cross on the wire: each side answers the
// other's close with close-ok, the channel ends, and the connection and its other channels
// go on. The frames are written in the crossing order, so this does not depend on timing.
func TestCrossingChannelClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		rc := dialRaw(t, k.start(t))
		rc.send(1, &wire.ChannelOpen{})
		rc.send(2, &wire.ChannelOpen{})
		rc.flush()
		rc.expect(1, &wire.ChannelOpenOk{})
		rc.expect(2, &wire.ChannelOpenOk{})

		// The publish makes the server close channel 1 (404); our close is already sent.
		rc.send(1, &wire.BasicPublish{Exchange: "no-such-exchange", RoutingKey: "k"},
			&wire.ChannelClose{ReplyCode: 200, ReplyText: "bye"})
		rc.flush()
		if c := rc.expect(1, &wire.ChannelClose{}).(*wire.ChannelClose); c.ReplyCode != 404 {
			t.Fatalf("server closed channel 1 with %d, want 404", c.ReplyCode)
		}
		rc.expect(1, &wire.ChannelCloseOk{}) // the answer to our close
		rc.send(1, &wire.ChannelCloseOk{})   // ours to the server's close
		rc.send(2, &wire.ExchangeDeclare{Exchange: "amq.direct", Type: "direct", Passive: true})
		rc.flush()
		rc.expect(2, &wire.ExchangeDeclareOk{})

		// Channel 1 is free again.
		rc.send(1, &wire.ChannelOpen{})
		rc.flush()
		rc.expect(1, &wire.ChannelOpenOk{})
	})
}

// The same crossing as amqp091-go users meet it: a publish to a missing exchange, then at
// once Channel.Close(). Another channel of the connection keeps working, except where
// amqp091-go writes its close after the close-ok it gave the server's close: then the
// connection ends with 504, as on RabbitMQ (TestCloseAfterCloseOk), and the user dials again.
func TestCrossingChannelCloseAmqp091(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		other := channel091(t, c)
		declare(t, other, "cross")
		for i := 0; i < 20; i++ {
			ch := channel091(t, c)
			must(t, ch.PublishWithContext(context.Background(), "no-such-exchange", "k", true, false, amqp091.Publishing{Body: []byte("x")}))
			ch.Close() // its error depends on which close won; either is fine
			err := other.PublishWithContext(context.Background(), "", "cross", false, false, amqp091.Publishing{Body: []byte("still")})
			var m amqp091.Delivery
			var ok bool
			if err == nil {
				m, ok, err = other.Get("cross", true)
			}
			if ae := (*amqp091.Error)(nil); errors.As(err, &ae) && ae.Code == amqp091.ChannelError && strings.Contains(ae.Reason, "got channel.close") {
				c = dial(t, g)
				other = channel091(t, c)
				continue
			}
			if err != nil || !ok || string(m.Body) != "still" {
				t.Fatalf("round %d: other channel: %q %v %v (connection closed: %v)", i, m.Body, ok, err, c.IsClosed())
			}
		}
	})
}

// A channel.close on a channel whose close handshake is over is a frame on a channel that
// is not open: connection.close 504, which is what RabbitMQ 3.10 answers (checked with
// this same sequence of frames).
func TestCloseAfterCloseOk(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		rc := dialRaw(t, k.start(t))
		rc.send(1, &wire.ChannelOpen{})
		rc.flush()
		rc.expect(1, &wire.ChannelOpenOk{})
		rc.send(1, &wire.BasicPublish{Exchange: "no-such-exchange", RoutingKey: "k"})
		rc.flush()
		rc.expect(1, &wire.ChannelClose{})
		rc.send(1, &wire.ChannelCloseOk{}, &wire.ChannelClose{ReplyCode: 200, ReplyText: "bye"})
		rc.flush()
		if c := rc.expect(0, &wire.ConnectionClose{}).(*wire.ConnectionClose); c.ReplyCode != 504 {
			t.Fatalf("connection.close %d %q, want 504", c.ReplyCode, c.ReplyText)
		}
	})
}
