package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
)

// txnTargets are two gateways on one store (embedded; Pulsar, in both of
// its transaction modes, when PULSAR_URL is set) and, when KAFKA_BOOTSTRAP is set, real Kafka as the
// reference the same test must pass on.
func txnTargets(t *testing.T) map[string]func(t *testing.T) (a, b string) {
	out := map[string]func(t *testing.T) (string, string){
		"embedded": func(t *testing.T) (string, string) {
			addr, be := startGatewayBackend(t)
			return addr, serveOn(t, be)
		},
	}
	if os.Getenv("PULSAR_URL") != "" {
		// Pulsar's own transactions when its coordinator runs (the test
		// broker's does), and the markers the gateway writes without one.
		out["pulsar"] = func(t *testing.T) (string, string) { return serveOn(t, openPulsar(t)), serveOn(t, openPulsar(t)) }
		markers := func(o *Options) { o.Transactions = "markers" }
		out["pulsar-markers"] = func(t *testing.T) (string, string) {
			return serveWith(t, openPulsar(t), markers), serveWith(t, openPulsar(t), markers)
		}
	}
	if k := os.Getenv("KAFKA_BOOTSTRAP"); k != "" {
		out["kafka"] = func(*testing.T) (string, string) { return k, k }
	}
	return out
}

func readAll(t *testing.T, addr, topic string, committed bool, want int) []string {
	t.Helper()
	iso := kgo.ReadUncommitted()
	if committed {
		iso = kgo.ReadCommitted()
	}
	cl := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(iso),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	var got []string
	deadline := time.Now().Add(15 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("fetch %s/%d: %v", topic, p, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	// Anything more that would come.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	cancel()
	return got
}

func countPrefix(vs []string, prefix string) int {
	n := 0
	for _, v := range vs {
		if strings.HasPrefix(v, prefix) {
			n++
		}
	}
	return n
}

// A user's view of transactions: aborted records never reach read_committed
// consumers, committed ones do, read_uncommitted sees both; an open
// transaction holds read_committed readers back, on every gateway, until it
// is committed through the other gateway; a second producer with the same
// transactional id fences the first, which can no longer commit.
func TestTransactions(t *testing.T) {
	for name, start := range txnTargets(t) {
		t.Run(name, func(t *testing.T) {
			a, b := start(t)
			suffix := fmt.Sprint(time.Now().UnixNano())
			topic, tid := "txn-"+suffix, "tid-"+suffix
			createTopic(t, newClient(t, a), topic, 2)
			ctx := testCtx(t)

			p := newClient(t, a, kgo.TransactionalID(tid), kgo.DefaultProduceTopic(topic), kgo.TransactionTimeout(60*time.Second))
			produceTxn := func(prefix string, n int, commit bool) {
				t.Helper()
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				for i := range n {
					if err := p.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "%s-%d", prefix, i), Partition: int32(i % 2)}).FirstErr(); err != nil {
						t.Fatal(err)
					}
				}
				if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
					t.Fatalf("end (commit %v): %v", commit, err)
				}
			}
			produceTxn("aborted", 10, false)
			produceTxn("committed", 10, true)

			got := readAll(t, b, topic, true, 10)
			if n := countPrefix(got, "aborted"); n != 0 || countPrefix(got, "committed") != 10 || len(got) != 10 {
				t.Fatalf("read_committed through the other gateway got %d records (%d aborted): %v", len(got), n, got)
			}
			// read_uncommitted sees the aborted records too, except where the
			// store's own transactions hold them (Pulsar's coordinator): its
			// broker hides them from every reader, the gateway included.
			aborted := 10
			if name == "pulsar" {
				aborted = 0
			}
			if got := readAll(t, b, topic, false, 10+aborted); countPrefix(got, "aborted") != aborted || countPrefix(got, "committed") != 10 || len(got) != 10+aborted {
				t.Fatalf("read_uncommitted got %d records: %v", len(got), got)
			}

			// An open transaction: visible to read_uncommitted only.
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte("open-0"), Partition: 0}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, b, topic, true, 10); len(got) != 10 {
				t.Fatalf("read_committed past an open transaction: %v", got)
			}
			// Ended through the other gateway, as after a failover.
			pid, epoch, err := p.ProducerID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			end := kmsg.NewPtrEndTxnRequest()
			end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = tid, pid, epoch, true
			other := newClient(t, b)
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
			if got := readAll(t, a, topic, true, 11); countPrefix(got, "open") != 1 || len(got) != 11 {
				t.Fatalf("after the commit through the other gateway: %v", got)
			}

			// A zombie: a new producer with the same id fences the old one.
			p2 := newClient(t, b, kgo.TransactionalID(tid), kgo.DefaultProduceTopic(topic), kgo.TransactionTimeout(60*time.Second))
			p.Close()
			p = newClient(t, a, kgo.TransactionalID(tid), kgo.DefaultProduceTopic(topic), kgo.TransactionTimeout(60*time.Second))
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte("zombie-0"), Partition: 1}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if err := p2.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := p2.ProduceSync(ctx, &kgo.Record{Value: []byte("fencer-0"), Partition: 1}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			err = p.EndTransaction(ctx, kgo.TryCommit)
			if err == nil || !(errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)) {
				t.Fatalf("the fenced producer's commit: %v, want PRODUCER_FENCED", err)
			}
			if err := p2.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
			got = readAll(t, b, topic, true, 12)
			if countPrefix(got, "zombie") != 0 || countPrefix(got, "fencer") != 1 {
				t.Fatalf("after fencing: %v", got)
			}
		})
	}
}

