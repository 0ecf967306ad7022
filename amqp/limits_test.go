package amqp

import (
	"context"
	"fmt"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// publishConfirmed publishes with a confirm and reports whether it was acked.
func publishConfirmed(t *testing.T, ch *amqp091.Channel, exchange, key, body string) bool {
	t.Helper()
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), exchange, key, false, false, amqp091.Publishing{Body: []byte(body)})
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ok, err := dc.WaitContext(ctx)
	must(t, err)
	return ok
}

// getAll takes every ready message with basic.get (no-ack) and returns the bodies.
func getAll(t *testing.T, ch *amqp091.Channel, q string) []string {
	t.Helper()
	var out []string
	for {
		m, ok, err := ch.Get(q, true)
		must(t, err)
		if !ok {
			return out
		}
		out = append(out, string(m.Body))
	}
}

func messages(t *testing.T, ch *amqp091.Channel, q string) int {
	t.Helper()
	info, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
	must(t, err)
	return info.Messages
}

// x-max-length with the default overflow drops the oldest ready messages, dead-lettering
// them (reason maxlen) to the queue's dead-letter exchange.
func TestMaxLengthDropHead(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		ch := channel091(t, dial(t, g))
		must(t, ch.ExchangeDeclare("dlx", "fanout", false, false, false, false, nil))
		declare(t, ch, "dropped")
		must(t, ch.QueueBind("dropped", "", "dlx", false, nil))
		_, err := ch.QueueDeclare("ring", false, false, false, false, amqp091.Table{
			"x-max-length": int32(3), "x-dead-letter-exchange": "dlx"})
		must(t, err)
		must(t, ch.Confirm(false))
		for i := 1; i <= 5; i++ {
			if !publishConfirmed(t, ch, "", "ring", fmt.Sprint("m", i)) {
				t.Fatalf("m%d nacked: drop-head never refuses", i)
			}
		}
		if n := messages(t, ch, "ring"); n != 3 {
			t.Fatalf("message_count %d, want 3", n)
		}
		if got := fmt.Sprint(getAll(t, ch, "ring")); got != "[m3 m4 m5]" {
			t.Fatalf("queue holds %s, want the newest three", got)
		}
		d := consume(t, ch, "dropped", true)
		for _, want := range []string{"m1", "m2"} {
			m := recv(t, d)
			if string(m.Body) != want || m.Headers["x-first-death-reason"] != "maxlen" || m.Headers["x-first-death-queue"] != "ring" {
				t.Fatalf("dead letter %q headers %v, want %s with reason maxlen", m.Body, m.Headers, want)
			}
		}
	})
}

// Only ready messages count: deliveries awaiting an ack leave room.
func TestMaxLengthCountsReadyOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		ch := channel091(t, dial(t, g))
		_, err := ch.QueueDeclare("lim", false, false, false, false, amqp091.Table{"x-max-length": int64(2), "x-overflow": "reject-publish"})
		must(t, err)
		must(t, ch.Confirm(false))
		publishConfirmed(t, ch, "", "lim", "a")
		publishConfirmed(t, ch, "", "lim", "b")
		m, ok, err := ch.Get("lim", false) // "a" is now unacked, not ready
		if err != nil || !ok || string(m.Body) != "a" {
			t.Fatalf("get: %q %v %v", m.Body, ok, err)
		}
		if !publishConfirmed(t, ch, "", "lim", "c") {
			t.Fatal("publish nacked while one of two messages was unacked")
		}
		if publishConfirmed(t, ch, "", "lim", "d") {
			t.Fatal("publish acked into a full queue")
		}
		must(t, m.Ack(false))
		if got := fmt.Sprint(getAll(t, ch, "lim")); got != "[b c]" {
			t.Fatalf("queue holds %s, want [b c]", got)
		}
	})
}

