package amqp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
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

// Direct reply-to across gateways on one Pulsar: a reply published through any gateway
// reaches the requester, whichever gateway it is connected to, as on one RabbitMQ node.
func TestDirectReplyToAcrossGateways(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		if k.kind != "pulsar" {
			t.Skip("one gateway per embedded store: its replies stay in its memory")
		}
		a := k.start(t)
		b := k.second(t, a)

		// A request from requester's gateway, answered through server's.
		rpc := func(t *testing.T, requester, server *gateway, queue string) {
			t.Helper()
			srv := channel091(t, dial(t, server))
			declare(t, srv, queue)
			requests := consume(t, srv, queue, true)
			cli := channel091(t, dial(t, requester))
			declare(t, cli, queue)
			replies, err := cli.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
			must(t, err)
			must(t, cli.PublishWithContext(context.Background(), "", queue, false, false, amqp091.Publishing{
				ReplyTo: "amq.rabbitmq.reply-to", CorrelationId: "c-" + queue, Body: []byte("ping")}))
			req := recv(t, requests)
			must(t, srv.PublishWithContext(context.Background(), "", req.ReplyTo, false, false, amqp091.Publishing{
				CorrelationId: req.CorrelationId, ContentType: "text/plain",
				Headers: amqp091.Table{"n": int32(7), "s": "x"}, Body: []byte("pong")}))
			m := recv(t, replies)
			if string(m.Body) != "pong" || m.CorrelationId != "c-"+queue || m.RoutingKey != req.ReplyTo || m.Exchange != "" ||
				m.ContentType != "text/plain" || m.Headers["n"] != int32(7) || m.Headers["s"] != "x" {
				t.Fatalf("reply %q %q via %q/%q, %q %v", m.Body, m.CorrelationId, m.Exchange, m.RoutingKey, m.ContentType, m.Headers)
			}
		}
		t.Run("A to B", func(t *testing.T) { rpc(t, a, b, "rpc-ab") })
		t.Run("B to A", func(t *testing.T) { rpc(t, b, a, "rpc-ba") })
		t.Run("same gateway", func(t *testing.T) { rpc(t, a, a, "rpc-aa") })

		t.Run("concurrent", func(t *testing.T) {
			// Requesters on each gateway, their server on the other one; every request
			// is answered once.
			const clients, calls = 3, 20
			serve := func(g *gateway, queue string) {
				ch := channel091(t, dial(t, g))
				declare(t, ch, queue)
				requests := consume(t, ch, queue, true)
				go func() {
					for req := range requests {
						ch.PublishWithContext(context.Background(), "", req.ReplyTo, false, false, amqp091.Publishing{
							CorrelationId: req.CorrelationId, Body: append([]byte("re:"), req.Body...)})
					}
				}()
			}
			serve(b, "rpc-many-ab")
			serve(a, "rpc-many-ba")
			errs := make(chan error, 2*clients)
			for i := 0; i < 2*clients; i++ {
				g, queue := a, "rpc-many-ab"
				if i%2 == 1 {
					g, queue = b, "rpc-many-ba"
				}
				ch := channel091(t, dial(t, g))
				declare(t, ch, queue)
				replies, err := ch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
				must(t, err)
				go func(i int) {
					want := map[string]bool{}
					for j := 0; j < calls; j++ {
						id := fmt.Sprintf("%d-%d", i, j)
						want[id] = true
						if err := ch.PublishWithContext(context.Background(), "", queue, false, false, amqp091.Publishing{
							ReplyTo: "amq.rabbitmq.reply-to", CorrelationId: id, Body: []byte(id)}); err != nil {
							errs <- err
							return
						}
					}
					timeout := time.After(20 * time.Second)
					for len(want) > 0 {
						select {
						case m := <-replies:
							if !want[m.CorrelationId] || string(m.Body) != "re:"+m.CorrelationId {
								errs <- fmt.Errorf("client %d: unexpected reply %q %q", i, m.CorrelationId, m.Body)
								return
							}
							delete(want, m.CorrelationId)
						case <-timeout:
							errs <- fmt.Errorf("client %d: %d replies missing", i, len(want))
							return
						}
					}
					errs <- nil
				}(i)
			}
			for i := 0; i < 2*clients; i++ {
				must(t, <-errs)
			}
		})

		t.Run("mandatory", func(t *testing.T) {
			// A reply is routed whether or not its requester is still there: confirmed,
			// never returned (RabbitMQ's direct-reply-to.md), through either gateway.
			cli := channel091(t, dial(t, a))
			replies, err := cli.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
			must(t, err)
			declare(t, cli, "rpc-mand")
			srv := channel091(t, dial(t, b))
			declare(t, srv, "rpc-mand")
			requests := consume(t, srv, "rpc-mand", true)
			must(t, cli.PublishWithContext(context.Background(), "", "rpc-mand", false, false, amqp091.Publishing{
				ReplyTo: "amq.rabbitmq.reply-to", Body: []byte("ping")}))
			name := recv(t, requests).ReplyTo
			// The replier's gateway answers a passive declare of the name.
			if q, err := srv.QueueDeclarePassive(name, false, false, false, false, nil); err != nil || q.Consumers != 1 {
				t.Fatalf("declare of another gateway's reply name: %+v %v", q, err)
			}
			must(t, srv.Confirm(false))
			confirms := srv.NotifyPublish(make(chan amqp091.Confirmation, 10))
			returns := srv.NotifyReturn(make(chan amqp091.Return, 10))
			reply := func(body string) {
				t.Helper()
				must(t, srv.PublishWithContext(context.Background(), "", name, true, false, amqp091.Publishing{Body: []byte(body)}))
				select {
				case cf := <-confirms:
					if !cf.Ack {
						t.Fatalf("reply %s nacked", body)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("reply %s: no confirm", body)
				}
			}
			reply("present")
			if m := recv(t, replies); string(m.Body) != "present" {
				t.Fatalf("got %q", m.Body)
			}
			must(t, cli.Close())
			reply("gone")
			select {
			case r := <-returns:
				t.Fatalf("reply returned: %+v", r)
			case <-time.After(300 * time.Millisecond):
			}
			declare(t, srv, "still-open")
		})

		t.Run("reply topic removed", func(t *testing.T) {
			// A gateway that stops deletes its reply topic. (The replier's gateway stops
			// first: its producer, still open, could bring the topic back on a broker that
			// auto-creates topics; see replyto.go.)
			topic := a.srv.replyTopic(a.srv.replyGW)
			check := k.open(t, testLogger(t))
			defer check.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := check.Admin().Topic(ctx, topic); err != nil {
				t.Fatalf("reply topic of a gateway with reply consumers: %v", err)
			}
			b.stop()
			a.stop()
			if _, err := check.Admin().Topic(ctx, topic); !errors.Is(err, bridge.ErrTopicNotFound) {
				t.Fatalf("reply topic of a stopped gateway: %v, want not found", err)
			}
		})
	})
}