// A transaction left open by a producer that went away is aborted after
// its timeout, and read_committed readers go on past it.
func TestTransactionTimeout(t *testing.T) {
	a := startGateway(t)
	topic := "txn-timeout"
	createTopic(t, newClient(t, a), topic, 1)
	ctx := testCtx(t)
	p := newClient(t, a, kgo.TransactionalID("tid-timeout"), kgo.DefaultProduceTopic(topic), kgo.TransactionTimeout(time.Second))
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte("left-open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	plain := newClient(t, a, kgo.DefaultProduceTopic(topic))
	if err := plain.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, a, topic, true, 1)
	if len(got) != 1 || got[0] != "after" {
		t.Fatalf("read_committed after the timeout: %v", got)
	}
}

// Consume-transform-produce with franz-go's GroupTransactSession (KIP-447):
// two members on two gateways share the input; one leaves half-way (a
// rebalance while transactions are in flight); every input record is in
// the output exactly once for a read_committed reader.
func TestGroupTransactSession(t *testing.T) {
	for name, start := range txnTargets(t) {
		t.Run(name, func(t *testing.T) {
			a, b := start(t)
			suffix := fmt.Sprint(time.Now().UnixNano())
			in, out, group := "gts-in-"+suffix, "gts-out-"+suffix, "gts-"+suffix
			admin := newClient(t, a)
			createTopic(t, admin, in, 4)
			createTopic(t, admin, out, 2)
			ctx := testCtx(t)
			const n = 2000
			recs := make([]*kgo.Record, n)
			for i := range recs {
				recs[i] = &kgo.Record{Topic: in, Value: fmt.Appendf(nil, "%d", i)}
			}
			if err := admin.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			member := func(addr, id string, stop <-chan struct{}, done chan<- error) {
				s, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(addr), kgo.TransactionalID(id),
					kgo.ConsumerGroup(group), kgo.ConsumeTopics(in), kgo.DefaultProduceTopic(out),
					kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
					kgo.TransactionTimeout(30*time.Second), kgo.FetchMaxWait(200*time.Millisecond),
					kgo.RequireStableFetchOffsets())
				if err != nil {
					done <- err
					return
				}
				defer s.Close()
				for {
					select {
					case <-stop:
						done <- nil
						return
					default:
					}
					pctx, cancel := context.WithTimeout(ctx, time.Second)
					fs := s.PollRecords(pctx, 100)
					cancel()
					if fs.Empty() {
						continue
					}
					if err := s.Begin(); err != nil {
						done <- err
						return
					}
					fs.EachRecord(func(r *kgo.Record) {
						s.Produce(ctx, &kgo.Record{Value: append([]byte("out-"), r.Value...)}, nil)
					})
					if _, err := s.End(ctx, kgo.TryCommit); err != nil {
						done <- err
						return
					}
				}
			}
			stop1, stop2 := make(chan struct{}), make(chan struct{})
			done1, done2 := make(chan error, 1), make(chan error, 1)
			go member(a, "gts-a-"+suffix, stop1, done1)
			go member(b, "gts-b-"+suffix, stop2, done2)
			// Let both work, then one leaves while the other goes on.
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if len(readAllQuick(t, a, out)) > n/4 {
					break
				}
			}
			close(stop2)
			if err := <-done2; err != nil {
				t.Fatalf("member on the second gateway: %v", err)
			}
			var got []string
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
				if got = readAllQuick(t, a, out); len(got) >= n {
					break
				}
			}
			close(stop1)
			if err := <-done1; err != nil {
				t.Fatalf("member on the first gateway: %v", err)
			}
			got = readAll(t, b, out, true, n)
			seen := map[string]int{}
			for _, v := range got {
				seen[v]++
			}
			for i := range n {
				if c := seen[fmt.Sprintf("out-%d", i)]; c != 1 {
					t.Fatalf("input %d is in the output %d times (%d output records)", i, c, len(got))
				}
			}
			if len(got) != n {
				t.Fatalf("%d output records for %d inputs", len(got), n)
			}
		})
	}
}

