// Command bench compares produce and consume throughput and produce latency
// of the Kafka gateway with a direct Pulsar client and a real Kafka broker,
// in one run, interleaving targets so machine noise spreads over all of them:
//
//	gw-embedded   kgo -> gateway (in this process) -> embedded backend on disk
//	gw-pulsar     kgo -> gateway (in this process) -> Pulsar     (PULSAR_URL, PULSAR_ADMIN_URL)
//	pulsar        pulsar-client-go -> Pulsar, same batching      (PULSAR_URL)
//	kafka         kgo -> real Kafka broker                       (KAFKA_BOOTSTRAP, see ../kraft.sh)
//
// Every kgo producer uses acks=all, lz4 and kgo's default batching
// (1 MiB batches, 10 ms linger, which a saturating producer does not wait for); the Pulsar producer batches up to 1 MiB /
// 10000 messages / 1 ms with lz4. Values are random letters. Each run produces -bytes of 100-byte and of
// 1 KiB records to a fresh topic of -partitions partitions (one by default), then consumes them from the
// start with a fresh consumer (timed from its creation: client start-up
// counts, hence the volume). The table shows medians over -runs.
//
//	go run ./integration/kafka/bench -runs 3 -cpuprofile /tmp/gw.pprof
//	go run ./integration/kafka/bench -targets gw-pulsar -phase consume -cpuprofile /tmp/c.pprof
//
// The gateway runs in this process so -cpuprofile covers it (the clients are
// in the profile too: look at the kafka and bridge packages).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/integration/benchout"
	"github.com/pulsar-gateway/pulsar-gateway/kafka"
)

var (
	runs       = flag.Int("runs", 3, "runs per target and size (medians reported)")
	totalBytes = flag.Int("bytes", 64<<20, "payload bytes produced per run and size")
	sizesFlag  = flag.String("sizes", "100,1024", "record value sizes")
	partsFlag  = flag.String("partitions", "1", "partitions of each run's topic, comma-separated (e.g. 1,8)")
	targets    = flag.String("targets", "gw-embedded,gw-pulsar,pulsar,kafka", "targets to run (skipped when their env is missing)")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the whole run (gateway included)")
	phase      = flag.String("phase", "", "with -cpuprofile: profile only the produce or the consume phases")
	memprofile = flag.String("memprofile", "", "write an allocation profile of the whole run (gateway included)")
	timeout    = flag.Duration("timeout", 3*time.Minute, "bound on one produce or consume phase")
	jsonOut    = flag.String("json", "", "also append the table's numbers to this file as JSON lines (integration/benchout)")
	latRate    = flag.Int("rate", 10000, "latency mode: records per second")
	latSecs    = flag.Int("secs", 10, "latency mode: seconds per run (the first tenth is warm-up, not counted)")
	latLinger  = flag.Duration("linger", time.Millisecond, "latency mode: the kgo producer's linger (kgo's own default is 10ms since v1.20; 1ms matches the Pulsar clients' batching delay)")
	mode       = flag.String("mode", "throughput", "throughput; latency (latency.go: publish-to-delivery at a steady -rate); groups (groups.go: forming and rebalancing a consumer group); spread (spread.go: 3 clients through 1 or 3 gateways); txn (txn.go: transactional producer throughput and commit latency); manytopics (manytopics.go: -topics of -topic-partitions each: create, Metadata, produce to all, a group consuming all)")
)

type result struct {
	prodRecS, prodMBs, p99ms float64
	consRecS, consMBs        float64
	prodCPU, consCPU         float64 // this process's CPU µs per record
}

// profiled counts the -phase profiles written, one file each
// (-cpuprofile.1, .2, ...; go tool pprof merges them): the profiler runs
// only while such a phase does, so the profile is theirs alone.
var profiled int

// profilePhase starts profiling if name is the -phase asked for, and
// returns what stops it.
func profilePhase(name string) func() {
	if *cpuprofile == "" || name != *phase {
		return func() {}
	}
	profiled++
	f, err := os.Create(fmt.Sprintf("%s.%d", *cpuprofile, profiled))
	check(err)
	check(pprof.StartCPUProfile(f))
	var once sync.Once
	return func() { // at the phase's end, and deferred for early returns
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}
}

// cpuTime is this process's user and system CPU so far: per record it
// shows a path's cost steadier than throughput on a busy machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type target struct {
	name string
	run  func(ctx context.Context, topic string, size, n, parts int) (result, error)
}

