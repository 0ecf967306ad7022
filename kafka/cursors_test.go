package kafka

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchWiderThanCursorCache: one consumer of more partitions than a
// connection keeps readers for gets every record. One Fetch holds the
// cursors of all its partitions, so making room must not wait for a cursor
// that same Fetch holds (it did, and the Fetch hung for good).
func TestFetchWiderThanCursorCache(t *testing.T) {
	addr := startGateway(t)
	const topic, parts = "wide", maxCursors + 40
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	createTopic(t, cl, topic, parts)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	producePartitionNumbers(ctx, t, cl, topic, parts)
	seen := map[int32]bool{}
	for _, r := range consume(t, cl, parts) {
		if string(r.Value) != strconv.Itoa(int(r.Partition)) || seen[r.Partition] {
			t.Fatalf("partition %d: record %q (seen before: %v)", r.Partition, r.Value, seen[r.Partition])
		}
		seen[r.Partition] = true
	}
}

// TestPipelinedFetchesCrossing: two Fetches in flight on one connection
// naming the same partitions in opposite orders both answer. Each holds the
// cursors it gathered until it answers, so waiting for the other's would
// deadlock the two (and the connection with them).
func TestPipelinedFetchesCrossing(t *testing.T) {
	addr := startGateway(t)
	const topic, parts = "crossing", 64
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	createTopic(t, cl, topic, parts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	producePartitionNumbers(ctx, t, cl, topic, parts)
	fetch := func(reverse bool) *kmsg.FetchRequest {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.SessionEpoch = -1, -1 // sessionless, as kafka-python
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 300, 1<<30, 1<<30
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		for i := range parts {
			p := int32(i)
			if reverse {
				p = parts - 1 - p
			}
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = p, 1<<20, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		return req
	}
	md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	br := cl.Broker(int(md.Brokers[0].NodeID))
	for round := range 10 {
		errs := make(chan error, 2)
		for _, reverse := range []bool{false, true} {
			go func() {
				resp, err := br.Request(ctx, fetch(reverse))
				if err == nil {
					if e := kerr.ErrorForCode(resp.(*kmsg.FetchResponse).ErrorCode); e != nil {
						err = e
					}
				}
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

// producePartitionNumbers writes one record to each partition, its number.
func producePartitionNumbers(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, parts int) {
	t.Helper()
	rs := make([]*kgo.Record, parts)
	for p := range rs {
		rs[p] = &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte(strconv.Itoa(p))}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}
