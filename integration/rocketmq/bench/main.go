// Command bench measures RocketMQ send and consume throughput with rocketmq-client-go/v2 against
// one or more endpoints (name-server addresses) in one run, interleaving them round by round
// with their order rotated, so machine noise spreads over all of them:
//
//	go run ./integration/rocketmq/bench -target rocketmq=127.0.0.1:9876 -target gateway/embedded=127.0.0.1:19876 -ref rocketmq
//	go run ./integration/rocketmq/bench -target rocketmq=127.0.0.1:9876 -gateway BIN -gateway-backends embedded,pulsar -ref rocketmq
//
// (-gateway starts the gateway binary, RocketMQ only, once per backend, as target gateway/BACKEND.)
//
// Per value size (-sizes, default 100 B and 1 KiB) and round, on a fresh topic (auto-created,
// 4 queues: a real broker's default) of each target:
//   - sync send: -producers goroutines share one producer, each SendSync one message at a time
//     (acknowledged when stored), -n messages in all;
//   - batch send: the same goroutines SendSync batches of -batch messages, -batch-n in all;
//   - consume: a fresh clustering push consumer group reads all of the topic's messages from the
//     first offset, timed from its creation to the last delivery (start-up and rebalance count).
//
// Values are distinct random letters. An untimed warm-up round on each target comes first. Prints a table of medians over -runs; with -json, appends
// integration/benchout records (group "rocketmq", msg/s, each target's ratio against -ref) that
// scripts/bench turns into docs/benchmarks.md's RocketMQ table.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/pulsar-gateway/pulsar-gateway/integration/benchout"
	"github.com/pulsar-gateway/pulsar-gateway/integration/rocketmq/gatewayproc"
)

type targetFlag []string

func (t *targetFlag) String() string     { return strings.Join(*t, ",") }
func (t *targetFlag) Set(s string) error { *t = append(*t, s); return nil }

var (
	targets    targetFlag
	ref        = flag.String("ref", "", "target the others are compared with (e.g. rocketmq)")
	sizesFlag  = flag.String("sizes", "100,1024", "value sizes in bytes")
	n          = flag.Int("n", 20000, "messages of the sync send phase, per size and round")
	batchN     = flag.Int("batch-n", 200000, "messages of the batch send phase, per size and round")
	producers  = flag.Int("producers", 16, "goroutines sending at once through one producer")
	batchSize  = flag.Int("batch", 32, "messages per batch in the batch phase")
	runs       = flag.Int("runs", 3, "rounds (medians reported)")
	timeout    = flag.Duration("timeout", 3*time.Minute, "bound on one phase")
	jsonOut    = flag.String("json", "", "append the numbers to this file as JSON lines (integration/benchout)")
	warmup     = flag.Bool("warmup", true, "first an untimed round of -n/4 messages on each target (JIT, page cache, connections)")
	gwBin      = flag.String("gateway", "", "gateway binary: start it (RocketMQ only) per -gateway-backends, as targets gateway/BACKEND")
	gwBackends = flag.String("gateway-backends", "embedded", "with -gateway: embedded, pulsar (PULSAR_URL, PULSAR_ADMIN_URL) or both, comma-separated")
	prefix     = flag.String("prefix", fmt.Sprintf("bench%x", time.Now().Unix()&0xffffff), "topic and group prefix")
)

func main() {
	flag.Var(&targets, "target", "NAME=HOST:PORT of a name server (repeat), e.g. rocketmq=127.0.0.1:9876")
	flag.Parse()
	rlog.SetLogLevel("error")
	var gateways []*gatewayproc.Gateway
	code := 0
	if *gwBin != "" {
		for _, b := range strings.Split(*gwBackends, ",") {
			g, err := gatewayproc.Start(*gwBin, b, []string{"rocketmq"}, nil)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: gateway on %s: %v\n", b, err)
				code = 1
				break
			}
			gateways = append(gateways, g)
			targets = append(targets, "gateway/"+b+"="+g.Addrs["rocketmq"])
		}
	}
	if code == 0 {
		code = bench()
	}
	for _, g := range gateways {
		g.Stop()
	}
	os.Exit(code)
}

