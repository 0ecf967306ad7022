package amqp

import (
	"bufio"
	"errors"
	"net"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

func code(err error) int {
	var e *amqp091.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// A soft error closes the channel only: the connection and other channels go on.
func TestMissingQueueClosesChannel(t *testing.T) {
	g := startGateway(t, "")
	c := dial(t, g)
	ch := channel091(t, c)
	other := channel091(t, c)
	_, err := ch.QueueDeclarePassive("missing", false, false, false, false, nil)
	if code(err) != 404 {
		t.Fatalf("passive declare of a missing queue: %v, want 404", err)
	}
	if _, err := ch.QueueDeclare("x", false, false, false, false, nil); err == nil {
		t.Fatal("closed channel still usable")
	}
	if c.IsClosed() {
		t.Fatal("connection closed by a channel error")
	}
	declare(t, other, "still-fine")
	ch = channel091(t, c)
	declare(t, ch, "reopened")
	if _, err := ch.Consume("missing", "", false, false, false, false, nil); code(err) != 404 {
		t.Fatalf("consume from a missing queue: %v", err)
	}
	ch = channel091(t, c)
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	must(t, ch.PublishWithContext(t.Context(), "no-such-exchange", "k", false, false, amqp091.Publishing{}))
	select {
	case e := <-closed:
		if e == nil || e.Code != 404 {
			t.Fatalf("publish to a missing exchange: close %v, want 404", e)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no channel.close after publishing to a missing exchange")
	}
}

func TestRedeclareMismatch(t *testing.T) {
	g := startGateway(t, "")
	c := dial(t, g)
	ch := channel091(t, c)
	_, err := ch.QueueDeclare("dur", true, false, false, false, nil)
	must(t, err)
	if _, err := ch.QueueDeclare("dur", false, false, false, false, nil); code(err) != 406 {
		t.Fatalf("redeclare with other durability: %v, want 406", err)
	}
	ch = channel091(t, c)
	_, err = ch.QueueDeclare("ttl", false, false, false, false, amqp091.Table{"x-message-ttl": int32(1000), "x-unknown": "ignored"})
	must(t, err)
	_, err = ch.QueueDeclare("ttl", false, false, false, false, amqp091.Table{"x-message-ttl": int64(1000)})
	must(t, err) // integer widths compare by value; unknown args are ignored
	if _, err := ch.QueueDeclare("ttl", false, false, false, false, amqp091.Table{"x-message-ttl": int32(5)}); code(err) != 406 {
		t.Fatalf("redeclare with another x-message-ttl: %v, want 406", err)
	}
	ch = channel091(t, c)
	must(t, ch.ExchangeDeclare("ex", "direct", false, false, false, false, nil))
	if err := ch.ExchangeDeclare("ex", "fanout", false, false, false, false, nil); code(err) != 406 {
		t.Fatalf("exchange redeclare with another type: %v, want 406", err)
	}
	ch = channel091(t, c)
	if err := ch.ExchangeDeclare("amq.mine", "direct", false, false, false, false, nil); code(err) != 403 {
		t.Fatalf("declare amq.*: %v, want 403", err)
	}
	ch = channel091(t, c)
	must(t, ch.ExchangeDeclare("amq.fanout", "fanout", true, false, false, false, nil)) // equivalent: fine
	if err := ch.ExchangeDelete("amq.fanout", false, false); code(err) != 403 {
		t.Fatalf("delete amq.fanout: %v, want 403", err)
	}
}

func TestExclusiveQueue(t *testing.T) {
	g := startGateway(t, "")
	c1, c2 := dial(t, g), dial(t, g)
	ch1, ch2 := channel091(t, c1), channel091(t, c2)
	_, err := ch1.QueueDeclare("excl", false, false, true, false, nil)
	must(t, err)
	if _, err := ch2.Consume("excl", "", false, false, false, false, nil); code(err) != 405 {
		t.Fatalf("other connection consuming an exclusive queue: %v, want 405", err)
	}
	must(t, c1.Close())
	ch2 = channel091(t, c2)
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := ch2.QueueDeclarePassive("excl", false, false, false, false, nil)
		if code(err) == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exclusive queue outlived its connection: %v", err)
		}
		if err != nil {
			ch2 = channel091(t, c2)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUnknownDeliveryTag(t *testing.T) {
	g := startGateway(t, "")
	c := dial(t, g)
	ch := channel091(t, c)
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	must(t, ch.Ack(42, false))
	select {
	case e := <-closed:
		if e == nil || e.Code != 406 {
			t.Fatalf("close %v, want 406", e)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no channel.close for an unknown delivery tag")
	}
}

// A protocol header we do not speak is answered with ours, then the connection closes.
func TestBadProtocolHeader(t *testing.T) {
	g := startGateway(t, "")
	nc, err := net.Dial("tcp", g.url[len("amqp://guest:guest@"):len(g.url)-1])
	must(t, err)
	defer nc.Close()
	nc.Write([]byte("AMQP\x00\x00\x09\x00"))
	nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 16)
	n, _ := bufio.NewReader(nc).Read(buf)
	if string(buf[:n]) != wire.ProtocolHeader {
		t.Fatalf("answer %q", buf[:n])
	}
}

// Hard errors close the connection.
func TestHardErrors(t *testing.T) {
	g := startGateway(t, "")
	c := dial(t, g)
	ch := channel091(t, c)
	declare(t, ch, "hq")
	closed := c.NotifyClose(make(chan *amqp091.Error, 1))
	_, err := ch.Consume("hq", "same", false, false, false, false, nil)
	must(t, err)
	ch.Consume("hq", "same", false, false, false, false, nil) // amqp091 checks tags only per its own map
	select {
	case e := <-closed:
		if e == nil || e.Code != 530 {
			t.Fatalf("connection close %v, want 530", e)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("consumer tag reuse did not close the connection")
	}

	c = dial(t, g)
	ch = channel091(t, c)
	closed = c.NotifyClose(make(chan *amqp091.Error, 1))
	ch.PublishWithContext(t.Context(), "", "hq", false, true, amqp091.Publishing{})
	select {
	case e := <-closed:
		if e == nil || e.Code != 540 {
			t.Fatalf("connection close %v, want 540", e)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("immediate=true did not close the connection")
	}
}

// Empty names mean the channel's last declared queue; a client may not name one amq.*.
func TestLastQueueAndReservedNames(t *testing.T) {
	g := startGateway(t, "")
	c := dial(t, g)
	ch := channel091(t, c)
	if _, err := ch.QueueDeclare("amq.gen-mine", false, false, false, false, nil); code(err) != 403 {
		t.Fatalf("client-named amq.* queue: %v, want 403", err)
	}
	ch = channel091(t, c)
	q := declare(t, ch, "")
	must(t, ch.QueueBind("", "", "amq.direct", false, nil)) // queue and key: the last declared
	publish(t, ch, "amq.direct", q.Name, "to-last")
	m, ok, err := ch.Get("", true)
	if err != nil || !ok || string(m.Body) != "to-last" {
		t.Fatalf("get from the last queue: %q %v %v", m.Body, ok, err)
	}
	ch2 := channel091(t, c)
	if _, _, err := ch2.Get("", true); code(err) != 404 {
		t.Fatalf("empty name on a channel that declared nothing: %v, want 404", err)
	}
}
