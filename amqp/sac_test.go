package amqp

import (
	"strings"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// x-single-active-consumer is refused, not accepted and ignored (see checkQueueArgs for
// why): true is 406 and declares nothing; a value that is not a bool is 406 as in
// RabbitMQ; false, the default, is accepted and compared on redeclare like RabbitMQ's
// other queue arguments.
func TestSingleActiveConsumerRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		c := dial(t, k.start(t))
		ch := channel091(t, c)
		_, err := ch.QueueDeclare("sac", true, false, false, false, amqp091.Table{"x-single-active-consumer": true})
		if code(err) != 406 || !strings.Contains(err.Error(), "x-single-active-consumer") {
			t.Fatalf("declare with x-single-active-consumer true: %v, want 406 naming the argument", err)
		}
		ch = channel091(t, c)
		if _, err := ch.QueueDeclarePassive("sac", false, false, false, false, nil); code(err) != 404 {
			t.Fatalf("queue declared despite the refusal: %v", err)
		}
		ch = channel091(t, c)
		if _, err := ch.QueueDeclare("sac", true, false, false, false, amqp091.Table{"x-single-active-consumer": "yes"}); code(err) != 406 {
			t.Fatalf("declare with a string value: %v, want 406", err)
		}
		ch = channel091(t, c)
		_, err = ch.QueueDeclare("sac", true, false, false, false, amqp091.Table{"x-single-active-consumer": false})
		must(t, err)
		if _, err := ch.QueueDeclare("sac", true, false, false, false, nil); code(err) != 406 {
			t.Fatalf("redeclare without the argument: %v, want 406 inequivalent arg", err)
		}
		ch = channel091(t, c)
		_, err = ch.QueueDeclare("sac", true, false, false, false, amqp091.Table{"x-single-active-consumer": false})
		must(t, err)
	})
}
