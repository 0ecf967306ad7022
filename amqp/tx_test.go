package amqp

import (
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// ready is the queue's ready count, as queue.declare passive says it.
func ready(t *testing.T, ch *amqp091.Channel, q string) int {
	t.Helper()
	d, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
	must(t, err)
	return d.Messages
}

// Publishes of a transactional channel appear at tx.commit, not before; rollback drops them.
func TestTxPublish(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch, other := channel091(t, c), channel091(t, c)
		declare(t, other, "txq")
		returns := ch.NotifyReturn(make(chan amqp091.Return, 1))
		must(t, ch.Tx())
		publish(t, ch, "", "txq", "a")
		publish(t, ch, "", "txq", "b")
		must(t, ch.PublishWithContext(t.Context(), "", "nowhere", true, false, amqp091.Publishing{Body: []byte("lost")}))
		time.Sleep(300 * time.Millisecond) // time enough for a server that writes at once
		if n := ready(t, other, "txq"); n != 0 {
			t.Fatalf("%d messages visible before tx.commit", n)
		}
		select {
		case r := <-returns:
			t.Fatalf("basic.return %q before tx.commit", r.Body)
		default:
		}
		must(t, ch.TxCommit())
		// commit-ok means written: the count is exact at once.
		if n := ready(t, other, "txq"); n != 2 {
			t.Fatalf("%d messages after tx.commit, want 2", n)
		}
		select {
		case r := <-returns: // sent before commit-ok, so already here
			if string(r.Body) != "lost" || r.ReplyCode != 312 {
				t.Fatalf("return %+v", r)
			}
		default:
			t.Fatal("no basic.return for the unroutable mandatory publish by tx.commit-ok")
		}

		publish(t, ch, "", "txq", "rolled-back")
		must(t, ch.TxRollback())
		must(t, ch.TxCommit()) // an empty commit: nothing left from before the rollback
		if n := ready(t, other, "txq"); n != 2 {
			t.Fatalf("%d messages after a rollback, want 2", n)
		}
		for _, want := range []string{"a", "b"} {
			m, ok, err := other.Get("txq", true)
			if err != nil || !ok || string(m.Body) != want {
				t.Fatalf("get %q %v %v, want %q", m.Body, ok, err, want)
			}
		}
	})
}

// Acks of a transactional channel take effect at tx.commit. Rollback undoes them without
// redelivery: the deliveries are unacked again (RabbitMQ), so they can be acked again, and
// a channel closed before its commit requeues them.
func TestTxAcks(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		other := channel091(t, c)
		declare(t, other, "txa")
		for _, b := range []string{"one", "two", "three"} {
			publish(t, other, "", "txa", b)
		}
		ch := channel091(t, c)
		must(t, ch.Tx())
		must(t, ch.Qos(3, 0, false))
		d := consume(t, ch, "txa", false)
		one, two, three := recv(t, d), recv(t, d), recv(t, d)
		if string(one.Body) != "one" || string(two.Body) != "two" || string(three.Body) != "three" {
			t.Fatalf("got %q %q %q", one.Body, two.Body, three.Body)
		}
		must(t, one.Ack(false))
		must(t, two.Nack(false, true))
		must(t, ch.TxRollback())
		none(t, d, 300*time.Millisecond) // the nack was undone: no redelivery
		// Both are unacked again: acking them is no unknown tag (406).
		must(t, one.Ack(false))
		must(t, two.Ack(false))
		must(t, ch.TxCommit())
		// "three" was never settled; an ack inside a transaction the channel never
		// commits is undone when it closes, so "three" comes back.
		must(t, three.Ack(false))
		must(t, ch.Close())
		m, ok, err := other.Get("txa", false)
		if err != nil || !ok || string(m.Body) != "three" || !m.Redelivered {
			t.Fatalf("after close: %q redelivered %v ok %v err %v, want \"three\" redelivered", m.Body, m.Redelivered, ok, err)
		}
		must(t, m.Ack(false))
		if _, ok, _ := other.Get("txa", false); ok {
			t.Fatal("a committed ack came back")
		}
	})
}

// tx and confirms exclude each other, and commit or rollback need tx.select: 406 as RabbitMQ.
func TestTxErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		c := dial(t, k.start(t))
		for _, tc := range []struct {
			name string
			do   func(*amqp091.Channel) error
		}{
			{"commit without select", func(ch *amqp091.Channel) error { return ch.TxCommit() }},
			{"rollback without select", func(ch *amqp091.Channel) error { return ch.TxRollback() }},
			{"tx.select in confirm mode", func(ch *amqp091.Channel) error { must(t, ch.Confirm(false)); return ch.Tx() }},
			{"confirm.select in tx mode", func(ch *amqp091.Channel) error { must(t, ch.Tx()); return ch.Confirm(false) }},
		} {
			ch := channel091(t, c)
			if err := tc.do(ch); code(err) != 406 {
				t.Fatalf("%s: %v, want 406", tc.name, err)
			}
		}
		ch := channel091(t, c) // the connection is fine
		must(t, ch.Tx())
		must(t, ch.Tx()) // again: still fine
		if _, _, err := ch.Get("no-such-queue", false); code(err) != 404 {
			t.Fatalf("get from a missing queue in a transaction: %v, want 404", err)
		}
	})
}
