package kafka_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestKafkaTransactionsNativePulsar: Kafka transactions through two
// gateways on one Pulsar with its transaction coordinator (kafka.transactions
// auto picks the store's transactions), as a native Pulsar application
// sees them: a Shared subscription and a Reader get neither an aborted
// record nor one of a transaction still open, get a committed one once it
// commits, and never get a marker. Kafka read_committed consumers and the
// end offsets they stop at agree.
func TestKafkaTransactionsNativePulsar(t *testing.T) {
	if os.Getenv("PULSAR_URL") == "" || os.Getenv("PULSAR_ADMIN_URL") == "" {
		t.Skip("PULSAR_URL and PULSAR_ADMIN_URL not set")
	}
	a := startGateway(t, "pulsar")
	b := startGateway(t, "pulsar")
	topic := fmt.Sprintf("txn-native-%x", time.Now().UnixNano())
	createTopic(t, a, topic, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	pc, err := pulsar.NewClient(pulsar.ClientOptions{URL: os.Getenv("PULSAR_URL"), Logger: plog.DefaultNopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ptopic := "persistent://public/default/" + topic
	cons, err := pc.Subscribe(pulsar.ConsumerOptions{Topic: ptopic, SubscriptionName: "native",
		Type: pulsar.Shared, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	// nextNative is the next message the consumer gets within d, or nil.
	nextNative := func(d time.Duration) pulsar.Message {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, d)
		defer rcancel()
		m, err := cons.Receive(rctx)
		if err != nil {
			return nil
		}
		cons.Ack(m)
		return m
	}

	txp := kclient(t, a, kgo.TransactionalID("native-"+topic), kgo.DefaultProduceTopic(topic))
	defer txp.Close()
	txn := func(v string, commit bool) {
		t.Helper()
		if err := txp.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txp.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := txp.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	plain := kclient(t, b, kgo.DefaultProduceTopic(topic))
	defer plain.Close()
	if err := plain.ProduceSync(ctx, &kgo.Record{Value: []byte("plain-1")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	txn("aborted", false)
	// Open, then committed through the other gateway: a client that
	// failed over ends there what it began here.
	if err := txp.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txp.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte("in-txn")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if m := nextNative(5 * time.Second); m == nil || string(m.Payload()) != "plain-1" {
		t.Fatalf("native consumer's first message: %v, want plain-1", payload(m))
	}
	if m := nextNative(2 * time.Second); m != nil {
		t.Fatalf("native consumer got %q while the transaction is open (or aborted)", m.Payload())
	}
	// Past the open transaction's record, read_committed stops before it.
	adm := kadm.NewClient(kclient(t, b))
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	open := ends[topic][0].Offset
	committedEnds, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if lso := committedEnds[topic][0].Offset; lso != 1 {
		t.Errorf("read_committed end offset with a transaction open after plain-1 and an aborted one: %d, want 1", lso)
	}
	t.Logf("end offset with the transaction open: %d", open)

	// Committed through gateway b, as after a failover (franz-go ends a
	// transaction where it began, so the EndTxn goes over the wire); the
	// producer's own EndTxn afterwards is a retry of one that is done.
	pid, epoch, err := txp.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "native-"+topic, pid, epoch, true
	other := kclient(t, b)
	var er *kmsg.EndTxnResponse
	for range 50 {
		if er, err = end.RequestWith(ctx, other); err == nil && er.ErrorCode != kerr.ConcurrentTransactions.Code &&
			er.ErrorCode != kerr.NotCoordinator.Code && er.ErrorCode != kerr.CoordinatorLoadInProgress.Code {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || er.ErrorCode != 0 {
		t.Fatalf("EndTxn through the other gateway: %v %+v", err, er)
	}
	if m := nextNative(10 * time.Second); m == nil || string(m.Payload()) != "in-txn" {
		t.Fatalf("native consumer after the commit through the other gateway: %v, want in-txn", payload(m))
	}
	if err := txp.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	txn("committed", true)
	got := []string{"in-txn"}
	for len(got) < 2 {
		m := nextNative(10 * time.Second)
		if m == nil {
			break
		}
		got = append(got, string(m.Payload()))
	}
	if m := nextNative(2 * time.Second); m != nil {
		got = append(got, string(m.Payload()))
	}
	if !slices.Equal(got, []string{"in-txn", "committed"}) {
		t.Errorf("native consumer after the commits got %q, want [in-txn committed] (no aborted record, no marker)", got)
	}

	// A Reader from the start, as a late native reader.
	rd, err := pc.CreateReader(pulsar.ReaderOptions{Topic: ptopic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var read []string
	for {
		rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
		m, err := rd.Next(rctx)
		rcancel()
		if err != nil {
			break
		}
		read = append(read, string(m.Payload()))
	}
	if !slices.Equal(read, []string{"plain-1", "in-txn", "committed"}) {
		t.Errorf("native reader from the start got %q, want [plain-1 in-txn committed]", read)
	}

	// Kafka consumers on both gateways: read_committed has the same three
	// and reaches the end offset it was told (Kafka Streams' restore
	// waits for exactly that).
	for _, addr := range []string{a, b} {
		kc := kclient(t, addr, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
		var vals []string
		var last int64 = -1
		deadline := time.Now().Add(15 * time.Second)
		for len(vals) < 3 && time.Now().Before(deadline) {
			pctx, pcancel := context.WithTimeout(ctx, time.Second)
			kc.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
				vals = append(vals, string(r.Value))
				last = r.Offset
			})
			pcancel()
		}
		kc.Close()
		if !slices.Equal(vals, []string{"plain-1", "in-txn", "committed"}) {
			t.Errorf("read_committed Kafka consumer on %s got %q", addr, vals)
		}
		ends, err := adm.ListCommittedOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if end := ends[topic][0].Offset; end != last+1 {
			t.Errorf("read_committed end offset %d, but the last record read is at %d", end, last)
		}
	}
}

func payload(m pulsar.Message) string {
	if m == nil {
		return "nothing"
	}
	return fmt.Sprintf("%q", m.Payload())
}
