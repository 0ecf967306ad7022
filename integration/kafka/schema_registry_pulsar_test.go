package kafka_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// TestSchemaRegistryTypedPulsarTopic: an AVRO schema registered for
// {topic}-value through the gateway's registry is the Pulsar topic's
// schema; with kafka.schema_framing strip, records a Kafka producer sends
// in the Confluent wire format reach a native Pulsar consumer subscribed
// with that schema as plain Avro it decodes, while a Kafka consumer reads
// back the very bytes that were sent.
func TestSchemaRegistryTypedPulsarTopic(t *testing.T) {
	if os.Getenv("PULSAR_URL") == "" || os.Getenv("PULSAR_ADMIN_URL") == "" {
		t.Skip("PULSAR_URL and PULSAR_ADMIN_URL not set")
	}
	addrs := startGatewayServing(t, "pulsar", []string{"kafka", "schema_registry"}, "--kafka-schema-framing", "strip")
	topic := fmt.Sprintf("sr-typed-%x", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	createTopic(t, addrs["kafka"], topic, 1)

	const def = `{"type":"record","name":"Reading","namespace":"sensors","fields":[{"name":"device","type":"string"},{"name":"celsius","type":"double"}]}`
	reg, err := sr.NewClient(sr.URLs("http://" + addrs["schema_registry"]))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := reg.CreateSchema(ctx, topic+"-value", sr.Schema{Schema: def, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}

	// Pulsar's own registry has it, as its tools show it.
	resp, err := http.Get(os.Getenv("PULSAR_ADMIN_URL") + "/admin/v2/schemas/public/default/" + topic + "/schema")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ps struct{ Type, Data string }
	if err := json.Unmarshal(body, &ps); err != nil || ps.Type != "AVRO" || ps.Data != def {
		t.Fatalf("the Pulsar topic's schema: %d %s", resp.StatusCode, body)
	}

	type reading struct {
		Device  string  `avro:"device" json:"device"`
		Celsius float64 `avro:"celsius" json:"celsius"`
	}
	schema := avro.MustParse(def)
	var sent [][]byte
	kc := kclient(t, addrs["kafka"], kgo.DefaultProduceTopic(topic))
	defer kc.Close()
	for i := range 5 {
		payload, err := avro.Marshal(schema, reading{fmt.Sprintf("dev-%d", i), 20 + float64(i)/2})
		if err != nil {
			t.Fatal(err)
		}
		v := binary.BigEndian.AppendUint32([]byte{0}, uint32(ss.ID))
		v = append(v, payload...)
		sent = append(sent, v)
		if err := kc.ProduceSync(ctx, &kgo.Record{Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	// A Kafka consumer reads the framed bytes it was sent.
	kr := kclient(t, addrs["kafka"], kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer kr.Close()
	for got := 0; got < len(sent); {
		fs := kr.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !bytes.Equal(r.Value, sent[got]) {
				t.Fatalf("Kafka record %d: %x, want %x as sent", got, r.Value, sent[got])
			}
			if len(r.Headers) != 0 {
				t.Fatalf("Kafka record %d has headers %v", got, r.Headers)
			}
			got++
		})
	}

	// A native Pulsar consumer with the topic's schema decodes them.
	pc, err := pulsar.NewClient(pulsar.ClientOptions{URL: os.Getenv("PULSAR_URL"), Logger: plog.DefaultNopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cons, err := pc.Subscribe(pulsar.ConsumerOptions{Topic: "persistent://public/default/" + topic, SubscriptionName: "typed",
		Schema: pulsar.NewAvroSchema(def, nil), SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for i := range sent {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var r reading
		if err := m.GetSchemaValue(&r); err != nil {
			t.Fatalf("decoding message %d with the topic's schema: %v (payload %x)", i, err, m.Payload())
		}
		if want := (reading{fmt.Sprintf("dev-%d", i), 20 + float64(i)/2}); r != want {
			t.Fatalf("message %d: %+v, want %+v", i, r, want)
		}
		if id := m.Properties()["__kafka_schema_id"]; id != fmt.Sprint(ss.ID) {
			t.Fatalf("message %d: schema id property %q, want %d", i, id, ss.ID)
		}
		cons.Ack(m)
	}
}
