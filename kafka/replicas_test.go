package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Two gateways on one backend share everything that matters to a client:
// records, committed offsets and idempotent producers' sequences.
func TestTwoGatewaysShareState(t *testing.T) {
	addrA, b := startGatewayBackend(t)
	addrB := serveOn(t, b)
	a, bcl := newClient(t, addrA), newClient(t, addrB)
	createTopic(t, a, "shared", 1)

	// An idempotent producer writes through A, then retries through B.
	init := kmsg.NewPtrInitProducerIDRequest()
	ir, err := init.RequestWith(testCtx(t), a)
	if err != nil || ir.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v %v", ir, err)
	}
	produce := func(cl *kgo.Client, seq int32, values ...string) int16 {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 5000
		req.Topics = []kmsg.ProduceRequestTopic{{Topic: "shared", Partitions: []kmsg.ProduceRequestTopicPartition{
			{Records: rawBatch(ir.ProducerID, ir.ProducerEpoch, seq, values...)},
		}}}
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	if code := produce(a, 0, "a", "b"); code != 0 {
		t.Fatalf("produce via A: %d", code)
	}
	time.Sleep(2 * seqFlushInterval)
	if code := produce(bcl, 0, "a", "b"); code != kerr.DuplicateSequenceNumber.Code {
		t.Fatalf("retry via B: code %d, want DUPLICATE_SEQUENCE_NUMBER", code)
	}
	if code := produce(bcl, 2, "c"); code != 0 {
		t.Fatalf("next batch via B: code %d", code)
	}

	// B serves what A wrote, at the same offsets.
	cons := newClient(t, addrB, kgo.ConsumeTopics("shared"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consume(t, cons, 3)
	for i, want := range []string{"a", "b", "c"} {
		if string(got[i].Value) != want || got[i].Offset != int64(i) {
			t.Fatalf("record %d: %q at %d", i, got[i].Value, got[i].Offset)
		}
	}

	// An offset committed through A is read through B.
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "shared", Partition: 0, At: 2, LeaderEpoch: -1})
	if _, err := kadm.NewClient(a).CommitOffsets(testCtx(t), "shared-group", offs); err != nil {
		t.Fatal(err)
	}
	fetched, err := kadm.NewClient(bcl).FetchOffsets(testCtx(t), "shared-group")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fetched.Lookup("shared", 0); !ok || o.At != 2 {
		t.Fatalf("offset via B: %+v", o)
	}

	// Each answers as one broker whose id is a function of its advertised
	// address alone, so replicas behind one address agree.
	for addr, cl := range map[string]*kgo.Client{addrA: a, addrB: bcl} {
		m, err := kadm.NewClient(cl).BrokerMetadata(testCtx(t))
		if err != nil || len(m.Brokers) != 1 || m.Brokers[0].NodeID != nodeIDFor(addr) || m.Controller != nodeIDFor(addr) {
			t.Fatalf("metadata of %s: %+v %v", addr, m, err)
		}
	}
}
