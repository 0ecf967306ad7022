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
		// The declare is the queue's last use (a publish is none, as in
		// RabbitMQ): the expiry counts from before it was sent. Measured
		// from after the publish, a slow durable publish on a loaded
		// Pulsar made a correct expiry look early (CI: 248 ms).
		start := time.Now()
		_, err := ch.QueueDeclare("exp", false, false, false, false, args)
		must(t, err)
		publish(t, ch, "", "exp", "lost with the queue")
		waitGone(t, g, "exp", 10*time.Second)
		if d := time.Since(start); d < 295*time.Millisecond { // less the store clock's ms truncation
			t.Fatalf("expired %v after its declare, before its 300ms", d)
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

// exists reports whether gateway g knows the queue.
func exists(g *gateway, name string) bool {
	_, ok := g.srv.topo.queue(g.vhost, name)
	return ok
}

// goneWithin waits until the queue is gone on every gateway and checks when, counted from
// the last use: not before x-expires less a little (clocks in milliseconds, the use's own
// round trip), not after x-expires, its slack and room for a loaded machine: on Pulsar the
// check of the subscription's consumers and the delete are admin calls to a broker that, in
// the full test run, serves every package at once (CI34 saw 6.7 s for a 1.5 s x-expires).
func goneWithin(t *testing.T, k *kit, lastUse time.Time, expires time.Duration, gs ...*gateway) {
	t.Helper()
	for _, g := range gs {
		waitGone(t, g, "exp", 15*time.Second)
	}
	d := time.Since(lastUse)
	if d < expires-100*time.Millisecond {
		t.Fatalf("gone %v after its last use, before x-expires %v", d, expires)
	}
	room := 1500 * time.Millisecond
	if k.kind == "pulsar" {
		room = 8 * time.Second
	}
	if limit := expires + expires/10 + room; d > limit {
		t.Fatalf("gone %v after its last use, later than %v", d, limit)
	}
	t.Logf("gone %v after its last use (x-expires %v)", d, expires)
}

// A queue declared through one gateway and used only through another (basic.get on an
// empty queue is use) is kept while used, and goes on both once unused, as on one node.
func TestQueueExpiresUsedElsewhere(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		a := k.start(t)
		b := k.second(t, a)
		cha := channel091(t, dial(t, a))
		_, err := cha.QueueDeclare("exp", false, false, false, false, amqp091.Table{"x-expires": int32(1500)})
		must(t, err)
		chb := channel091(t, dial(t, b))
		var last time.Time
		for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
			_, _, err := chb.Get("exp", true)
			if err != nil {
				t.Fatalf("basic.get through the other gateway, %v after declare: %v", time.Since(end.Add(-4*time.Second)), err)
			}
			last = time.Now()
			if !exists(a, "exp") {
				t.Fatal("queue in use through the other gateway deleted")
			}
		}
		goneWithin(t, k, last, 1500*time.Millisecond, a, b)
	})
}

// A consumer on another gateway keeps the queue; its leaving starts the timer everywhere.
func TestQueueExpiresConsumerElsewhere(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		a := k.start(t)
		b := k.second(t, a)
		cha := channel091(t, dial(t, a))
		_, err := cha.QueueDeclare("exp", false, false, false, false, amqp091.Table{"x-expires": int32(1500)})
		must(t, err)
		chb := channel091(t, dial(t, b))
		_, err = chb.Consume("exp", "t", false, false, false, false, nil)
		must(t, err)
		time.Sleep(4 * time.Second)
		if !exists(a, "exp") || !exists(b, "exp") {
			t.Fatal("queue with a consumer on another gateway deleted")
		}
		must(t, chb.Cancel("t", false))
		goneWithin(t, k, time.Now(), 1500*time.Millisecond, a, b)
	})
}

// Restarts. Embedded (one gateway, a node restart): RabbitMQ restarts a durable queue's
// lease when the node starts, so a queue unused for longer than x-expires while the
// gateway was down is there when it starts and goes x-expires later. Pulsar (gateways
// restarted one by one, another running throughout): the restarted gateway counts from
// the queue's last use, not from its own start.
func TestQueueExpiresRestart(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		if k.kind == "embedded" {
			g := k.start(t)
			ch := channel091(t, dial(t, g))
			_, err := ch.QueueDeclare("exp", true, false, false, false, amqp091.Table{"x-expires": int32(1500)})
			must(t, err)
			g.stop()
			time.Sleep(2 * time.Second)
			g = k.start(t)
			started := time.Now()
			if !exists(g, "exp") {
				t.Fatal("queue gone at the node's start: its lease restarts then")
			}
			goneWithin(t, k, started, 1500*time.Millisecond, g)
			return
		}
		a := k.start(t)
		b := k.second(t, a)
		ch := channel091(t, dial(t, a))
		_, err := ch.QueueDeclare("exp", true, false, false, false, amqp091.Table{"x-expires": int32(4000)})
		must(t, err)
		declared := time.Now()
		time.Sleep(3 * time.Second)
		a.stop()
		a = k.start(t)
		b.stop()
		if time.Since(declared) < 3900*time.Millisecond && !exists(a, "exp") {
			t.Fatal("queue gone before x-expires")
		}
		goneWithin(t, k, declared, 4000*time.Millisecond, a)
	})
}
