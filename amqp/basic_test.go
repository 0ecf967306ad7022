package amqp

import (
	"context"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

func TestDefaultExchangeRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		q := declare(t, ch, "")
		if len(q.Name) < 9 || q.Name[:8] != "amq.gen-" {
			t.Fatalf("server-named queue %q", q.Name)
		}
		ts := time.Unix(1700000000, 0)
		must(t, ch.PublishWithContext(context.Background(), "", q.Name, false, false, amqp091.Publishing{
			ContentType: "text/plain", CorrelationId: "c1", MessageId: "m1", Timestamp: ts, DeliveryMode: 2, Priority: 3,
			Headers: amqp091.Table{"s": "str", "n": int32(7), "b": true}, Body: []byte("hello"),
		}))
		d := consume(t, ch, q.Name, false)
		m := recv(t, d)
		if string(m.Body) != "hello" || m.RoutingKey != q.Name || m.Exchange != "" || m.Redelivered {
			t.Fatalf("got %+v", m)
		}
		if m.ContentType != "text/plain" || m.CorrelationId != "c1" || m.MessageId != "m1" || !m.Timestamp.Equal(ts) ||
			m.DeliveryMode != 2 || m.Priority != 3 {
			t.Fatalf("properties %+v", m)
		}
		if m.Headers["s"] != "str" || m.Headers["n"] != int32(7) || m.Headers["b"] != true {
			t.Fatalf("headers %#v", m.Headers)
		}
		must(t, m.Ack(false))
	})
}

func TestExchangeTypes(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		must(t, ch.ExchangeDeclare("dx", "direct", true, false, false, false, nil))
		must(t, ch.ExchangeDeclare("fx", "fanout", true, false, false, false, nil))
		must(t, ch.ExchangeDeclare("tx", "topic", true, false, false, false, nil))
		must(t, ch.ExchangeDeclare("hx", "headers", true, false, false, false, nil))
		for _, q := range []string{"q1", "q2"} {
			declare(t, ch, q)
		}
		must(t, ch.QueueBind("q1", "red", "dx", false, nil))
		must(t, ch.QueueBind("q2", "blue", "dx", false, nil))
		must(t, ch.QueueBind("q1", "", "fx", false, nil))
		must(t, ch.QueueBind("q2", "", "fx", false, nil))
		must(t, ch.QueueBind("q1", "a.*.c", "tx", false, nil))
		must(t, ch.QueueBind("q2", "a.#", "tx", false, nil))
		must(t, ch.QueueBind("q1", "", "hx", false, amqp091.Table{"x-match": "all", "k": "v", "n": int32(1)}))
		must(t, ch.QueueBind("q2", "", "hx", false, amqp091.Table{"x-match": "any", "k": "v", "z": nil}))
		must(t, ch.QueueBind("q2", "amq", "amq.direct", false, nil))

		d1, d2 := consume(t, ch, "q1", true), consume(t, ch, "q2", true)
		expect := func(what string, in1, in2 bool) {
			t.Helper()
			if in1 {
				if m := recv(t, d1); string(m.Body) != what {
					t.Fatalf("q1 got %q, want %q", m.Body, what)
				}
			}
			if in2 {
				if m := recv(t, d2); string(m.Body) != what {
					t.Fatalf("q2 got %q, want %q", m.Body, what)
				}
			}
		}
		publish(t, ch, "dx", "red", "direct-red")
		expect("direct-red", true, false)
		publish(t, ch, "dx", "blue", "direct-blue")
		expect("direct-blue", false, true)
		publish(t, ch, "fx", "whatever", "fan")
		expect("fan", true, true)
		publish(t, ch, "tx", "a.b.c", "topic-abc")
		expect("topic-abc", true, true)
		publish(t, ch, "tx", "a", "topic-a")
		expect("topic-a", false, true)
		publish(t, ch, "tx", "b.b.c", "topic-none")
		must(t, ch.PublishWithContext(context.Background(), "hx", "", false, false, amqp091.Publishing{
			Headers: amqp091.Table{"k": "v", "n": int64(1)}, Body: []byte("headers-both")}))
		expect("headers-both", true, true)
		must(t, ch.PublishWithContext(context.Background(), "hx", "", false, false, amqp091.Publishing{
			Headers: amqp091.Table{"z": "anything"}, Body: []byte("headers-z")}))
		expect("headers-z", false, true)
		publish(t, ch, "amq.direct", "amq", "predeclared")
		expect("predeclared", false, true)
		// Nothing else for either queue (the unrouted topic-none among it): each waits a real while.
		none(t, d1, 100*time.Millisecond)
		none(t, d2, 100*time.Millisecond)

		must(t, ch.QueueUnbind("q2", "blue", "dx", nil))
		publish(t, ch, "dx", "blue", "unbound")
		none(t, d2, 200*time.Millisecond)
	})
}