func bench() int {
	if len(targets) == 0 {
		fmt.Fprintln(os.Stderr, "bench: no -target")
		return 2
	}
	var sizes []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 1 {
			fmt.Fprintf(os.Stderr, "bench: bad size %q\n", s)
			return 2
		}
		sizes = append(sizes, v)
	}
	type key struct{ target, scenario string }
	results := map[key][]float64{}
	var scenarios []string
	addScenario := func(s string) {
		if !slices.Contains(scenarios, s) {
			scenarios = append(scenarios, s)
		}
	}
	failed := false
	if *warmup {
		full, fullBatch := *n, *batchN
		*n, *batchN = max(full/4, 1), max(fullBatch/4, 1)
		for _, t := range targets {
			name, addr, _ := strings.Cut(t, "=")
			if _, err := runOnce(name, addr, sizes[0], -1); err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s, warm-up: %v\n", name, err)
				failed = true
			}
		}
		*n, *batchN = full, fullBatch
	}
	for round := 0; round < *runs; round++ {
		for _, size := range sizes {
			for i := range targets {
				t := targets[(i+round)%len(targets)]
				name, addr, ok := strings.Cut(t, "=")
				if !ok {
					fmt.Fprintf(os.Stderr, "bench: -target %q is not NAME=HOST:PORT\n", t)
					return 2
				}
				res, err := runOnce(name, addr, size, round)
				if err != nil {
					fmt.Fprintf(os.Stderr, "bench: %s, %d B, round %d: %v\n", name, size, round+1, err)
					failed = true
					continue
				}
				for _, r := range res {
					addScenario(r.scenario)
					results[key{name, r.scenario}] = append(results[key{name, r.scenario}], r.rate)
					fmt.Fprintf(os.Stderr, "bench: round %d %-18s %-28s %10.0f msg/s\n", round+1, name, r.scenario, r.rate)
				}
			}
		}
	}
	fmt.Printf("%-30s", "msg/s (median)")
	for _, t := range targets {
		name, _, _ := strings.Cut(t, "=")
		fmt.Printf(" %18s", name)
	}
	fmt.Println()
	for _, s := range scenarios {
		fmt.Printf("%-30s", s)
		for _, t := range targets {
			name, _, _ := strings.Cut(t, "=")
			vs := results[key{name, s}]
			if len(vs) == 0 {
				fmt.Printf(" %18s", "-")
				continue
			}
			med := median(vs)
			cell := fmt.Sprintf("%.0f", med)
			rec := benchout.Record{Group: "rocketmq", Scenario: s, Metric: "msg/s", Target: name, Value: med, Runs: len(vs)}
			if *ref != "" && name != *ref {
				rec.Ref = *ref
				if rv := results[key{*ref, s}]; len(rv) > 0 && median(rv) > 0 {
					cell += fmt.Sprintf(" (%.2fx)", med/median(rv))
				}
			}
			fmt.Printf(" %18s", cell)
			if err := benchout.Append(*jsonOut, rec); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				failed = true
			}
		}
		fmt.Println()
	}
	if failed {
		return 1
	}
	return 0
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type result struct {
	scenario string
	rate     float64
}

// runOnce runs the three phases on a fresh topic of one target.
func runOnce(name, addr string, size, round int) ([]result, error) {
	ns := primitive.NewPassthroughResolver(strings.Split(addr, ";"))
	topic := fmt.Sprintf("%s-%s-%d-%d", *prefix, sanitize(name), size, round)
	p, err := rocketmq.NewProducer(producer.WithNsResolver(ns), producer.WithGroupName(topic+"-p"),
		producer.WithInstanceName(topic+"-p"), producer.WithRetry(2), producer.WithSendMsgTimeout(10*time.Second))
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	defer p.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	// The first send creates the topic (its route), not timed.
	if _, err := p.SendSync(ctx, primitive.NewMessage(topic, benchout.Letters(size))); err != nil {
		return nil, fmt.Errorf("first send: %w", err)
	}
	// Values cut from one buffer of random letters: 4096 distinct ones, used in turn (bodies
	// under 4 KiB are not compressed by the clients, so repetition does not help anyone).
	const distinct = 4096
	values := benchout.Letters(distinct * size)
	value := func(i int) []byte { i %= distinct; return values[i*size : (i+1)*size] }
	label := fmt.Sprintf("%d B", size)
	if size%1024 == 0 {
		label = fmt.Sprintf("%d KiB", size/1024)
	}
	var out []result

	// sync sends: each goroutine takes the next message number until n are sent.
	var next atomic.Int64
	errs := make(chan error, *producers)
	send := func(total, per int, f func(first, count int) error) time.Duration {
		next.Store(0)
		start := time.Now()
		var wg sync.WaitGroup
		for g := 0; g < *producers; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					first := int(next.Add(int64(per))) - per
					if first >= total {
						return
					}
					if err := f(first, min(per, total-first)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	d := send(*n, 1, func(i, _ int) error {
		r, err := p.SendSync(ctx, primitive.NewMessage(topic, value(i)))
		if err == nil && r.Status != primitive.SendOK {
			err = fmt.Errorf("status %d", r.Status)
		}
		return err
	})
	select {
	case err := <-errs:
		return nil, fmt.Errorf("sync send: %w", err)
	default:
	}
	out = append(out, result{fmt.Sprintf("sync send %s, %d producers", label, *producers), float64(*n) / d.Seconds()})
	d = send(*batchN, *batchSize, func(first, count int) error {
		msgs := make([]*primitive.Message, count)
		for j := range msgs {
			msgs[j] = primitive.NewMessage(topic, value(first+j))
		}
		r, err := p.SendSync(ctx, msgs...)
		if err == nil && r.Status != primitive.SendOK {
			err = fmt.Errorf("status %d", r.Status)
		}
		return err
	})
	select {
	case err := <-errs:
		return nil, fmt.Errorf("batch send: %w", err)
	default:
	}
	out = append(out, result{fmt.Sprintf("batch send %s, batches of %d", label, *batchSize), float64(*batchN) / d.Seconds()})

	// consume all (the first, the sync and the batched ones) from the first offset with a fresh group.
	want := int64(1 + *n + *batchN)
	var got atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	c, err := rocketmq.NewPushConsumer(consumer.WithNsResolver(ns), consumer.WithGroupName(topic+"-c"),
		consumer.WithInstance(topic+"-c"), consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
	if err != nil {
		return nil, err
	}
	err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			if got.Add(int64(len(msgs))) >= want {
				select {
				case <-done:
				default:
					close(done)
				}
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	defer c.Shutdown()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("consume: %d of %d within %s", got.Load(), want, *timeout)
	}
	d = time.Since(start)
	out = append(out, result{fmt.Sprintf("consume %s", label), float64(want) / d.Seconds()})
	return out, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
