package amqp

import (
	"context"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// Heartbeats flow both ways: an idle connection with a 1s heartbeat stays up.
func TestHeartbeatKeepsIdleConnection(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	g := startGateway(t, "")
	c, err := amqp091.DialConfig(g.url, amqp091.Config{Heartbeat: time.Second})
	must(t, err)
	defer c.Close()
	time.Sleep(3500 * time.Millisecond)
	if c.IsClosed() {
		t.Fatal("idle connection dropped")
	}
	ch := channel091(t, c)
	declare(t, ch, "hb")
}

func TestVhostNamespace(t *testing.T) {
	g := startGateway(t, "")
	c, err := amqp091.Dial(g.url + "v1")
	must(t, err)
	defer c.Close()
	ch := channel091(t, c)
	declare(t, ch, "inv1")
	if _, err := g.backend.Admin().Topic(context.Background(), "persistent://public/v1/inv1"); err != nil {
		t.Fatalf("queue of vhost v1 is not in namespace public/v1: %v", err)
	}
	// Vhosts do not share queues.
	ch0 := channel091(t, dial(t, g))
	if _, err := ch0.QueueDeclarePassive("inv1", false, false, false, false, nil); code(err) != 404 {
		t.Fatalf("queue of vhost v1 seen in /: %v", err)
	}
}

func TestAutoDeleteAndDeleteCancels(t *testing.T) {
	g := startGateway(t, "")
	c := dial(t, g)
	ch := channel091(t, c)
	_, err := ch.QueueDeclare("ad", false, true, false, false, nil)
	must(t, err)
	_, err = ch.Consume("ad", "t1", false, false, false, false, nil)
	must(t, err)
	must(t, ch.Cancel("t1", false))
	if _, err := ch.QueueDeclarePassive("ad", false, false, false, false, nil); code(err) != 404 {
		t.Fatalf("auto-delete queue kept after its last consumer: %v", err)
	}

	ch = channel091(t, c)
	cancels := ch.NotifyCancel(make(chan string, 1))
	declare(t, ch, "del")
	_, err = ch.Consume("del", "t2", false, false, false, false, nil)
	must(t, err)
	other := channel091(t, c)
	publish(t, other, "", "del", "x")
	n, err := other.QueueDelete("del", false, false, false)
	must(t, err)
	_ = n
	select {
	case tag := <-cancels:
		if tag != "t2" {
			t.Fatalf("cancel of %q", tag)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no basic.cancel for a consumer of a deleted queue")
	}
}

func TestPurge(t *testing.T) {
	g := startGateway(t, "")
	ch := channel091(t, dial(t, g))
	declare(t, ch, "pg")
	for range 4 {
		publish(t, ch, "", "pg", "x")
	}
	n, err := ch.QueuePurge("pg", false)
	must(t, err)
	if n != 4 {
		t.Fatalf("purged %d, want 4", n)
	}
	if _, ok, _ := ch.Get("pg", true); ok {
		t.Fatal("message left after purge")
	}
}

// Draining (ctx cancelled) tells the client with connection.close 320.
func TestDrainClosesWith320(t *testing.T) {
	g := startGateway(t, "")
	c := dial(t, g)
	closed := c.NotifyClose(make(chan *amqp091.Error, 1))
	go g.stop()
	select {
	case e := <-closed:
		if e == nil || e.Code != 320 {
			t.Fatalf("close %v, want 320", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection.close on drain")
	}
}

// An auto-delete exchange goes when its last binding (as a source) goes,
// by unbind or by the queue's deletion, as RabbitMQ does; one never bound
// stays.
func TestExchangeAutoDelete(t *testing.T) {
	g := startGateway(t, "")
	c := dial(t, g)
	ch := channel091(t, c)
	must(t, ch.ExchangeDeclare("xad", "direct", false, true, false, false, nil))
	must(t, ch.ExchangeDeclare("xnever", "direct", false, true, false, false, nil))
	declare(t, ch, "xq1")
	declare(t, ch, "xq2")
	must(t, ch.QueueBind("xq1", "k", "xad", false, nil))
	must(t, ch.QueueBind("xq2", "k", "xad", false, nil))

	must(t, ch.QueueUnbind("xq1", "k", "xad", nil))
	must(t, ch.ExchangeDeclarePassive("xad", "direct", false, true, false, false, nil))
	if _, err := ch.QueueDelete("xq2", false, false, false); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclarePassive("xad", "direct", false, true, false, false, nil); code(err) != 404 {
		t.Fatalf("auto-delete exchange kept after its last binding went: %v", err)
	}
	ch = channel091(t, c)
	must(t, ch.ExchangeDeclarePassive("xnever", "direct", false, true, false, false, nil))
}