func main() {
	flag.Parse()
	ctx := context.Background()
	var sizes, partitions []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		var v int
		fmt.Sscan(s, &v)
		sizes = append(sizes, v)
	}
	for _, s := range strings.Split(*partsFlag, ",") {
		var v int
		fmt.Sscan(s, &v)
		partitions = append(partitions, max(v, 1))
	}
	want := map[string]bool{}
	for _, t := range strings.Split(*targets, ",") {
		want[t] = true
	}
	pulsarURL, adminURL := os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
	kafkaAddr := os.Getenv("KAFKA_BOOTSTRAP")
	if *mode == "groups" {
		if *targets == flag.Lookup("targets").DefValue {
			want = map[string]bool{"gw1-embedded": true, "gw1-pulsar": true, "gw3-pulsar": true, "kafka": true}
		}
		runGroups(ctx, want, pulsarURL, adminURL, kafkaAddr)
		return
	}
	if *mode == "txn" {
		if *targets == flag.Lookup("targets").DefValue {
			want = map[string]bool{"gw-embedded": true, "gw-pulsar": true, "gw-pulsar-markers": true, "kafka": true}
		}
		runTxn(ctx, want, sizes, pulsarURL, adminURL, kafkaAddr)
		return
	}
	if *mode == "manytopics" {
		if *targets == flag.Lookup("targets").DefValue {
			want = map[string]bool{"gw-embedded": true, "gw-pulsar": true, "kafka": true}
		}
		runManyTopics(ctx, want, pulsarURL, adminURL, kafkaAddr)
		return
	}
	if *mode == "latency" {
		runLatency(ctx, want, sizes[0], pulsarURL, adminURL, kafkaAddr)
		return
	}
	if *mode == "spread" {
		runSpread(ctx, sizes, pulsarURL, adminURL)
		return
	}

	var ts []target
	var closers []func()
	defer func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}()
	if want["gw-embedded"] {
		addr, stop := serveEmbedded(ctx)
		closers = append(closers, stop)
		ts = append(ts, target{"gw-embedded", kgoTarget(addr)})
	}
	if want["gw-pulsar"] && pulsarURL != "" && adminURL != "" {
		b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: pulsarURL, AdminURL: adminURL})
		check(err)
		addr, stop := serve(ctx, b)
		closers = append(closers, func() { stop(); b.Close() })
		ts = append(ts, target{"gw-pulsar", kgoTarget(addr)})
	} else if want["gw-pulsar"] {
		fmt.Fprintln(os.Stderr, "gw-pulsar skipped: PULSAR_URL and PULSAR_ADMIN_URL not set")
	}
	if want["pulsar"] && pulsarURL != "" {
		cl, err := pulsar.NewClient(pulsar.ClientOptions{URL: pulsarURL, Logger: plog.DefaultNopLogger()})
		check(err)
		closers = append(closers, cl.Close)
		ts = append(ts, target{"pulsar", pulsarTarget(cl, adminURL)})
	} else if want["pulsar"] {
		fmt.Fprintln(os.Stderr, "pulsar skipped: PULSAR_URL not set")
	}
	if want["kafka"] && kafkaAddr != "" {
		ts = append(ts, target{"kafka", kgoTarget(kafkaAddr)})
	} else if want["kafka"] {
		fmt.Fprintln(os.Stderr, "kafka skipped: KAFKA_BOOTSTRAP not set (integration/kafka/kraft.sh start)")
	}
	if len(ts) == 0 {
		fmt.Fprintln(os.Stderr, "no target")
		os.Exit(2)
	}

	if *cpuprofile != "" && *phase == "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}

	if *memprofile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			f, err := os.Create(*memprofile)
			check(err)
			check(pprof.Lookup("allocs").WriteTo(f, 0))
			f.Close()
		}()
	}

	results := map[string][]result{} // name/shape
	stamp := time.Now().UnixNano()
	var shapes []shape
	for _, parts := range partitions {
		for _, size := range sizes {
			shapes = append(shapes, shape{size, parts})
		}
	}
	for r := range *runs {
		for _, sh := range shapes {
			size := sh.size
			n := *totalBytes / size
			// Rotate the order each run: no target always goes first.
			for i := range ts {
				t := ts[(i+r)%len(ts)]
				topic := fmt.Sprintf("bench-%x-%s-%d-%d-%d", stamp, t.name, size, sh.parts, r)
				res, err := t.run(ctx, topic, size, n, sh.parts)
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s %s run %d: %v\n", t.name, sh, r, err)
					continue
				}
				fmt.Fprintf(os.Stderr, "run %d %-11s %s: produce %8.0f rec/s %7.1f MB/s p99 %6.1f ms %5.2f cpu-µs/rec | consume %8.0f rec/s %7.1f MB/s %5.2f cpu-µs/rec\n",
					r, t.name, sh, res.prodRecS, res.prodMBs, res.p99ms, res.prodCPU, res.consRecS, res.consMBs, res.consCPU)
				key := t.name + "/" + sh.String()
				results[key] = append(results[key], res)
			}
		}
	}
	report(ts, shapes, results)
}

