package amqp

import (
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// An exclusive queue belongs to its connection whichever gateway another
// connection comes through (each gateway numbers its connections from 1,
// so the first connections of two gateways have the same local id), and it
// goes when its gateway dies: the store says so, no timer of ours.
func TestExclusiveQueueAcrossGateways(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g1 := k.start(t)
		g2 := k.second(t, g1)
		c1, c2 := dial(t, g1), dial(t, g2)
		ch1 := channel091(t, c1)
		_, err := ch1.QueueDeclare("excl-across", false, false, true, false, nil)
		must(t, err)
		publish(t, ch1, "", "excl-across", "kept for its owner")

		ch2 := channel091(t, c2)
		if _, err := ch2.Consume("excl-across", "", false, false, false, false, nil); code(err) != 405 {
			t.Fatalf("another gateway's connection consuming an exclusive queue: %v, want 405", err)
		}
		ch2 = channel091(t, c2)
		if _, err := ch2.QueueDeclarePassive("excl-across", false, false, false, false, nil); code(err) != 405 {
			t.Fatalf("passive declare from another gateway: %v, want 405", err)
		}
		ch2 = channel091(t, c2)
		if _, err := ch2.QueueDeclare("excl-across", false, false, true, false, nil); code(err) != 405 {
			t.Fatalf("exclusive declare from another gateway: %v, want 405", err)
		}
		// The owner still has it.
		d := consume(t, ch1, "excl-across", true)
		if m := recv(t, d); string(m.Body) != "kept for its owner" {
			t.Fatalf("owner got %q", m.Body)
		}
		if k.kind != "pulsar" {
			return // one process: the gateway's death is its restart (TestExclusiveQueueAfterCrash)
		}

		// g1 dies: its store connection ends before it can delete anything.
		g1.backend.Close()
		g1.stop()
		ch2 = channel091(t, c2)
		waitQueueGone(t, c2, "excl-across", 5*time.Second)
		// And the name is free: this connection declares it for itself.
		ch2 = channel091(t, c2)
		if _, err := ch2.QueueDeclare("excl-across", false, false, true, false, nil); err != nil {
			t.Fatalf("declaring the dead owner's queue: %v", err)
		}
	})
}

// A gateway that crashed (its store closed without its connections closing)
// leaves no exclusive queue behind after it restarts.
func TestExclusiveQueueAfterCrash(t *testing.T) {
	k := &kit{kind: "embedded", dir: t.TempDir(), vhost: "/"}
	g1 := k.start(t)
	c1 := dial(t, g1)
	ch1 := channel091(t, c1)
	_, err := ch1.QueueDeclare("excl-crash", false, false, true, false, nil)
	must(t, err)
	// The crash: the store goes first, so the queue is not deleted.
	g1.srv.Close()
	g1.backend.Close()
	g1.stop()

	g2 := k.start(t)
	c2 := dial(t, g2)
	waitQueueGone(t, c2, "excl-crash", 5*time.Second)
}

// waitQueueGone waits until a passive declare of name is 404.
func waitQueueGone(t *testing.T, c *amqp091.Connection, name string, wait time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ch := channel091(t, c)
		_, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
		if code(err) == 404 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("exclusive queue %s outlived its owner's gateway: %v", name, err)
		}
		if err == nil {
			ch.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An exclusive consumer keeps every other consumer out, on every gateway,
// until it is cancelled or its gateway dies.
func TestExclusiveConsumerAcrossGateways(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g1 := k.start(t)
		g2 := k.second(t, g1)
		c1, c2 := dial(t, g1), dial(t, g2)
		ch1 := channel091(t, c1)
		declare(t, ch1, "excl-consumer")
		d, err := ch1.Consume("excl-consumer", "only", true, true, false, false, nil)
		must(t, err)

		ch2 := channel091(t, c2)
		if _, err := ch2.Consume("excl-consumer", "", true, false, false, false, nil); code(err) != 403 {
			t.Fatalf("a consumer on another gateway beside an exclusive one: %v, want 403", err)
		}
		ch2 = channel091(t, c2)
		if _, err := ch2.Consume("excl-consumer", "", true, true, false, false, nil); code(err) != 403 {
			t.Fatalf("a second exclusive consumer on another gateway: %v, want 403", err)
		}
		ch2 = channel091(t, c2)
		publish(t, ch2, "", "excl-consumer", "to the exclusive one")
		if m := recv(t, d); string(m.Body) != "to the exclusive one" {
			t.Fatalf("exclusive consumer got %q", m.Body)
		}

		must(t, ch1.Cancel("only", false))
		deadline := time.Now().Add(5 * time.Second)
		for {
			ch2 = channel091(t, c2)
			_, err := ch2.Consume("excl-consumer", "after", true, false, false, false, nil)
			if err == nil {
				break
			}
			if code(err) != 403 || time.Now().After(deadline) {
				t.Fatalf("consuming after the exclusive consumer was cancelled: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if k.kind != "pulsar" {
			return
		}
		// A claim of a gateway that died goes with it.
		must(t, ch2.Cancel("after", false))
		g3 := k.start(t)
		c3 := dial(t, g3)
		ch3 := channel091(t, c3)
		_, err = ch3.Consume("excl-consumer", "dies", true, true, false, false, nil)
		must(t, err)
		ch2 = channel091(t, c2)
		if _, err := ch2.Consume("excl-consumer", "", true, false, false, false, nil); code(err) != 403 {
			t.Fatalf("beside a third gateway's exclusive consumer: %v, want 403", err)
		}
		g3.backend.Close()
		g3.stop()
		ch2 = channel091(t, c2)
		if _, err := ch2.Consume("excl-consumer", "", true, false, false, false, nil); err != nil {
			t.Fatalf("consuming after the exclusive consumer's gateway died: %v", err)
		}
	})
}
