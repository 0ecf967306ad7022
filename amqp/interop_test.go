package amqp

import (
	"context"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// What AMQP publishes to queue q is topic q to every other protocol (key = routing key,
// string headers = properties), and what Kafka, MQTT or a native Pulsar client write to
// topic q is consumable from AMQP queue q, properties as string headers. It runs in vhost
// "/" (public/default), with a unique queue name on a shared broker.
func TestCrossProtocol(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		name := "xq"
		if k.kind == "pulsar" {
			name += "-" + k.vhost
		}
		root := *k
		root.vhost = "/"
		g := root.start(t)
		ns, _ := g.srv.namespace("/")
		if k.kind == "pulsar" && ns != "public/default" {
			t.Fatalf("vhost / is %s", ns)
		}
		topic := "persistent://" + ns + "/" + name
		ch := channel091(t, dial(t, g))
		declare(t, ch, name)
		must(t, ch.Confirm(false))
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", name, false, false, amqp091.Publishing{
			ContentType: "text/plain", Headers: amqp091.Table{"h": "v", "n": int32(5)}, Body: []byte("from-amqp")})
		must(t, err)
		if !dc.Wait() {
			t.Fatal("nacked")
		}

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := g.backend.CreateReader(ctx, bridge.ReaderOptions{Topic: topic, Start: bridge.StartEarliest()})
		must(t, err)
		defer r.Close()
		m, err := r.Next(ctx)
		must(t, err)
		if string(m.Value) != "from-amqp" || string(m.Key) != name || m.Properties["h"] != "v" ||
			m.Properties["amqp.content-type"] != "text/plain" {
			t.Fatalf("reader sees key %q value %q properties %v", m.Key, m.Value, m.Properties)
		}
		if _, ok := m.Properties["n"]; ok {
			t.Fatalf("typed header as a plain property: %v", m.Properties)
		}

		p, err := g.backend.CreateProducer(ctx, bridge.ProducerOptions{Topic: topic})
		must(t, err)
		defer p.Close()
		_, err = p.Send(ctx, &bridge.OutMessage{Key: []byte("k1"), Value: []byte("from-pulsar"), Properties: map[string]string{"origin": "kafka"}})
		must(t, err)
		d := consume(t, ch, name, false)
		if got := recv(t, d); string(got.Body) != "from-amqp" {
			t.Fatalf("first delivery %q", got.Body)
		}
		got := recv(t, d)
		if string(got.Body) != "from-pulsar" || got.Headers["origin"] != "kafka" || got.Exchange != "" || got.RoutingKey != "k1" {
			t.Fatalf("delivery %q exchange %q key %q headers %v", got.Body, got.Exchange, got.RoutingKey, got.Headers)
		}
		must(t, got.Ack(false))
	})
}