// A second gateway on the same store (its own backend) sees the first one's exchanges and
// bindings, and routes through them.
func TestTopologyShared(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		if testing.Short() {
			t.Skip()
		}
		g := k.start(t)
		g2 := k.second(t, g)
		ch := channel091(t, dial(t, g))
		must(t, ch.ExchangeDeclare("shared", "fanout", true, false, false, false, nil))
		declare(t, ch, "sq")
		must(t, ch.QueueBind("sq", "", "shared", false, nil))
		var x exchangeRec
		var ok bool
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			x, ok = g2.srv.topo.exchange(g.vhost, "shared")
			qs := g2.srv.topo.route(g.vhost, "shared", x, "", nil)
			if ok && x.Type == "fanout" && len(qs) == 1 && qs[0] == "sq" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("second gateway sees %+v %v, routes to %v", x, ok, qs)
			}
		}
		ch2 := channel091(t, dial(t, g2))
		publish(t, ch2, "shared", "any", "via-g2")
		if m := recv(t, consume(t, ch, "sq", true)); string(m.Body) != "via-g2" {
			t.Fatalf("got %q", m.Body)
		}
	})
}

func TestConfirmsAndMandatoryReturn(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		must(t, ch.Confirm(false))
		confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 100))
		returns := ch.NotifyReturn(make(chan amqp091.Return, 10))
		declare(t, ch, "cq")
		for i := 0; i < 20; i++ {
			publish(t, ch, "", "cq", "m")
		}
		must(t, ch.PublishWithContext(context.Background(), "", "nowhere", true, false, amqp091.Publishing{Body: []byte("lost")}))
		publish(t, ch, "", "nowhere", "dropped silently")
		for i := uint64(1); i <= 22; i++ {
			select {
			case cf := <-confirms:
				if cf.DeliveryTag != i || !cf.Ack {
					t.Fatalf("confirm %+v, want ack of %d", cf, i)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no confirm %d", i)
			}
			if i == 21 {
				select {
				case r := <-returns:
					if r.ReplyCode != 312 || string(r.Body) != "lost" || r.RoutingKey != "nowhere" {
						t.Fatalf("return %+v", r)
					}
				default:
					t.Fatal("basic.return not before the ack of the mandatory publish")
				}
			}
		}
		q, err := ch.QueueDeclarePassive("cq", false, false, false, false, nil)
		must(t, err)
		if q.Messages != 20 {
			t.Fatalf("message count %d, want 20", q.Messages)
		}
	})
}

func TestPrefetch(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		declare(t, ch, "pq")
		for i := 0; i < 10; i++ {
			publish(t, ch, "", "pq", "m")
		}
		must(t, ch.Qos(3, 0, false))
		d := consume(t, ch, "pq", false)
		var got []amqp091.Delivery
		for i := 0; i < 3; i++ {
			got = append(got, recv(t, d))
		}
		none(t, d, 300*time.Millisecond)
		// declare-ok counts ready messages only.
		q, err := ch.QueueDeclarePassive("pq", false, false, false, false, nil)
		must(t, err)
		if q.Messages != 7 || q.Consumers != 1 {
			t.Fatalf("declare-ok %d messages %d consumers, want 7 and 1", q.Messages, q.Consumers)
		}
		must(t, got[2].Ack(true)) // multiple: all three
		for i := 0; i < 3; i++ {
			recv(t, d)
		}
		none(t, d, 200*time.Millisecond)
	})
}

func TestNackRequeueRedelivers(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		declare(t, ch, "nq")
		publish(t, ch, "", "nq", "again")
		d := consume(t, ch, "nq", false)
		m := recv(t, d)
		if m.Redelivered {
			t.Fatal("first delivery marked redelivered")
		}
		must(t, m.Nack(false, true))
		m = recv(t, d)
		if !m.Redelivered || string(m.Body) != "again" {
			t.Fatalf("redelivery %+v", m)
		}
		must(t, m.Reject(false)) // dropped
		none(t, d, 200*time.Millisecond)
		q, err := ch.QueueDeclarePassive("nq", false, false, false, false, nil)
		must(t, err)
		if q.Messages != 0 {
			t.Fatalf("%d messages left", q.Messages)
		}
	})
}

// Unacked deliveries go back to the queue when their channel closes.
func TestRequeueOnChannelClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		declare(t, ch, "rq")
		publish(t, ch, "", "rq", "x")
		recv(t, consume(t, ch, "rq", false))
		must(t, ch.Close())
		ch2 := channel091(t, c)
		m := recv(t, consume(t, ch2, "rq", false))
		if !m.Redelivered {
			t.Fatal("not marked redelivered")
		}
	})
}

