package amqp

import (
	"context"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// Direct reply-to, as an RPC client and server use it.
func TestDirectReplyTo(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		client := channel091(t, dial(t, g))
		server := channel091(t, dial(t, g))
		declare(t, server, "rpc")
		requests := consume(t, server, "rpc", true)

		replies, err := client.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
		must(t, err)
		must(t, client.PublishWithContext(context.Background(), "", "rpc", false, false, amqp091.Publishing{
			ReplyTo: "amq.rabbitmq.reply-to", CorrelationId: "c1", Body: []byte("ping")}))
		req := recv(t, requests)
		if !strings.HasPrefix(req.ReplyTo, "amq.rabbitmq.reply-to.") {
			t.Fatalf("reply_to %q not rewritten to a routable name", req.ReplyTo)
		}
		// The name answers a passive declare while its consumer is there.
		if q, err := server.QueueDeclarePassive(req.ReplyTo, false, false, false, false, nil); err != nil || q.Consumers != 1 {
			t.Fatalf("declare of the reply name: %+v %v", q, err)
		}
		must(t, server.Confirm(false))
		if !publishConfirmed(t, server, "", req.ReplyTo, "pong") {
			t.Fatal("reply nacked")
		}
		m := recv(t, replies)
		if string(m.Body) != "pong" || m.RoutingKey != req.ReplyTo || m.Exchange != "" {
			t.Fatalf("reply %q via %q/%q", m.Body, m.Exchange, m.RoutingKey)
		}

		// Binding the pseudo-queue is refused.
		if err := server.QueueBind("amq.rabbitmq.reply-to", "k", "amq.direct", false, nil); code(err) != 403 {
			t.Fatalf("bind: %v, want 403", err)
		}
	})
}

func TestDirectReplyToErrors(t *testing.T) {
	g := startGateway(t, "")
	c := dial(t, g)
	ch := channel091(t, c)
	if _, err := ch.Consume("amq.rabbitmq.reply-to", "", false, false, false, false, nil); code(err) != 406 {
		t.Fatalf("acking reply consumer: %v, want 406", err)
	}
	ch = channel091(t, c)
	declare(t, ch, "rpc2")
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	err := ch.PublishWithContext(context.Background(), "", "rpc2", false, false, amqp091.Publishing{ReplyTo: "amq.rabbitmq.reply-to"})
	must(t, err)
	select {
	case e := <-closed:
		if e == nil || e.Code != 406 {
			t.Fatalf("request without a reply consumer closed the channel with %v, want 406", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("request without a reply consumer: channel not closed")
	}
	// A reply to a client that left is dropped without error.
	ch = channel091(t, c)
	publish(t, ch, "", "amq.rabbitmq.reply-to.gone", "late")
	declare(t, ch, "still-open")
}
