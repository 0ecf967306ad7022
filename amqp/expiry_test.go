package amqp

import (
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// waitGone polls (bounded) until the queue's record is gone.
func waitGone(t *testing.T, g *gateway, name string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		if _, ok := g.srv.topo.queue(g.vhost, name); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s not expired within %v", name, within)
		}
	}
}

// x-expires deletes a queue nobody uses; a consumer keeps it, and the timer starts again
// when the last one leaves.
func TestQueueExpires(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		args := amqp091.Table{"x-expires": int32(300)}
		_, err := ch.QueueDeclare("exp", false, false, false, false, args)
		must(t, err)
		publish(t, ch, "", "exp", "lost with the queue")
		start := time.Now()
		waitGone(t, g, "exp", 10*time.Second)
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Fatalf("expired after %v, before its 300ms", d)
		}
		if _, err := ch.QueueDeclarePassive("exp", false, false, false, false, nil); code(err) != 404 {
			t.Fatalf("expired queue still declared: %v", err)
		}

		ch = channel091(t, c)
		_, err = ch.QueueDeclare("kept", false, false, false, false, args)
		must(t, err)
		_, err = ch.Consume("kept", "t", false, false, false, false, nil)
		must(t, err)
		time.Sleep(900 * time.Millisecond) // three times x-expires, with a consumer
		if _, ok := g.srv.topo.queue(g.vhost, "kept"); !ok {
			t.Fatal("queue with a consumer expired")
		}
		must(t, ch.Cancel("t", false))
		waitGone(t, g, "kept", 10*time.Second)
	})
}