// shape is a run's record size and topic partitions.
type shape struct{ size, parts int }

// String names the shape as the table's scenarios do ("100 B", "100 B x 8
// partitions"); the Java client's program (PulsarBench.java) names its the same.
func (s shape) String() string {
	if s.parts == 1 {
		return fmt.Sprintf("%d B", s.size)
	}
	return fmt.Sprintf("%d B x %d partitions", s.size, s.parts)
}

// report prints medians as a markdown table, with the ratios the targets
// are judged by: gw-pulsar / pulsar and gw-embedded / kafka.
func report(ts []target, shapes []shape, results map[string][]result) {
	med := func(key string, f func(result) float64) float64 {
		var v []float64
		for _, r := range results[key] {
			v = append(v, f(r))
		}
		if len(v) == 0 {
			return 0
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	ref := map[string]string{"gw-pulsar": "pulsar", "gw-embedded": "kafka"}
	fmt.Printf("\n| target | size | produce MB/s | produce rec/s | p99 produce ms | consume MB/s | consume rec/s | produce ratio | consume ratio | CPU µs/rec produce / consume |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, sh := range shapes {
		for _, t := range ts {
			key := t.name + "/" + sh.String()
			if len(results[key]) == 0 {
				continue
			}
			pm, cm := med(key, func(r result) float64 { return r.prodMBs }), med(key, func(r result) float64 { return r.consMBs })
			ratio := func(mine float64, f func(result) float64) string {
				rk := ref[t.name] + "/" + sh.String()
				if ref[t.name] == "" || len(results[rk]) == 0 {
					return ""
				}
				return fmt.Sprintf("%.2f × %s", mine/med(rk, f), ref[t.name])
			}
			{
				rt := ref[t.name]
				var recs []benchout.Record
				for _, m := range []struct {
					phase, metric string
					f             func(result) float64
				}{
					{"produce", "MB/s", func(r result) float64 { return r.prodMBs }},
					{"consume", "MB/s", func(r result) float64 { return r.consMBs }},
				} {
					rec := benchout.Record{Group: "kafka", Scenario: m.phase + " " + sh.String(), Metric: m.metric,
						Target: t.name, Value: med(key, m.f), Runs: len(results[key])}
					if len(results[rt+"/"+sh.String()]) > 0 {
						rec.Ref = rt
					}
					recs = append(recs, rec)
				}
				check(benchout.Append(*jsonOut, recs...))
			}
			fmt.Printf("| %s | %s | %.1f | %.0f | %.1f | %.1f | %.0f | %s | %s | %.2f / %.2f |\n", t.name, sh,
				pm, med(key, func(r result) float64 { return r.prodRecS }), med(key, func(r result) float64 { return r.p99ms }),
				cm, med(key, func(r result) float64 { return r.consRecS }),
				ratio(pm, func(r result) float64 { return r.prodMBs }), ratio(cm, func(r result) float64 { return r.consMBs }),
				med(key, func(r result) float64 { return r.prodCPU }), med(key, func(r result) float64 { return r.consCPU }))
		}
	}
	fmt.Printf("\n(medians of %d runs, %d MiB per run and size; CPU is this process's: clients and gateway, not the brokers)\n", *runs, *totalBytes>>20)
}

// serveEmbedded runs a Kafka gateway on a fresh embedded store in a
// temporary directory; stop removes both.
func serveEmbedded(ctx context.Context) (string, func()) {
	dir, err := os.MkdirTemp("", "kafka-bench")
	check(err)
	b, err := embedded.Open(embedded.Options{Dir: dir})
	check(err)
	addr, stop := serve(ctx, b)
	return addr, func() { stop(); b.Close(); os.RemoveAll(dir) }
}

// serve runs a Kafka gateway on b on a free port of 127.0.0.1.
func serve(ctx context.Context, b bridge.Backend) (string, func()) { return serveTxns(ctx, b, "") }

// serveTxns is serve with config's kafka.transactions.
func serveTxns(ctx context.Context, b bridge.Backend, txns string) (string, func()) {
	ln, err := netListen()
	check(err)
	h, err := kafka.New(ctx, b, kafka.Options{Advertised: ln.Addr().String(), Transactions: txns, Logger: zap.NewNop()})
	check(err)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				h.HandleConn(ctx, nc)
			}()
		}
	}()
	return ln.Addr().String(), func() {
		cancel()
		ln.Close()
		wg.Wait()
		h.Close()
	}
}