// The reply topic of a gateway that crashed (it could not delete it) is
// deleted by the other gateways once the store says its owner is gone (at
// their second sweep after, so that repliers' producers to it have closed):
// no broker setting is needed for it to go.
func TestReplyTopicOfCrashedGateway(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		if k.kind != "pulsar" {
			t.Skip("one gateway per embedded store: no reply topic")
		}
		a := k.start(t)
		ch := channel091(t, dial(t, a))
		consume(t, ch, "amq.rabbitmq.reply-to", true)
		topic := a.srv.replyTopic(a.srv.replyGW)
		check := k.open(t, testLogger(t))
		defer check.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, err := check.Admin().Topic(ctx, topic); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("no reply topic for a gateway with a reply consumer: %v", err)
			}
		}
		a.backend.Close() // the crash: the store goes first, nothing is deleted
		a.stop()
		if _, err := check.Admin().Topic(ctx, topic); err != nil {
			t.Fatalf("the crashed gateway's reply topic should still be there: %v", err)
		}
		k.start(t, func(o *Options) { o.replySweep = 500 * time.Millisecond })
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			_, err := check.Admin().Topic(ctx, topic)
			if errors.Is(err, bridge.ErrTopicNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("reply topic of a crashed gateway after another started: %v, want not found", err)
			}
		}
	})
}
