package amqp

import (
	"net"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

func blocking(t *testing.T, b <-chan amqp091.Blocking) amqp091.Blocking {
	t.Helper()
	select {
	case x := <-b:
		return x
	case <-time.After(5 * time.Second):
		t.Fatal("no connection.blocked/unblocked within 5s")
	}
	return amqp091.Blocking{}
}

// An alarm blocks publishing connections: a client advertising connection.blocked is told,
// its publishes wait until the alarm clears, then it is told it is unblocked.
func TestAlarmBlocksPublishers(t *testing.T) {
	g := startGateway(t, "")
	pc := dial(t, g)
	blocked := pc.NotifyBlocked(make(chan amqp091.Blocking, 4))
	pch := channel091(t, pc)
	declare(t, pch, "alarmed")
	publish(t, pch, "", "alarmed", "before")
	d := consume(t, channel091(t, dial(t, g)), "alarmed", true)
	recv(t, d)

	g.srv.SetAlarm("memory", true)
	if b := blocking(t, blocked); !b.Active || b.Reason != "low on memory" {
		t.Fatalf("got %+v, want connection.blocked 'low on memory'", b)
	}
	publish(t, pch, "", "alarmed", "during") // buffered by the client; the gateway waits
	none(t, d, 300*time.Millisecond)
	g.srv.SetAlarm("memory", false)
	if b := blocking(t, blocked); b.Active {
		t.Fatalf("got %+v, want connection.unblocked", b)
	}
	if m := recv(t, d); string(m.Body) != "during" {
		t.Fatalf("got %q after unblock", m.Body)
	}
}

// Options.MemoryAlarm raises the memory alarm from the heap size.
func TestMemoryAlarm(t *testing.T) {
	g := startGateway(t, "", func(o *Options) { o.MemoryAlarm = 1; o.AlarmInterval = 10 * time.Millisecond })
	c := dial(t, g)
	blocked := c.NotifyBlocked(make(chan amqp091.Blocking, 4))
	ch := channel091(t, c)
	publish(t, ch, "", "nowhere", "x")
	if b := blocking(t, blocked); !b.Active {
		t.Fatalf("got %+v, want connection.blocked", b)
	}
}

// A client that did not advertise the capability is blocked without being told.
func TestAlarmWithoutCapability(t *testing.T) {
	g := startGateway(t, "")
	nc, err := net.Dial("tcp", g.url[len("amqp://guest:guest@"):len(g.url)-1])
	must(t, err)
	defer nc.Close()
	handshake(t, nc) // no capabilities
	w, r := wire.NewWriter(nc), wire.NewReader(nc)
	r.SetFrameMax(131072)
	w.SetFrameMax(131072)
	must(t, w.WriteMethod(1, &wire.ChannelOpen{}))
	must(t, w.Flush())
	if _, err := r.ReadFrame(); err != nil { // open-ok
		t.Fatal(err)
	}
	must(t, w.WriteMethod(1, &wire.BasicPublish{RoutingKey: "nowhere"}))
	must(t, w.WriteContent(1, &wire.Properties{}, []byte("x")))
	must(t, w.Flush())
	g.srv.SetAlarm("memory", true)
	must(t, w.WriteMethod(1, &wire.BasicPublish{RoutingKey: "nowhere"}))
	must(t, w.WriteContent(1, &wire.Properties{}, []byte("y")))
	must(t, w.Flush())
	nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if f, err := r.ReadFrame(); err == nil {
		m, _ := wire.DecodeMethod(f.Payload)
		t.Fatalf("got %v on a connection without the connection.blocked capability", m)
	}
	g.srv.SetAlarm("memory", false)
}