// kgoTarget produces with acks=all and lz4 (kgo defaults otherwise:
// idempotent, 1 MiB batches, 10 ms linger) and consumes from the start.
func kgoTarget(addr string) func(ctx context.Context, topic string, size, n, parts int) (result, error) {
	return func(ctx context.Context, topic string, size, n, parts int) (result, error) {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
			kgo.AllowAutoTopicCreation(), kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.ProducerBatchCompression(kgo.Lz4Compression()))
		if err != nil {
			return result{}, err
		}
		defer prod.Close()
		if parts > 1 {
			resp, err := kadm.NewClient(prod).CreateTopic(ctx, int32(parts), 1, nil, topic)
			if err == nil {
				err = resp.Err
			}
			if err != nil {
				return result{}, fmt.Errorf("creating %d partitions: %w", parts, err)
			}
		}
		// Create the topic first so neither side times its creation, and
		// write to every partition once: the Pulsar clients connect each
		// partition's producer before their timed sends, so the gateway's
		// lazily opened ones must not be timed either.
		if err := warmUp(ctx, addr, topic, parts); err != nil {
			return result{}, fmt.Errorf("warm-up: %w", err)
		}
		values := benchout.Letters(n * size) // distinct values: see payload
		lat := make([]time.Duration, n)
		var errOnce sync.Once
		var perr error
		stop := profilePhase("produce")
		defer stop()
		cpu0 := cpuTime()
		start := time.Now()
		for i := range n {
			sent := time.Now()
			prod.Produce(ctx, &kgo.Record{Value: values[i*size : (i+1)*size]}, func(_ *kgo.Record, err error) {
				lat[i] = time.Since(sent)
				if err != nil {
					errOnce.Do(func() { perr = err })
				}
			})
		}
		if err := prod.Flush(ctx); err != nil {
			return result{}, err
		}
		if perr != nil {
			return result{}, perr
		}
		pd := time.Since(start)
		pcpu := cpuTime() - cpu0
		stop()

		cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			return result{}, err
		}
		defer cons.Close()
		stopC := profilePhase("consume")
		defer stopC()
		cpu0 = cpuTime()
		start = time.Now()
		for got := 0; got < n+parts; {
			fs := cons.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				return result{}, fmt.Errorf("consumed %d of %d: %w", got, n+parts, err)
			}
			fs.EachError(func(_ string, _ int32, e error) { err = e })
			if err != nil {
				return result{}, err
			}
			got += fs.NumRecords()
		}
		cd, ccpu := time.Since(start), cpuTime()-cpu0
		stopC()
		return mkResult(n, size, pd, cd, lat, pcpu, ccpu), nil
	}
}

// warmUp writes a record to each of the topic's partitions (creating a
// one-partition topic on first use).
func warmUp(ctx context.Context, addr, topic string, parts int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	rs := make([]*kgo.Record, parts)
	for p := range rs {
		rs[p] = &kgo.Record{Value: []byte("warm-up"), Partition: int32(p)}
	}
	return cl.ProduceSync(ctx, rs...).FirstErr()
}