// readAllQuick is what a read_committed reader has now, without waiting
// for more.
func readAllQuick(t *testing.T, addr, topic string) []string {
	t.Helper()
	cl := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	defer cl.Close()
	var got []string
	for empty := 0; empty < 2; {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)); n++ })
		if n == 0 {
			empty++
		}
	}
	return got
}

// A compacted topic written in transactions (a Kafka Streams changelog
// under exactly_once_v2): compaction keeps every marker, so no transaction
// looks open for ever, and an aborted value never replaces a committed one.
func TestCompactedTransactionalTopic(t *testing.T) {
	addr, b := startGatewayBackend(t)
	ctx := testCtx(t)
	adm := kadm.NewClient(newClient(t, addr))
	res, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kmsg.StringPtr("compact")}, "changelog")
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	p := newClient(t, addr, kgo.TransactionalID("changelog-writer"), kgo.DefaultProduceTopic("changelog"))
	write := func(value string, commit bool) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	write("1", true)
	write("2", true)
	write("aborted", false)
	plain := newClient(t, addr, kgo.DefaultProduceTopic("changelog"))
	if err := plain.ProduceSync(ctx, &kgo.Record{Key: []byte("end"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := b.Admin().Compact(ctx, "changelog"); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, addr, "changelog", true, 3)
	if len(got) == 0 || got[len(got)-1] != "x" || countPrefix(got, "aborted") != 0 || countPrefix(got, "2") != 1 {
		t.Fatalf("read_committed after compaction: %v", got)
	}
}

// slowSnapshots is a backend whose coordinator snapshot of a transaction
// holding group offsets takes a second to save, as a loaded Pulsar's
// table write can: the transaction ends while that save is under way.
// landed is closed once the first such save is done.
type slowSnapshots struct {
	bridge.Backend
	landed chan struct{}
}

func (b slowSnapshots) State(ctx context.Context, table string) (bridge.StateTable, error) {
	t, err := b.Backend.State(ctx, table)
	return slowTable{t, b.landed, &sync.Once{}}, err
}

type slowTable struct {
	bridge.StateTable
	landed chan struct{}
	once   *sync.Once
}

func (t slowTable) Put(ctx context.Context, key string, v []byte) error {
	var s snapshot
	if json.Unmarshal(v, &s) != nil || s.Group == nil || s.Group.Txn == nil ||
		s.Group.Txn.Phase != txnOngoing || len(s.Group.Txn.Offsets) == 0 {
		return t.StateTable.Put(ctx, key, v)
	}
	time.Sleep(time.Second)
	err := t.StateTable.Put(ctx, key, v)
	t.once.Do(func() { close(t.landed) })
	return err
}

// Once a transaction with group offsets committed, an offset fetch with
// require_stable answers the offsets, though the coordinator's snapshot of
// the open transaction was still being saved when it ended (the last
// change was dropped, and the group's members waited for good).
func TestStableOffsetsAfterSlowSnapshot(t *testing.T) {
	be, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	slow := slowSnapshots{be, make(chan struct{})}
	addr := serveOn(t, slow)
	in, out, group := "slow-snap-in", "slow-snap-out", "slow-snap"
	admin := newClient(t, addr)
	createTopic(t, admin, in, 1)
	createTopic(t, admin, out, 1)
	ctx := testCtx(t)
	if err := admin.ProduceSync(ctx, &kgo.Record{Topic: in, Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	s, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(addr), kgo.TransactionalID("slow-snap-tid"),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(in), kgo.DefaultProduceTopic(out),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fs := s.PollFetches(ctx)
	if err := s.Begin(); err != nil {
		t.Fatal(err)
	}
	fs.EachRecord(func(r *kgo.Record) { s.Produce(ctx, &kgo.Record{Value: r.Value}, nil) })
	if committed, err := s.End(ctx, kgo.TryCommit); err != nil || !committed {
		t.Fatalf("commit: %v %v", committed, err)
	}
	// The slow save of the open transaction with its offsets usually
	// overlaps the commit; under load the saver may coalesce it away, and
	// then the answer below must come all the same: never wait for good.
	select {
	case <-slow.landed:
	case <-time.After(10 * time.Second):
		t.Log("no snapshot of the open transaction with offsets was saved: the commit came first")
	}
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group, req.RequireStable = group, true
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: in, Partitions: []int32{0}}}
	var last string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		r, err := req.RequestWith(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		p := r.Topics[0].Partitions[0]
		if r.ErrorCode == 0 && p.ErrorCode == 0 && p.Offset == 1 {
			return
		}
		last = fmt.Sprintf("group error %d, partition error %d, offset %d", r.ErrorCode, p.ErrorCode, p.Offset)
	}
	t.Fatalf("require_stable offset fetch after the commit: %s; want offset 1", last)
}

// slowTxnWrites is a backend that takes 3 s to store a transactional
// batch, as Pulsar's transaction buffer can take for a large one.
type slowTxnWrites struct{ bridge.Backend }

func (b slowTxnWrites) CreateProducer(ctx context.Context, o bridge.ProducerOptions) (bridge.Producer, error) {
	p, err := b.Backend.CreateProducer(ctx, o)
	if err != nil {
		return nil, err
	}
	return slowRaw{p, p.(bridge.RawProducer)}, nil
}

type slowRaw struct {
	bridge.Producer
	raw bridge.RawProducer
}

func (p slowRaw) SendRaw(ctx context.Context, batch []byte, count int, cb bridge.SendCallback) {
	if rb, err := recordbatch.Split(batch); err == nil && len(rb) == 1 && rb[0].Transactional() && !rb[0].Control() {
		time.Sleep(3 * time.Second)
	}
	p.raw.SendRaw(ctx, batch, count, cb)
}

// A transaction whose records the store takes longer to write than the
// transaction's timeout is not aborted while the gateway still writes
// them (the producer is waiting for them, not gone): it commits. Kafka
// Streams apps on a loaded Pulsar were fenced in a loop before.
func TestTransactionOutlivesTimeoutWhileWriting(t *testing.T) {
	be, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	addr := serveOn(t, slowTxnWrites{be})
	topic := "txn-slow-writes"
	createTopic(t, newClient(t, addr), topic, 1)
	ctx := testCtx(t)
	p := newClient(t, addr, kgo.TransactionalID("tid-slow"), kgo.DefaultProduceTopic(topic), kgo.TransactionTimeout(time.Second))
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte("slow")}).FirstErr(); err != nil {
		t.Fatalf("producing (3 s in the store): %v", err)
	}
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("committing right after: %v", err)
	}
	if got := readAll(t, addr, topic, true, 1); len(got) != 1 || got[0] != "slow" {
		t.Fatalf("read_committed: %v", got)
	}
}