// x-overflow reject-publish nacks publishes into a full queue (without confirms they are
// dropped silently); reject-publish-dlx also dead-letters them. A message routed to a full
// queue and to another one still reaches the other, and the publisher gets a nack.
func TestMaxLengthRejectPublish(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		must(t, ch.ExchangeDeclare("dlx", "fanout", false, false, false, false, nil))
		declare(t, ch, "dead")
		must(t, ch.QueueBind("dead", "", "dlx", false, nil))
		_, err := ch.QueueDeclare("full", false, false, false, false, amqp091.Table{"x-max-length": int32(1), "x-overflow": "reject-publish"})
		must(t, err)
		_, err = ch.QueueDeclare("fulldlx", false, false, false, false, amqp091.Table{
			"x-max-length-bytes": int32(5), "x-overflow": "reject-publish-dlx", "x-dead-letter-exchange": "dlx"})
		must(t, err)
		declare(t, ch, "other")
		must(t, ch.ExchangeDeclare("fan", "fanout", false, false, false, false, nil))
		must(t, ch.QueueBind("full", "", "fan", false, nil))
		must(t, ch.QueueBind("other", "", "fan", false, nil))

		// Without confirms: the second message is dropped, the channel stays open.
		publish(t, ch, "", "full", "first")
		publish(t, ch, "", "full", "second")
		if n := messages(t, ch, "full"); n != 1 {
			t.Fatalf("message_count %d, want 1", n)
		}
		must(t, ch.Confirm(false))
		if publishConfirmed(t, ch, "", "full", "third") {
			t.Fatal("publish to a full reject-publish queue acked")
		}
		if publishConfirmed(t, ch, "fan", "", "both") {
			t.Fatal("publish routed to a full queue acked")
		}
		if got := fmt.Sprint(getAll(t, ch, "full")); got != "[first]" {
			t.Fatalf("full queue holds %s", got)
		}
		if got := fmt.Sprint(getAll(t, ch, "other")); got != "[both]" {
			t.Fatalf("other queue holds %s, want the message the full queue refused", got)
		}

		if !publishConfirmed(t, ch, "", "fulldlx", "12345") {
			t.Fatal("five bytes into a five-byte queue nacked")
		}
		if publishConfirmed(t, ch, "", "fulldlx", "x") {
			t.Fatal("publish past x-max-length-bytes acked")
		}
		m := recv(t, consume(t, ch, "dead", true))
		if string(m.Body) != "x" || m.Headers["x-first-death-reason"] != "maxlen" {
			t.Fatalf("dead letter %q %v, want the refused message with reason maxlen", m.Body, m.Headers)
		}
		if got := fmt.Sprint(getAll(t, ch, "fulldlx")); got != "[12345]" {
			t.Fatalf("fulldlx holds %s", got)
		}
	})
}

func TestQueueArgValidation(t *testing.T) {
	g := startGateway(t, "")
	c := dial(t, g)
	for _, args := range []amqp091.Table{
		{"x-max-length": int32(-1)},
		{"x-max-length-bytes": "ten"},
		{"x-overflow": "drop-tail"},
		{"x-expires": int32(0)},
		{"x-max-priority": int32(256)},
	} {
		ch := channel091(t, c)
		if _, err := ch.QueueDeclare("badargs", false, false, false, false, args); code(err) != 406 {
			t.Errorf("declare with %v: %v, want 406", args, err)
		}
	}
	ch := channel091(t, c)
	if _, err := ch.QueueDeclarePassive("badargs", false, false, false, false, nil); code(err) != 404 {
		t.Fatalf("queue declared despite bad arguments: %v", err)
	}
}

// x-max-length counts what every gateway publishes: a drop-head queue fed
// through two gateways keeps the newest x-max-length, and a reject-publish
// queue filled through one refuses through the other.
func TestMaxLengthAcrossGateways(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		if k.kind != "pulsar" {
			t.Skip("one gateway per embedded store")
		}
		g1 := k.start(t)
		g2 := k.second(t, g1)
		ch1, ch2 := channel091(t, dial(t, g1)), channel091(t, dial(t, g2))
		_, err := ch1.QueueDeclare("ring-across", false, false, false, false, amqp091.Table{"x-max-length": int32(10)})
		must(t, err)
		_, err = ch1.QueueDeclare("full-across", false, false, false, false, amqp091.Table{"x-max-length": int32(10), "x-overflow": "reject-publish"})
		must(t, err)
		must(t, ch1.Confirm(false))
		must(t, ch2.Confirm(false))
		chs := []*amqp091.Channel{ch1, ch2}

		for i := range 30 {
			if !publishConfirmed(t, chs[i%2], "", "ring-across", fmt.Sprintf("m%02d", i)) {
				t.Fatalf("m%02d nacked: drop-head never refuses", i)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for n := messages(t, ch2, "ring-across"); n != 10; n = messages(t, ch2, "ring-across") {
			if time.Now().After(deadline) {
				t.Fatalf("message_count %d after 30 publishes through two gateways, want 10", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		want := "[m20 m21 m22 m23 m24 m25 m26 m27 m28 m29]"
		if got := fmt.Sprint(getAll(t, ch1, "ring-across")); got != want {
			t.Fatalf("queue holds %s, want the newest ten %s", got, want)
		}

		for i := range 5 {
			for j, ch := range chs {
				if !publishConfirmed(t, ch, "", "full-across", fmt.Sprintf("f%d-%d", j, i)) {
					t.Fatalf("publish %d through gateway %d nacked with room left", i, j+1)
				}
			}
		}
		time.Sleep(4 * lengthRefresh) // the bound on seeing the other gateway's publishes
		for j, ch := range chs {
			if publishConfirmed(t, ch, "", "full-across", "over") {
				t.Fatalf("publish through gateway %d acked into a queue the two filled", j+1)
			}
		}
		if n := messages(t, ch1, "full-across"); n != 10 {
			t.Fatalf("message_count %d, want 10", n)
		}
	})
}
