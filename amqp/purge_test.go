package amqp

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// queue.purge removes ready messages only: deliveries awaiting an ack stay with their
// consumer, count nothing in purge-ok, and come back when requeued.
func TestPurgeKeepsUnacked(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		c := dial(t, g)
		ch := channel091(t, c)
		declare(t, ch, "pg")
		must(t, ch.Confirm(false))
		for i := 1; i <= 6; i++ {
			publishConfirmed(t, ch, "", "pg", fmt.Sprint("m", i))
		}
		cch := channel091(t, c)
		must(t, cch.Qos(2, 0, false))
		d := consume(t, cch, "pg", false)
		a, b := recv(t, d), recv(t, d)
		none(t, d, 100*time.Millisecond) // window full; the rest is ready (some buffered)

		n, err := ch.QueuePurge("pg", false)
		must(t, err)
		if n != 4 {
			t.Fatalf("purge-ok message_count %d, want 4 (ready only)", n)
		}
		if got := messages(t, ch, "pg"); got != 0 {
			t.Fatalf("%d ready after purge", got)
		}
		// The unacked two go back to the queue and are delivered again.
		must(t, a.Nack(false, true))
		must(t, b.Nack(false, true))
		var again []string
		for range 2 {
			m := recv(t, d)
			if !m.Redelivered {
				t.Fatalf("%q not marked redelivered", m.Body)
			}
			again = append(again, string(m.Body))
			must(t, m.Ack(false))
		}
		sort.Strings(again)
		if fmt.Sprint(again) != "[m1 m2]" {
			t.Fatalf("redelivered %v, want the two unacked messages", again)
		}
		none(t, d, 200*time.Millisecond)
	})
}
