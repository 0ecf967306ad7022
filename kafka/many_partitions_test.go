package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestManyPartitionsProduceConsumeCommit: 1,000 partitions (100 topics of
// 10), as a user with many small topics has. One idempotent producer's
// first and second record to every partition (requests of hundreds of
// partitions, each a new producer there) are all acknowledged at their
// offsets; a group consumer of every topic gets all of them, waiting on
// the one Fetch; one OffsetCommit of all 1,000 partitions is stored for
// every partition.
func TestManyPartitionsProduceConsumeCommit(t *testing.T) {
	addr := startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const topics, parts = 100, 10
	names := make([]string, topics)
	for i := range names {
		names[i] = fmt.Sprintf("many-%03d", i)
	}
	admCl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	if rs, err := adm.CreateTopics(ctx, parts, 1, nil, names...); err != nil || rs.Error() != nil {
		t.Fatal(err, rs.Error())
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for pass := range 2 {
		var rs []*kgo.Record
		for _, n := range names {
			for p := range int32(parts) {
				rs = append(rs, &kgo.Record{Topic: n, Partition: p, Value: []byte(fmt.Sprint(pass))})
			}
		}
		for _, r := range prod.ProduceSync(ctx, rs...) {
			if r.Err != nil {
				t.Fatalf("pass %d %s/%d: %v", pass, r.Record.Topic, r.Record.Partition, r.Err)
			}
			if r.Record.Offset != int64(pass) {
				t.Fatalf("pass %d %s/%d at offset %d", pass, r.Record.Topic, r.Record.Partition, r.Record.Offset)
			}
		}
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("many"), kgo.ConsumeTopics(names...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	got := map[string]int{}
	for n := 0; n < 2*topics*parts; {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", n, 2*topics*parts, err)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("%s/%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			got[fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)]++
			n++
		})
	}
	if len(got) != 2*topics*parts {
		t.Fatalf("%d distinct records, want %d", len(got), 2*topics*parts)
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	offs, err := adm.FetchOffsets(ctx, "many")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	offs.Each(func(o kadm.OffsetResponse) {
		n++
		if o.Err != nil || o.At != 2 {
			t.Errorf("%s/%d committed at %d (%v), want 2", o.Topic, o.Partition, o.At, o.Err)
		}
	})
	if n != topics*parts {
		t.Errorf("%d partitions committed, want %d", n, topics*parts)
	}
}
