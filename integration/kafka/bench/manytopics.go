package main

// -mode manytopics: a cluster of many small topics (-topics of -topic-partitions
// each, 10,000 partitions by default), as a user with many services has:
//
//	create       CreateTopics in requests of -create-batch topics, as an
//	             admin tool creating them from a list would
//	metadata     one Metadata request of all topics (median of 5)
//	first produce  one 100 B record to every partition, acks=all, one kgo producer
//	produce      then a second one to every partition
//	join 1       a fresh group of one kgo consumer of all the topics: from
//	             the client's creation to all partitions assigned
//	consume 1    the same, to every record fetched (from the start)
//	commit 1     committing its offsets of every partition
//	join 3       a fresh group of three consumers started at once: to all
//	             partitions owned across them, each owning some
//	consume 3    the same, to every record fetched by one of them
//
// Topics are deleted after each run (untimed), so the brokers hold one
// run's topics at a time. gw-pulsar runs at -pulsar-topics (10,000 Pulsar
// partitions are more than a standalone broker on a small machine takes in
// a benchmark's time), and so then do gw-embedded and kafka, for its ratios.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/integration/benchout"
)

var (
	mtTopics       = flag.Int("topics", 1000, "manytopics mode: topics per run")
	mtPartitions   = flag.Int("topic-partitions", 10, "manytopics mode: partitions per topic")
	mtPulsarTopics = flag.Int("pulsar-topics", 100, "manytopics mode: topics per run on gw-pulsar (then also on the others, for its ratios); 0: -topics")
	mtCreateBatch  = flag.Int("create-batch", 100, "manytopics mode: topics per CreateTopics request")
)

// mtMetrics in the table's order.
var mtMetrics = []string{"create ms", "metadata ms", "first produce ms", "produce ms", "join 1 member ms", "consume 1 member ms", "commit 1 member ms",
	"join 3 members ms", "consume 3 members ms"}

type mtTarget struct{ name, addr string }

func runManyTopics(ctx context.Context, want map[string]bool, pulsarURL, adminURL, kafkaAddr string) {
	var ts []mtTarget
	var closers []func()
	defer func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}()
	if want["gw-embedded"] {
		addr, stop := serveEmbedded(ctx)
		closers = append(closers, stop)
		ts = append(ts, mtTarget{"gw-embedded", addr})
	}
	if want["gw-pulsar"] && pulsarURL != "" && adminURL != "" {
		b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: pulsarURL, AdminURL: adminURL})
		check(err)
		addr, stop := serve(ctx, b)
		closers = append(closers, func() { stop(); b.Close() })
		ts = append(ts, mtTarget{"gw-pulsar", addr})
	} else if want["gw-pulsar"] {
		fmt.Fprintln(os.Stderr, "gw-pulsar skipped: PULSAR_URL and PULSAR_ADMIN_URL not set")
	}
	if want["kafka"] && kafkaAddr != "" {
		ts = append(ts, mtTarget{"kafka", kafkaAddr})
	} else if want["kafka"] {
		fmt.Fprintln(os.Stderr, "kafka skipped: KAFKA_BOOTSTRAP not set (integration/kafka/kraft.sh start)")
	}
	if len(ts) == 0 {
		fmt.Fprintln(os.Stderr, "no target")
		os.Exit(2)
	}
	type scale struct {
		topics int
		ts     []mtTarget
	}
	var scales []scale
	hasPulsar := slices.ContainsFunc(ts, func(t mtTarget) bool { return t.name == "gw-pulsar" })
	if pt := *mtPulsarTopics; hasPulsar && pt > 0 && pt != *mtTopics {
		scales = append(scales, scale{pt, ts})
		scales = append(scales, scale{*mtTopics, slices.DeleteFunc(slices.Clone(ts), func(t mtTarget) bool { return t.name == "gw-pulsar" })})
	} else {
		scales = append(scales, scale{*mtTopics, ts})
	}
	if *cpuprofile != "" { // with -targets gw-embedded, the gateway's (and kgo's) alone
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	stamp := time.Now().UnixNano()
	for _, sc := range scales {
		scenario := fmt.Sprintf("%d topics × %d partitions", sc.topics, *mtPartitions)
		res := map[string]map[string][]float64{} // target -> metric -> runs
		for r := range *runs {
			for i := range sc.ts {
				t := sc.ts[(i+r)%len(sc.ts)]
				prefix := fmt.Sprintf("mt-%x-%s-%d-%d", stamp, t.name, sc.topics, r)
				m, err := manyTopicsRun(ctx, t.addr, prefix, sc.topics, *mtPartitions)
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s %s run %d: %v\n", scenario, t.name, r, err)
					continue
				}
				line := fmt.Sprintf("run %d %-11s %s:", r, t.name, scenario)
				for _, k := range mtMetrics {
					line += fmt.Sprintf(" %s %.0f", k, m[k])
				}
				fmt.Fprintln(os.Stderr, line)
				if res[t.name] == nil {
					res[t.name] = map[string][]float64{}
				}
				for k, v := range m {
					res[t.name][k] = append(res[t.name][k], v)
				}
			}
		}
		fmt.Printf("\n%s\n\n| target |", scenario)
		for _, k := range mtMetrics {
			fmt.Printf(" %s |", k)
		}
		fmt.Printf("\n|---|%s\n", strings.Repeat("---:|", len(mtMetrics)))
		for _, t := range sc.ts {
			if res[t.name] == nil {
				continue
			}
			var recs []benchout.Record
			fmt.Printf("| %s |", t.name)
			for _, k := range mtMetrics {
				v := medianOf(res[t.name][k])
				ratio := ""
				if ref := res["kafka"]; t.name != "kafka" && ref != nil {
					ratio = fmt.Sprintf(" (%.2f × kafka)", v/medianOf(ref[k]))
				}
				fmt.Printf(" %.1f%s |", v, ratio)
				rec := benchout.Record{Group: "manytopics", Scenario: scenario, Metric: k, Target: t.name, Value: v, Lower: true, Runs: len(res[t.name][k])}
				if t.name != "kafka" && res["kafka"] != nil {
					rec.Ref = "kafka"
				}
				recs = append(recs, rec)
			}
			fmt.Println()
			check(benchout.Append(*jsonOut, recs...))
		}
		fmt.Printf("\n(medians of %d runs; milliseconds)\n", *runs)
	}
}

