package amqp

import (
	"context"
	"fmt"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// A priority queue delivers its ready messages highest priority first, publish order within
// one priority; a priority above x-max-priority counts as the maximum, none as 0.
func TestPriorityQueue(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		ch := channel091(t, dial(t, g))
		_, err := ch.QueueDeclare("prio", false, false, false, false, amqp091.Table{"x-max-priority": int32(10)})
		must(t, err)
		must(t, ch.Confirm(false))
		for _, p := range []int{1, 5, 3, 9, 0, -1, 200} {
			pub := amqp091.Publishing{Body: []byte(fmt.Sprint("p", p))}
			if p >= 0 {
				pub.Priority = uint8(p)
			} else {
				pub.Body = []byte("none")
			}
			dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "prio", false, false, pub)
			must(t, err)
			if !dc.Wait() {
				t.Fatal("nacked")
			}
		}
		must(t, ch.Qos(1, 0, false))
		d := consume(t, ch, "prio", false)
		var got []string
		for range 7 {
			m := recv(t, d)
			got = append(got, string(m.Body))
			must(t, m.Ack(false))
		}
		if fmt.Sprint(got) != "[p200 p9 p5 p3 p1 p0 none]" {
			t.Fatalf("delivered %v, want highest priority first", got)
		}
	})
}
