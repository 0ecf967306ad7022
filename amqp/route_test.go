package amqp

import (
	"context"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// Vectors from RabbitMQ's routing_SUITE (topic exchange).
func TestTopicMatch(t *testing.T) {
	cases := []struct {
		pattern, key string
		want         bool
	}{
		{"a.b.c", "a.b.c", true}, {"a.*.c", "a.b.c", true}, {"a.*.c", "a..c", true},
		{"#", "", true}, {"#.#", "", true}, {"", "", true}, {"*", "", false},
		{"#", "a.b.c", true}, {"a.#", "a", true}, {"a.#", "a.b.c", true}, {"#.c", "a.b.c", true},
		{"a.#.c", "a.c", true}, {"a.#.c", "a.b.b.c", true}, {"a.#.c", "a.b.d", false},
		{"*.*", "a", false}, {"*.*", "a.b", true}, {"a.*", "a.b.c", false}, {"#.b.#", "a.b.c", true},
		{"a.b", "a.b.c", false}, {"*.#", "", false}, {"#.*", "a", true},
	}
	for _, c := range cases {
		if got := topicMatch(strings.Split(c.pattern, "."), strings.Split(c.key, ".")); got != c.want {
			t.Errorf("pattern %q key %q: %v, want %v", c.pattern, c.key, got, c.want)
		}
	}
}

func TestExchangeToExchangeAlternateAndCC(t *testing.T) {
	g := startGateway(t, "")
	ch := channel091(t, dial(t, g))
	must(t, ch.ExchangeDeclare("src", "topic", false, false, false, false, nil))
	must(t, ch.ExchangeDeclare("dst", "direct", false, false, false, false, nil))
	must(t, ch.ExchangeDeclare("ae", "fanout", false, false, false, false, nil))
	must(t, ch.ExchangeDeclare("withae", "direct", false, false, false, false, amqp091.Table{"alternate-exchange": "ae"}))
	for _, q := range []string{"e2e", "unrouted", "cc1", "cc2"} {
		declare(t, ch, q)
	}
	must(t, ch.ExchangeBind("dst", "k.#", "src", false, nil))
	must(t, ch.QueueBind("e2e", "k.x", "dst", false, nil))
	must(t, ch.ExchangeBind("src", "#", "dst", false, nil)) // a cycle: routing must end
	must(t, ch.QueueBind("unrouted", "", "ae", false, nil))
	must(t, ch.QueueBind("cc1", "one", "amq.direct", false, nil))
	must(t, ch.QueueBind("cc2", "two", "amq.direct", false, nil))
	must(t, ch.QueueBind("unrouted", "bcc", "amq.direct", false, nil))

	must(t, ch.Confirm(false))
	returns := ch.NotifyReturn(make(chan amqp091.Return, 1))
	pub := func(x, key string, h amqp091.Table, body string) {
		t.Helper()
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), x, key, true, false, amqp091.Publishing{Headers: h, Body: []byte(body)})
		must(t, err)
		if !dc.Wait() {
			t.Fatal("nack")
		}
	}
	pub("src", "k.x", nil, "via-dst")
	pub("withae", "nothing-bound", nil, "to-ae") // routed by the AE: not returned
	pub("amq.direct", "one", amqp091.Table{"CC": []any{"two"}, "BCC": []any{"bcc"}}, "cc")
	select {
	case r := <-returns:
		t.Fatalf("unexpected return %+v", r)
	default:
	}
	check := func(q, want string) {
		t.Helper()
		m, ok, err := ch.Get(q, true)
		if err != nil || !ok || string(m.Body) != want {
			t.Fatalf("%s: %q ok %v err %v, want %q", q, m.Body, ok, err, want)
		}
		if _, has := m.Headers["BCC"]; has {
			t.Fatalf("%s: BCC header delivered", q)
		}
	}
	check("e2e", "via-dst")
	check("unrouted", "to-ae")
	check("cc1", "cc")
	check("cc2", "cc")
	check("unrouted", "cc")

	must(t, ch.ExchangeUnbind("dst", "k.#", "src", false, nil))
	pub("src", "k.x", nil, "gone")
	select {
	case r := <-returns:
		if r.ReplyCode != 312 {
			t.Fatalf("return %+v", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no return after exchange.unbind")
	}
}
