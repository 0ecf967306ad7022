package kafka_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaAndMQTT: records a Kafka producer sends (LZ4, one batch, which
// the embedded backend keeps whole) reach an MQTT 5 subscriber in order,
// headers as user properties; an MQTT publish reaches a Kafka consumer.
func TestKafkaAndMQTT(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			addrs := startGatewayServing(t, backend, []string{"kafka", "mqtt"})
			suffix := fmt.Sprintf("%x", time.Now().UnixNano())
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			got := make(chan *paho.Publish, 100)
			conn, err := net.Dial("tcp", addrs["mqtt"])
			if err != nil {
				t.Fatal(err)
			}
			sub := paho.NewClient(paho.ClientConfig{ClientID: "cross-" + suffix, Conn: conn,
				OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
					got <- pr.Packet
					return true, nil
				}}})
			if _, err := sub.Connect(ctx, &paho.Connect{ClientID: "cross-" + suffix, CleanStart: true, KeepAlive: 30}); err != nil {
				t.Fatal(err)
			}
			defer sub.Disconnect(&paho.Disconnect{})
			if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "cross/k" + suffix, QoS: 1}}}); err != nil {
				t.Fatal(err)
			}

			prod, err := kgo.NewClient(kgo.SeedBrokers(addrs["kafka"]), kgo.ProducerBatchCompression(kgo.Lz4Compression()),
				kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(50*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer prod.Close()
			var recs []*kgo.Record
			for i := range 5 {
				recs = append(recs, &kgo.Record{Topic: "cross.k" + suffix, Key: []byte("k"), Value: []byte(fmt.Sprint("v", i)),
					Headers: []kgo.RecordHeader{{Key: "n", Value: []byte(fmt.Sprint(i))}}})
			}
			if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				select {
				case p := <-got:
					n := ""
					if p.Properties != nil {
						n = p.Properties.User.Get("n")
					}
					if string(p.Payload) != fmt.Sprint("v", i) || n != fmt.Sprint(i) || p.Topic != "cross/k"+suffix {
						t.Fatalf("MQTT message %d: topic %q payload %q n=%q", i, p.Topic, p.Payload, n)
					}
				case <-ctx.Done():
					t.Fatalf("MQTT subscriber got %d of 5 Kafka records", i)
				}
			}

			// Kafka transactions, as read_committed would see them: an
			// aborted one's record never reaches the MQTT subscriber, an open
			// one's only once committed, and no marker (a record on the Kafka
			// side, with an offset of its own) ever does.
			txp, err := kgo.NewClient(kgo.SeedBrokers(addrs["kafka"]), kgo.TransactionalID("cross-"+suffix),
				kgo.DefaultProduceTopic("cross.k"+suffix))
			if err != nil {
				t.Fatal(err)
			}
			defer txp.Close()
			txn := func(v string, end bool, commit bool) {
				t.Helper()
				if err := txp.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				if err := txp.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(v)}).FirstErr(); err != nil {
					t.Fatal(err)
				}
				if end {
					if err := txp.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
						t.Fatal(err)
					}
				}
			}
			txn("aborted-txn", true, false)
			txn("in-txn", false, false)
			select {
			case p := <-got:
				t.Fatalf("MQTT subscriber got %q while its Kafka transaction is open", p.Payload)
			case <-time.After(1500 * time.Millisecond):
			}
			if err := txp.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
			txn("after-txn", true, true)
			for _, want := range []string{"in-txn", "after-txn"} {
				select {
				case p := <-got:
					if string(p.Payload) != want {
						t.Fatalf("MQTT message after a Kafka transaction: %q, want %q", p.Payload, want)
					}
				case <-ctx.Done():
					t.Fatalf("MQTT subscriber did not get %q", want)
				}
			}

			// The way back has a minute of its own: on a loaded machine the
			// phases above can take most of the first.
			t.Logf("Kafka to MQTT, transactions included: %v", time.Since(start))
			ctx, cancel = context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cons, err := kgo.NewClient(kgo.SeedBrokers(addrs["kafka"]), kgo.ConsumeTopics("cross.m"+suffix),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation())
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Close()
			if _, err := sub.Publish(ctx, &paho.Publish{Topic: "cross/m" + suffix, QoS: 1, Payload: []byte("from mqtt")}); err != nil {
				t.Fatal(err)
			}
			acked := time.Now()
			for {
				fs := cons.PollFetches(ctx)
				if ctx.Err() != nil {
					t.Fatalf("Kafka consumer did not get the MQTT message %v after its PUBACK (fetch errors %v)", time.Since(acked), fs.Errors())
				}
				var done bool
				fs.EachRecord(func(r *kgo.Record) {
					if string(r.Value) != "from mqtt" || r.Offset != 0 {
						t.Fatalf("Kafka record %q at %d", r.Value, r.Offset)
					}
					done = true
				})
				if done {
					break
				}
			}
		})
	}
}
