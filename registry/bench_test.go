package registry

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

// What a serializer and a deserializer cost at the registry, per backend:
// registering a new schema (a log append and its apply), fetching a schema
// by id (what a deserializer does once per id), and reading a subject's
// latest version (a read that first catches up with the log).
//
//	go test -run XXX -bench . ./registry/   (PULSAR_URL set: Pulsar too)
func BenchmarkRegistry(b *testing.B) {
	backends := map[string]func(b *testing.B) string{"embedded": func(b *testing.B) string { return serve(b, openEmbedded(b, "")) }}
	if os.Getenv("PULSAR_URL") != "" {
		backends["pulsar"] = func(b *testing.B) string { return serve(b, openPulsar(b)) }
	}
	for name, start := range backends {
		url := start(b)
		cl, err := sr.NewClient(sr.URLs(url))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		subj := unique("bench")
		b.Run(name+"/register", func(b *testing.B) {
			for i := range b.N {
				s := fmt.Sprintf(`{"type":"record","name":"B%d","fields":[]}`, i)
				if _, err := cl.CreateSchema(ctx, fmt.Sprintf("%s-%d", subj, i), avro(s)); err != nil {
					b.Fatal(err)
				}
			}
		})
		ss, err := cl.CreateSchema(ctx, subj+"-value", avro(orderV1))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/schema-by-id", func(b *testing.B) {
			for range b.N {
				if _, err := cl.SchemaByID(ctx, ss.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/latest-version", func(b *testing.B) {
			for range b.N {
				if _, err := cl.SchemaByVersion(ctx, subj+"-value", -1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