type tp struct {
	topic string
	p     int32
}

type tpo struct {
	topic  string
	p      int32
	offset int64
}

// manyTopicsRun is one run of every phase on fresh topics prefix-NNNN.
func manyTopicsRun(ctx context.Context, addr, prefix string, nTopics, nParts int) (map[string]float64, error) {
	m := map[string]float64{}
	names := make([]string, nTopics)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	total := nTopics * nParts
	admCl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return nil, err
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	defer func() { // untimed: the brokers keep one run's topics at a time
		dctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		for b := range slices.Chunk(names, *mtCreateBatch) {
			adm.DeleteTopics(dctx, b...)
		}
	}()
	phase := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, *timeout) }

	// create
	pctx, cancel := phase()
	start := time.Now()
	for b := range slices.Chunk(names, *mtCreateBatch) {
		rs, err := adm.CreateTopics(pctx, int32(nParts), 1, nil, b...)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("create: %w", err)
		}
		if err := rs.Error(); err != nil {
			cancel()
			return nil, fmt.Errorf("create: %w", err)
		}
	}
	// Kafka's brokers learn of new topics after CreateTopics answers:
	// created is when a Metadata shows them all, as a tool waiting for them sees.
	for {
		seen, err := allMetadata(pctx, admCl, prefix)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("create: metadata: %w", err)
		}
		if seen == total {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	m["create ms"] = time.Since(start).Seconds() * 1000
	cancel()

	// metadata: all topics, as a client refreshing everything does
	pctx, cancel = phase()
	var lats []float64
	for range 5 {
		start = time.Now()
		seen, err := allMetadata(pctx, admCl, prefix)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("metadata: %w", err)
		}
		lats = append(lats, float64(time.Since(start))/float64(time.Millisecond))
		if seen != total {
			cancel()
			return nil, fmt.Errorf("metadata: %d partitions of the run's topics, want %d", seen, total)
		}
	}
	m["metadata ms"] = medianOf(lats)
	cancel()

	// produce one record to every partition
	pctx, cancel = phase()
	// kgo learns new topics' partitions in one metadata request and waits
	// its MetadataMinAge (5 s) before asking for those produced to after
	// it was sent: 50 ms keeps that wait out of the number.
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.MetadataMinAge(50*time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	if err != nil {
		cancel()
		return nil, err
	}
	values := benchout.Letters(2 * total * 100)
	// Twice: "first produce" writes each new partition's first record (the
	// client learning 10,000 partitions, Kafka's new partitions becoming
	// writable); "produce" is a second record to each, all known.
	for pass, metric := range []string{"first produce ms", "produce ms"} {
		var perr error
		var errOnce sync.Once
		start = time.Now()
		for i, name := range names {
			for p := range nParts {
				k := (pass*nTopics+i)*nParts + p
				prod.Produce(pctx, &kgo.Record{Topic: name, Partition: int32(p), Value: values[k*100 : (k+1)*100]}, func(_ *kgo.Record, err error) {
					if err != nil {
						errOnce.Do(func() { perr = err })
					}
				})
			}
		}
		err = prod.Flush(pctx)
		m[metric] = time.Since(start).Seconds() * 1000
		if err == nil {
			err = perr
		}
		if err != nil {
			prod.Close()
			cancel()
			return nil, fmt.Errorf("%s: %w", metric, err)
		}
	}
	prod.Close()
	cancel()

	// a group of one, then a group of three
	for _, members := range []int{1, 3} {
		join, consume, commit, err := groupConsumeAll(ctx, addr, prefix+fmt.Sprintf("-g%d", members), names, total, members)
		if err != nil {
			return nil, fmt.Errorf("group of %d: %w", members, err)
		}
		suffix := " members ms"
		if members == 1 {
			suffix = " member ms"
			m["commit 1 member ms"] = commit.Seconds() * 1000
		}
		m[fmt.Sprintf("join %d%s", members, suffix)] = join.Seconds() * 1000
		m[fmt.Sprintf("consume %d%s", members, suffix)] = consume.Seconds() * 1000
	}
	return m, nil
}