// pulsarTarget is the same workload on pulsar-client-go: lz4, batches up to
// 1 MiB (kgo's batch size), producer send timeout and queue like kgo's
// defaults, a Reader from the earliest message.
func pulsarTarget(cl pulsar.Client, adminURL string) func(ctx context.Context, topic string, size, n, parts int) (result, error) {
	return func(ctx context.Context, topic string, size, n, parts int) (result, error) {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		if parts > 1 {
			if err := createPartitioned(ctx, adminURL, topic, parts); err != nil {
				return result{}, err
			}
		}
		prod, err := cl.CreateProducer(pulsar.ProducerOptions{
			Topic:                   "persistent://public/default/" + topic,
			CompressionType:         pulsar.LZ4,
			BatchingMaxSize:         1 << 20,
			BatchingMaxMessages:     10000,
			BatchingMaxPublishDelay: time.Millisecond,
			MaxPendingMessages:      10000,
		})
		if err != nil {
			return result{}, err
		}
		defer prod.Close()
		if _, err := prod.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("warm-up")}); err != nil {
			return result{}, fmt.Errorf("warm-up: %w", err)
		}
		values := benchout.Letters(n * size)
		lat := make([]time.Duration, n)
		var errOnce sync.Once
		var perr error
		stop := profilePhase("produce")
		defer stop()
		cpu0 := cpuTime()
		start := time.Now()
		for i := range n {
			sent := time.Now()
			prod.SendAsync(ctx, &pulsar.ProducerMessage{Payload: values[i*size : (i+1)*size]}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				lat[i] = time.Since(sent)
				if err != nil {
					errOnce.Do(func() { perr = err })
				}
			})
		}
		if err := prod.FlushWithCtx(ctx); err != nil {
			return result{}, err
		}
		if perr != nil {
			return result{}, perr
		}
		pd := time.Since(start)
		pcpu := cpuTime() - cpu0
		stop()

		// A reader per partition (a Reader takes one), read together.
		names := []string{"persistent://public/default/" + topic}
		if parts > 1 {
			names = names[:0]
			for p := range parts {
				names = append(names, fmt.Sprintf("persistent://public/default/%s-partition-%d", topic, p))
			}
		}
		var rds []pulsar.Reader
		defer func() {
			for _, rd := range rds {
				rd.Close()
			}
		}()
		stopC := profilePhase("consume")
		defer stopC()
		cpu0 = cpuTime()
		start = time.Now()
		for _, name := range names {
			rd, err := cl.CreateReader(pulsar.ReaderOptions{Topic: name, StartMessageID: pulsar.EarliestMessageID(), ReceiverQueueSize: 10000})
			if err != nil {
				return result{}, err
			}
			rds = append(rds, rd)
		}
		var got atomic.Int64
		var wg sync.WaitGroup
		var rerr error
		var rerrOnce sync.Once
		rctx, rcancel := context.WithCancel(ctx)
		defer rcancel()
		for _, rd := range rds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for got.Load() < int64(n+1) {
					if _, err := rd.Next(rctx); err != nil {
						if rctx.Err() == nil || ctx.Err() != nil {
							rerrOnce.Do(func() { rerr = fmt.Errorf("consumed %d of %d: %w", got.Load(), n+1, err) })
						}
						rcancel()
						return
					}
					if got.Add(1) == int64(n+1) {
						rcancel() // the others are done too
					}
				}
			}()
		}
		wg.Wait()
		if got.Load() < int64(n+1) && rerr != nil {
			return result{}, rerr
		}
		cd, ccpu := time.Since(start), cpuTime()-cpu0
		stopC()
		return mkResult(n, size, pd, cd, lat, pcpu, ccpu), nil
	}
}

// payload is random upper-case letters, as kafka-producer-perf-test sends:
// lz4 gains a little on it, unlike on zeros or on one value repeated, which
// would compress to almost nothing and measure the codec instead of the
// path. The throughput loads cut each record's value from one such buffer
// of all of them, so every value is distinct.
func payload(size int) []byte { return benchout.Letters(size) }

func mkResult(n, size int, pd, cd time.Duration, lat []time.Duration, pcpu, ccpu time.Duration) result {
	slices.Sort(lat)
	mb := float64(n*size) / 1e6
	return result{
		prodRecS: float64(n) / pd.Seconds(), prodMBs: mb / pd.Seconds(),
		p99ms:    float64(lat[len(lat)*99/100]) / float64(time.Millisecond),
		consRecS: float64(n) / cd.Seconds(), consMBs: mb / cd.Seconds(),
		prodCPU: float64(pcpu.Microseconds()) / float64(n), consCPU: float64(ccpu.Microseconds()) / float64(n),
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// createPartitioned creates a partitioned topic through Pulsar's admin API.
func createPartitioned(ctx context.Context, adminURL, topic string, parts int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, adminURL+"/admin/v2/persistent/public/default/"+topic+"/partitions",
		strings.NewReader(strconv.Itoa(parts)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("creating %d partitions of %s: %s %s", parts, topic, resp.Status, body)
	}
	return nil
}
