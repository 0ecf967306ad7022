package amqp

import (
	"context"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

func TestTTLAndDeadLetters(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		ch := channel091(t, dial(t, g))
		must(t, ch.ExchangeDeclare("dlx", "direct", false, false, false, false, nil))
		declare(t, ch, "dead")
		must(t, ch.QueueBind("dead", "dl", "dlx", false, nil))
		_, err := ch.QueueDeclare("live", false, false, false, false, amqp091.Table{
			"x-message-ttl": int32(100), "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dl"})
		must(t, err)
		declare(t, ch, "plain")

		must(t, ch.Confirm(false))
		pub := func(q, body, expiration string) {
			t.Helper()
			dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", q, false, false,
				amqp091.Publishing{Body: []byte(body), Expiration: expiration})
			must(t, err)
			dc.Wait()
		}
		pub("live", "expires", "")
		pub("plain", "expires-too", "50") // per-message expiration, no dead-letter exchange
		time.Sleep(250 * time.Millisecond)
		if _, ok, _ := ch.Get("live", true); ok {
			t.Fatal("expired message delivered")
		}
		if _, ok, _ := ch.Get("plain", true); ok {
			t.Fatal("message past its expiration delivered")
		}
		dead := consume(t, ch, "dead", true)
		m := recv(t, dead)
		if string(m.Body) != "expires" {
			t.Fatalf("dead letter %q", m.Body)
		}
		deaths, _ := m.Headers["x-death"].([]any)
		if len(deaths) != 1 {
			t.Fatalf("x-death %#v", m.Headers)
		}
		d := deaths[0].(amqp091.Table)
		if d["queue"] != "live" || d["reason"] != "expired" || d["count"] != int64(1) || m.Headers["x-first-death-reason"] != "expired" {
			t.Fatalf("x-death entry %#v", d)
		}

		// Rejected without requeue: dead-lettered too.
		_, err = ch.QueueDeclare("rej", false, false, false, false, amqp091.Table{"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dl"})
		must(t, err)
		pub("rej", "rejected", "")
		msgs := consume(t, ch, "rej", false)
		must(t, recv(t, msgs).Reject(false))
		got := recv(t, dead)
		if string(got.Body) != "rejected" {
			t.Fatalf("dead letter %q", got.Body)
		}
		if d := got.Headers["x-death"].([]any)[0].(amqp091.Table); d["reason"] != "rejected" || d["queue"] != "rej" {
			t.Fatalf("x-death %#v", d)
		}
	})
}