// groupConsumeAll starts members consumers of one fresh group at once and
// times, from their creation, all partitions being owned (each member msome)
// and every partition's two records being fetched; then the first member's
// commit of its offsets.
func groupConsumeAll(ctx context.Context, addr, group string, topics []string, total, members int) (join, consume, commit time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var mu sync.Mutex
	owned := make([]map[tp]bool, members)
	seen := map[tpo]bool{}
	joined, consumed := make(chan struct{}), make(chan struct{})
	var joinOnce, consOnce sync.Once
	checkJoin := func() { // mu held
		n := 0
		for _, o := range owned {
			if len(o) == 0 {
				return
			}
			n += len(o)
		}
		if n == total {
			joinOnce.Do(func() { close(joined) })
		}
	}
	cls := make([]*kgo.Client, members)
	start := time.Now()
	for i := range members {
		owned[i] = map[tp]bool{}
		// Revoked and lost partitions alike are no longer this member's.
		drop := func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			mu.Lock()
			defer mu.Unlock()
			for t, ps := range a {
				for _, p := range ps {
					delete(owned[i], tp{t, p})
				}
			}
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topics...),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
				mu.Lock()
				defer mu.Unlock()
				for t, ps := range a {
					for _, p := range ps {
						owned[i][tp{t, p}] = true
					}
				}
				checkJoin()
			}),
			kgo.OnPartitionsRevoked(drop),
			kgo.OnPartitionsLost(drop))
		if err != nil {
			return 0, 0, 0, err
		}
		cls[i] = cl
		defer cl.Close()
	}
	errs := make(chan error, members)
	var wg sync.WaitGroup
	for _, cl := range cls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				var ferr error
				fs.EachError(func(_ string, _ int32, e error) {
					if !errors.Is(e, context.Canceled) && !errors.Is(e, context.DeadlineExceeded) {
						ferr = e
					}
				})
				if ferr != nil {
					errs <- ferr
					return
				}
				mu.Lock()
				fs.EachRecord(func(r *kgo.Record) { seen[tpo{r.Topic, r.Partition, r.Offset}] = true })
				if len(seen) == 2*total {
					consOnce.Do(func() { close(consumed) })
				}
				mu.Unlock()
			}
		}()
	}
	defer wg.Wait()
	defer cancel()
	for _, ch := range []chan struct{}{joined, consumed} {
		select {
		case <-ch:
		case err := <-errs:
			return 0, 0, 0, err
		case <-ctx.Done():
			mu.Lock()
			n := 0
			for _, o := range owned {
				n += len(o)
			}
			got := len(seen)
			mu.Unlock()
			return 0, 0, 0, fmt.Errorf("%d of %d partitions owned, %d records: %w", n, total, got, ctx.Err())
		}
		if ch == joined {
			join = time.Since(start)
		}
	}
	consume = time.Since(start)
	if members > 1 {
		return join, consume, 0, nil
	}
	start = time.Now()
	// In OffsetCommits of 100 topics: real Kafka answers one of all 10,000
	// partitions with UNKNOWN_SERVER_ERROR (its offsets topic's record
	// batch would pass max.message.bytes).
	all := cls[0].UncommittedOffsets()
	for b := range slices.Chunk(slices.Sorted(maps.Keys(all)), 100) {
		part := map[string]map[int32]kgo.EpochOffset{}
		for _, t := range b {
			part[t] = all[t]
		}
		var cerr error
		cls[0].CommitOffsetsSync(ctx, part, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if e := kerr.ErrorForCode(p.ErrorCode); e != nil && cerr == nil {
						cerr = fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, e)
					}
				}
			}
		})
		if cerr != nil {
			return 0, 0, 0, fmt.Errorf("commit: %w", cerr)
		}
	}
	commit = time.Since(start)
	return join, consume, commit, nil
}

// allMetadata asks for every topic's metadata and counts the partitions of
// topics named prefix-* that have a leader.
func allMetadata(ctx context.Context, cl *kgo.Client, prefix string) (int, error) {
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	seen := 0
	for _, t := range resp.Topics {
		if t.Topic != nil && strings.HasPrefix(*t.Topic, prefix+"-") {
			for _, p := range t.Partitions {
				if p.ErrorCode == 0 && p.Leader >= 0 {
					seen++
				}
			}
		}
	}
	return seen, nil
}
