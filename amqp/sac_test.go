package amqp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

var sacArgs = amqp091.Table{"x-single-active-consumer": true}

// sacConsume starts a manual-ack consumer with a prefetch window on its own connection.
func sacConsume(t *testing.T, g *gateway, q string) (*amqp091.Connection, *amqp091.Channel, <-chan amqp091.Delivery) {
	t.Helper()
	c := dial(t, g)
	ch := channel091(t, c)
	must(t, ch.Qos(10, 0, false))
	d, err := ch.Consume(q, "", false, false, false, false, nil)
	must(t, err)
	return c, ch, d
}

func publishN(t *testing.T, ch *amqp091.Channel, q string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		publish(t, ch, "", q, fmt.Sprint(i))
	}
}

// expectBodies receives len(want) deliveries in that order.
func expectBodies(t *testing.T, d <-chan amqp091.Delivery, want ...int) []amqp091.Delivery {
	t.Helper()
	var got []amqp091.Delivery
	for _, w := range want {
		m := recv(t, d)
		if string(m.Body) != fmt.Sprint(w) {
			t.Fatalf("got %q, want %d", m.Body, w)
		}
		got = append(got, m)
	}
	return got
}

// Of two consumers only the first registered gets messages; when it is cancelled and its
// channel closes, the second gets what it held unacked, then the rest, in order. Both
// count in consumer_count.
func TestSingleActiveConsumer(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		pc := dial(t, g)
		pch := channel091(t, pc)
		_, err := pch.QueueDeclare("sac", true, false, false, false, sacArgs)
		must(t, err)
		_, ch1, d1 := sacConsume(t, g, "sac")
		_, _, d2 := sacConsume(t, g, "sac")
		q, err := pch.QueueDeclarePassive("sac", true, false, false, false, sacArgs)
		must(t, err)
		if q.Consumers != 2 {
			t.Fatalf("consumer_count %d, want 2", q.Consumers)
		}
		publishN(t, pch, "sac", 0, 6)
		got := expectBodies(t, d1, 0, 1, 2, 3, 4, 5)
		none(t, d2, 500*time.Millisecond)
		must(t, got[0].Ack(false))
		must(t, got[1].Ack(false))
		must(t, ch1.Cancel(got[0].ConsumerTag, false))
		must(t, ch1.Close()) // 2..5 go back to the queue
		publishN(t, pch, "sac", 6, 8)
		expectBodies(t, d2, 2, 3, 4, 5, 6, 7)
		q, err = pch.QueueDeclarePassive("sac", true, false, false, false, sacArgs)
		must(t, err)
		if q.Consumers != 1 {
			t.Fatalf("consumer_count after the first left: %d, want 1", q.Consumers)
		}
	})
}

// Across gateways: the consumer registered first, on gateway A, is active; the one on B
// gets nothing until A's connection closes, then A's unacked messages and the rest.
func TestSingleActiveConsumerAcrossGateways(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		a := k.start(t)
		b := k.second(t, a)
		pch := channel091(t, dial(t, a))
		_, err := pch.QueueDeclare("sac2", true, false, false, false, sacArgs)
		must(t, err)
		ca, _, da := sacConsume(t, a, "sac2")
		_, _, db := sacConsume(t, b, "sac2")
		bch := channel091(t, dial(t, b))
		q, err := bch.QueueDeclarePassive("sac2", true, false, false, false, sacArgs)
		must(t, err)
		if q.Consumers != 2 {
			t.Fatalf("consumer_count on B %d, want 2", q.Consumers)
		}
		publishN(t, pch, "sac2", 0, 4)
		got := expectBodies(t, da, 0, 1, 2, 3)
		none(t, db, time.Second)
		must(t, got[0].Ack(false))
		must(t, ca.Close())
		publishN(t, pch, "sac2", 4, 6)
		expectBodies(t, db, 1, 2, 3, 4, 5)
	})
}

// x-single-active-consumer as RabbitMQ checks it, and the combinations refused here.
func TestSingleActiveConsumerArgs(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		c := dial(t, k.start(t))
		ch := channel091(t, c)
		if _, err := ch.QueueDeclare("sacv", true, false, false, false, amqp091.Table{"x-single-active-consumer": "yes"}); code(err) != 406 {
			t.Fatalf("declare with a string value: %v, want 406", err)
		}
		ch = channel091(t, c)
		_, err := ch.QueueDeclare("sacv", true, false, false, false, amqp091.Table{"x-single-active-consumer": false})
		must(t, err)
		if _, err := ch.QueueDeclare("sacv", true, false, false, false, sacArgs); code(err) != 406 {
			t.Fatalf("redeclare with true: %v, want 406 inequivalent arg", err)
		}
		ch = channel091(t, c)
		_, err = ch.QueueDeclare("sacq", true, false, false, false, sacArgs)
		must(t, err)
		if _, err := ch.QueueDeclare("sacq", true, false, false, false, nil); code(err) != 406 {
			t.Fatalf("redeclare without the argument: %v, want 406", err)
		}
		ch = channel091(t, c)
		if _, err := ch.Consume("sacq", "", false, true, false, false, nil); code(err) != 403 {
			t.Fatalf("exclusive consume on a SAC queue: %v, want 403", err)
		}
		ch = channel091(t, c)
		if _, _, err := ch.Get("sacq", false); code(err) != 406 || !strings.Contains(err.Error(), "x-single-active-consumer") {
			t.Fatalf("basic.get on a SAC queue: %v, want 406 naming the argument", err)
		}
		ch = channel091(t, c)
		_, err = ch.QueueDeclare("sacl", true, false, false, false, amqp091.Table{"x-single-active-consumer": true, "x-max-length": 5})
		if code(err) != 406 || !strings.Contains(err.Error(), "drop-head") {
			t.Fatalf("SAC with drop-head x-max-length: %v, want 406 naming it", err)
		}
		ch = channel091(t, c)
		_, err = ch.QueueDeclare("sacr", true, false, false, false, amqp091.Table{"x-single-active-consumer": true, "x-max-length": 5, "x-overflow": "reject-publish"})
		must(t, err)
	})
}
