package amqp

import (
	"context"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// stuckBackend's producers of topics containing "slow" take until unstuck
// (or their deadline), as a Pulsar lookup of a topic whose broker hangs
// does. It stands for the slowness only; everything else is the real store.
type stuckBackend struct {
	bridge.Backend
	entered chan struct{} // gets one value per stuck creation
	unstuck chan struct{}
}

func (b stuckBackend) CreateProducer(ctx context.Context, o bridge.ProducerOptions) (bridge.Producer, error) {
	if strings.Contains(o.Topic, "slow") {
		b.entered <- struct{}{}
		select {
		case <-b.unstuck:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.Backend.CreateProducer(ctx, o)
}

// A queue whose producer takes long to open delays only its own publishes:
// another connection declares, publishes to and consumes from another
// queue meanwhile, with confirms, as on RabbitMQ where queues are apart.
func TestSlowProducerBlocksOnlyItsQueue(t *testing.T) {
	eachBackend(t, testSlowProducerBlocksOnlyItsQueue)
}

func testSlowProducerBlocksOnlyItsQueue(t *testing.T, k *kit) {
	log := testLogger(t)
	b := stuckBackend{Backend: k.open(t, log), entered: make(chan struct{}, 4), unstuck: make(chan struct{})}
	g := serveGateway(t, b, log)
	if k.vhost != "/" {
		g.url += k.vhost
	}
	defer close(b.unstuck) // before the connections' and the gateway's clean-up

	slow := channel091(t, dial(t, g))
	declare(t, slow, "slow-q")
	publish(t, slow, "", "slow-q", "stuck")
	select {
	case <-b.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow queue's producer was never opened")
	}

	done := make(chan error, 1)
	go func() {
		c, err := amqp091.Dial(g.url)
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		fast, err := c.Channel()
		if err != nil {
			done <- err
			return
		}
		if _, err := fast.QueueDeclare("fast-q", false, false, false, false, nil); err != nil {
			done <- err
			return
		}
		if err := fast.Confirm(false); err != nil {
			done <- err
			return
		}
		conf, err := fast.PublishWithDeferredConfirmWithContext(context.Background(), "", "fast-q", false, false, amqp091.Publishing{Body: []byte("quick")})
		if err != nil {
			done <- err
			return
		}
		if ok, err := conf.WaitContext(context.Background()); err != nil || !ok {
			done <- err
			return
		}
		d, err := fast.Consume("fast-q", "", true, false, false, false, nil)
		if err != nil {
			done <- err
			return
		}
		if m := <-d; string(m.Body) != "quick" {
			t.Errorf("got %q", m.Body)
		}
		done <- nil
	}()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("another queue waited for the slow queue's producer")
	}
}
