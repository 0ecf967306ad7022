package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// TestFranzGoSchemaRegistry: franz-go's pkg/sr against the gateway's
// registry, with kgo through the gateway, on each backend: register an
// AVRO schema, produce records its Serde encodes, evolve the schema
// compatibly (version 2, more records), be refused an incompatible one
// (409 under BACKWARD), and read everything back decoded by schema id.
func TestFranzGoSchemaRegistry(t *testing.T) {
	type orderV1 struct {
		ID int64 `avro:"id"`
	}
	type orderV2 struct {
		ID   int64  `avro:"id"`
		Note string `avro:"note"`
	}
	const (
		v1  = `{"type":"record","name":"Order","namespace":"franz","fields":[{"name":"id","type":"long"}]}`
		v2  = `{"type":"record","name":"Order","namespace":"franz","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}`
		bad = `{"type":"record","name":"Order","namespace":"franz","fields":[{"name":"id","type":"string"}]}`
	)
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			addrs := startGatewayServing(t, backend, []string{"kafka", "schema_registry"})
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			topic := fmt.Sprintf("franz-sr-%x", time.Now().UnixNano())
			subject := topic + "-value"
			createTopic(t, addrs["kafka"], topic, 1)
			reg, err := sr.NewClient(sr.URLs("http://" + addrs["schema_registry"]))
			if err != nil {
				t.Fatal(err)
			}
			serde := sr.NewSerde()
			register := func(def string, v any) int {
				t.Helper()
				ss, err := reg.CreateSchema(ctx, subject, sr.Schema{Schema: def, Type: sr.TypeAvro})
				if err != nil {
					t.Fatal(err)
				}
				schema := avro.MustParse(def)
				serde.Register(ss.ID, v,
					sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(schema, v) }),
					sr.DecodeFn(func(b []byte, v any) error { return avro.Unmarshal(schema, b, v) }))
				return ss.ID
			}
			id1 := register(v1, orderV1{})
			prod := kclient(t, addrs["kafka"], kgo.DefaultProduceTopic(topic))
			defer prod.Close()
			produce := func(v any) {
				t.Helper()
				b, err := serde.Encode(v)
				if err != nil {
					t.Fatal(err)
				}
				if err := prod.ProduceSync(ctx, &kgo.Record{Value: b}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 5 {
				produce(orderV1{ID: int64(i)})
			}
			id2 := register(v2, orderV2{})
			if id2 == id1 {
				t.Fatalf("version 2 has version 1's id %d", id1)
			}
			for i := 5; i < 10; i++ {
				produce(orderV2{ID: int64(i), Note: fmt.Sprint("n", i)})
			}
			_, err = reg.CreateSchema(ctx, subject, sr.Schema{Schema: bad, Type: sr.TypeAvro})
			if re := (*sr.ResponseError)(nil); !errors.As(err, &re) || re.ErrorCode != 409 {
				t.Fatalf("an incompatible schema: %v, want 409", err)
			}

			cons := kclient(t, addrs["kafka"], kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			defer cons.Close()
			for got := 0; got < 10; {
				fs := cons.PollFetches(ctx)
				if err := fs.Err0(); err != nil {
					t.Fatal(err)
				}
				fs.EachRecord(func(r *kgo.Record) {
					v, err := serde.DecodeNew(r.Value)
					if err != nil {
						t.Fatalf("record %d: %v", got, err)
					}
					switch o := v.(type) {
					case *orderV1:
						if got >= 5 || o.ID != int64(got) {
							t.Fatalf("record %d: %+v", got, o)
						}
					case *orderV2:
						if got < 5 || o.ID != int64(got) || o.Note != fmt.Sprint("n", got) {
							t.Fatalf("record %d: %+v", got, o)
						}
					default:
						t.Fatalf("record %d decoded as %T", got, v)
					}
					got++
				})
			}
		})
	}
}