func TestGetAndCancel(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		declare(t, ch, "gq")
		if _, ok, err := ch.Get("gq", false); err != nil || ok {
			t.Fatalf("get on empty queue: ok %v err %v", ok, err)
		}
		publish(t, ch, "", "gq", "one")
		publish(t, ch, "", "gq", "two")
		m, ok, err := ch.Get("gq", false)
		if err != nil || !ok || string(m.Body) != "one" || m.MessageCount != 1 {
			t.Fatalf("get: %q count %d ok %v err %v", m.Body, m.MessageCount, ok, err)
		}
		must(t, m.Ack(false))
		m, ok, err = ch.Get("gq", true)
		if err != nil || !ok || string(m.Body) != "two" {
			t.Fatalf("get: %q ok %v err %v", m.Body, ok, err)
		}
		must(t, ch.Close()) // its basic.get consumer goes, so only "mytag" could take "three"
		ch = channel091(t, c)
		_, err = ch.Consume("gq", "mytag", false, false, false, false, nil)
		must(t, err)
		must(t, ch.Cancel("mytag", false))
		publish(t, ch, "", "gq", "three")
		// amqp091 closes d on Cancel and drops later deliveries, so d proves nothing: "three"
		// must still be queued, not delivered to the cancelled consumer (unacked, not ready).
		var q amqp091.Queue
		for deadline := time.Now().Add(5 * time.Second); q.Messages != 1; time.Sleep(20 * time.Millisecond) {
			q, err = ch.QueueDeclarePassive("gq", false, false, false, false, nil)
			must(t, err)
			if time.Now().After(deadline) {
				t.Fatalf("%d ready after cancel and a publish, want 1", q.Messages)
			}
		}
		m, ok, err = ch.Get("gq", false)
		if err != nil || !ok || string(m.Body) != "three" || m.Redelivered {
			t.Fatalf("get after cancel: %q redelivered %v ok %v err %v, want \"three\"", m.Body, m.Redelivered, ok, err)
		}
	})
}

func TestDurableAcrossRestart(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		_, err := ch.QueueDeclare("dq", true, false, false, false, nil)
		must(t, err)
		must(t, ch.ExchangeDeclare("dx", "direct", true, false, false, false, nil))
		must(t, ch.QueueBind("dq", "k", "dx", false, nil))
		must(t, ch.Confirm(false))
		for _, b := range []string{"a", "b"} {
			dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "dx", "k", false, false, amqp091.Publishing{DeliveryMode: 2, Body: []byte(b)})
			must(t, err)
			if !dc.Wait() {
				t.Fatal("nacked")
			}
		}
		c.Close()
		g.stop()

		g = k.start(t)
		c = dial(t, g)
		ch = channel091(t, c)
		q, err := ch.QueueDeclare("dq", true, false, false, false, nil)
		must(t, err)
		if q.Messages != 2 {
			t.Fatalf("%d messages after restart, want 2", q.Messages)
		}
		publish(t, ch, "dx", "k", "c") // the binding survived too
		d := consume(t, ch, "dq", true)
		for _, want := range []string{"a", "b", "c"} {
			if m := recv(t, d); string(m.Body) != want {
				t.Fatalf("got %q, want %q", m.Body, want)
			}
		}
	})
}

// basic.qos global=true bounds the channel's consumers together; per consumer limits apply too.
func TestGlobalPrefetch(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		ch := channel091(t, dial(t, g))
		for _, q := range []string{"g1", "g2"} {
			declare(t, ch, q)
			for i := 0; i < 5; i++ {
				publish(t, ch, "", q, q)
			}
		}
		must(t, ch.Qos(3, 0, true))
		must(t, ch.Qos(2, 0, false))
		d1, d2 := consume(t, ch, "g1", false), consume(t, ch, "g2", false)
		// Everything that arrives within a real while: the per-consumer limits alone would
		// let 4 through, the channel's window 3.
		var got []amqp091.Delivery
		collect := func(wait time.Duration) {
			for deadline := time.After(wait); ; {
				select {
				case m := <-d1:
					got = append(got, m)
				case m := <-d2:
					got = append(got, m)
				case <-deadline:
					return
				}
			}
		}
		collect(time.Second)
		if len(got) != 3 {
			t.Fatalf("%d deliveries outstanding, want 3 (the channel's window)", len(got))
		}
		must(t, got[0].Ack(false))
		collect(time.Second)
		if len(got) != 4 {
			t.Fatalf("%d deliveries after one ack, want 4", len(got))
		}
	})
}
