package amqp

import (
	"bytes"
	"context"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// A body larger than frame_max spans several body frames both ways.
func TestLargeBody(t *testing.T) {
	g := startGateway(t, "")
	ch := channel091(t, dial(t, g))
	declare(t, ch, "big")
	body := bytes.Repeat([]byte("0123456789"), 50_000) // 500 KB, frame_max 128 KiB
	must(t, ch.PublishWithContext(context.Background(), "", "big", false, false, amqp091.Publishing{Body: body}))
	m := recv(t, consume(t, ch, "big", true))
	if !bytes.Equal(m.Body, body) {
		t.Fatalf("body of %d bytes, want %d", len(m.Body), len(body))
	}
}

// Two consumers of one queue share its messages; with confirms, each publish is acked once.
func TestCompetingConsumersWithConfirms(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		pub := channel091(t, c)
		declare(t, pub, "work")
		must(t, pub.Confirm(false))
		confirms := pub.NotifyPublish(make(chan amqp091.Confirmation, 2000))
		c1, c2 := channel091(t, c), channel091(t, dial(t, g))
		must(t, c1.Qos(10, 0, false))
		must(t, c2.Qos(10, 0, false))
		d1, d2 := consume(t, c1, "work", false), consume(t, c2, "work", false)
		const n = 1000
		start := time.Now()
		for i := 0; i < n; i++ {
			publish(t, pub, "", "work", "job")
		}
		for i := 0; i < n; {
			select {
			case cf := <-confirms:
				if !cf.Ack {
					t.Fatalf("nack %d", cf.DeliveryTag)
				}
				i++
			case <-time.After(10 * time.Second):
				t.Fatalf("%d of %d confirms", i, n)
			}
		}
		t.Logf("%d confirmed publishes in %v", n, time.Since(start))
		got := map[int]int{}
		for i := 0; i < n; i++ {
			select {
			case m := <-d1:
				got[1]++
				m.Ack(false)
			case m := <-d2:
				got[2]++
				m.Ack(false)
			case <-time.After(10 * time.Second):
				t.Fatalf("%d of %d delivered: %v", i, n, got)
			}
		}
		if got[1] == 0 || got[2] == 0 {
			t.Fatalf("one consumer got nothing: %v", got)
		}
		t.Logf("split %v in %v", got, time.Since(start))
	})
}
