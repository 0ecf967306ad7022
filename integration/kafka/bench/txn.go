package main

// -mode txn: what Kafka transactions cost, against real Kafka and against
// the same producer without transactions, on each target:
//
//   - throughput: -bytes of records in transactions of -txn-records each
//     (kgo, acks=all, lz4), and the same records from an idempotent
//     producer without transactions;
//   - commit latency: -txn-commits transactions of one record to each of
//     -txn-parts partitions, timing EndTransaction(commit) alone.
//
// The gateways run in this process, as in the other modes.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
)

var (
	txnRecords = flag.Int("txn-records", 1000, "-mode txn: records per transaction in the throughput runs")
	txnCommits = flag.Int("txn-commits", 100, "-mode txn: transactions timed for commit latency")
	txnParts   = flag.Int("txn-parts", 1, "-mode txn: partitions each timed transaction writes to")
)

func runTxn(ctx context.Context, want map[string]bool, sizes []int, pulsarURL, adminURL, kafkaAddr string) {
	addrs := map[string]string{}
	if want["gw-embedded"] {
		addr, stop := serveEmbedded(ctx)
		defer stop()
		addrs["gw-embedded"] = addr
	}
	if want["gw-pulsar"] && pulsarURL != "" && adminURL != "" {
		b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: pulsarURL, AdminURL: adminURL})
		check(err)
		addr, stop := serve(ctx, b)
		defer func() { stop(); b.Close() }()
		addrs["gw-pulsar"] = addr
	}
	if want["gw-pulsar-markers"] && pulsarURL != "" && adminURL != "" {
		// The gateway's markers on the same broker (kafka.transactions:
		// markers), against Pulsar's own transactions above.
		b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: pulsarURL, AdminURL: adminURL})
		check(err)
		addr, stop := serveTxns(ctx, b, "markers")
		defer func() { stop(); b.Close() }()
		addrs["gw-pulsar-markers"] = addr
	}
	if want["kafka"] && kafkaAddr != "" {
		addrs["kafka"] = kafkaAddr
	}
	names := make([]string, 0, len(addrs))
	for n := range addrs {
		names = append(names, n)
	}
	slices.Sort(names)
	stamp := time.Now().UnixNano()
	tputs := map[string]*tput{} // MB/s
	lats := map[string][]time.Duration{}
	for r := range *runs {
		for i := range names {
			name := names[(i+r)%len(names)]
			addr := addrs[name]
			for _, size := range sizes {
				key := fmt.Sprintf("%s/%d", name, size)
				if tputs[key] == nil {
					tputs[key] = &tput{}
				}
				n := *totalBytes / size
				for _, transactional := range []bool{true, false} {
					topic := fmt.Sprintf("bench-txn-%x-%s-%d-%d-%v", stamp, name, size, r, transactional)
					d, err := txnProduce(ctx, addr, topic, size, n, transactional)
					if err != nil {
						fmt.Fprintf(os.Stderr, "%s: %v\n", key, err)
						continue
					}
					mbs := float64(n*size) / d.Seconds() / 1e6
					if transactional {
						tputs[key].txn = append(tputs[key].txn, mbs)
					} else {
						tputs[key].plain = append(tputs[key].plain, mbs)
					}
				}
			}
			topic := fmt.Sprintf("bench-txnlat-%x-%s-%d", stamp, name, r)
			l, err := txnLatency(ctx, addr, topic)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s latency: %v\n", name, err)
				continue
			}
			lats[name] = append(lats[name], l...)
		}
	}
	fmt.Printf("\ntransactional producer (%d records per transaction) vs the same without transactions, MB/s, median of %d\n", *txnRecords, *runs)
	fmt.Printf("%-12s %6s %10s %10s %8s %10s\n", "target", "size", "txn", "plain", "txn/plain", "txn/kafka")
	for _, size := range sizes {
		kt := median(tputs[fmt.Sprintf("kafka/%d", size)].get(true))
		for _, name := range names {
			t := tputs[fmt.Sprintf("%s/%d", name, size)]
			tx, pl := median(t.get(true)), median(t.get(false))
			fmt.Printf("%-12s %6d %10.1f %10.1f %8.2f %10s\n", name, size, tx, pl, tx/pl, ratio(tx, kt))
		}
	}
	fmt.Printf("\ncommit latency (EndTransaction, %d partition(s) per transaction), ms over %d commits\n", *txnParts, *txnCommits**runs)
	fmt.Printf("%-12s %8s %8s %8s\n", "target", "p50", "p99", "max")
	for _, name := range names {
		l := lats[name]
		slices.Sort(l)
		if len(l) == 0 {
			continue
		}
		fmt.Printf("%-12s %8.1f %8.1f %8.1f\n", name, ms(l[len(l)/2]), ms(l[len(l)*99/100]), ms(l[len(l)-1]))
	}
}

func (t *tput) get(txn bool) []float64 {
	if t == nil {
		return nil
	}
	if txn {
		return t.txn
	}
	return t.plain
}

// tput is one target and size's MB/s, with and without transactions.
type tput struct{ txn, plain []float64 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func createBenchTopic(ctx context.Context, addr, topic string, parts int32) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kadm.NewClient(cl).CreateTopic(ctx, parts, 1, nil, topic)
	return err
}

// txnProduce produces n records of size, in transactions of -txn-records
// or without transactions, and returns the time until all are acknowledged
// (committed).
func txnProduce(ctx context.Context, addr, topic string, size, n int, transactional bool) (time.Duration, error) {
	if err := createBenchTopic(ctx, addr, topic, 1); err != nil {
		return 0, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.Lz4Compression())}
	if transactional {
		opts = append(opts, kgo.TransactionalID(topic))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	value := payload(size)
	var failed atomic.Pointer[error]
	began := time.Now()
	for sent := 0; sent < n; {
		k := min(*txnRecords, n-sent)
		if transactional {
			if err := cl.BeginTransaction(); err != nil {
				return 0, err
			}
		}
		for range k {
			cl.Produce(pctx, &kgo.Record{Value: value}, func(_ *kgo.Record, e error) {
				if e != nil {
					failed.CompareAndSwap(nil, &e)
				}
			})
		}
		if transactional {
			// A transaction ends once its records are acknowledged.
			if e := cl.Flush(pctx); e != nil {
				return 0, e
			}
			if e := cl.EndTransaction(pctx, kgo.TryCommit); e != nil {
				return 0, e
			}
		}
		sent += k
	}
	if e := cl.Flush(pctx); e != nil {
		return 0, e
	}
	if e := failed.Load(); e != nil {
		return 0, *e
	}
	return time.Since(began), nil
}

// txnLatency times the commits of small transactions.
func txnLatency(ctx context.Context, addr, topic string) ([]time.Duration, error) {
	if err := createBenchTopic(ctx, addr, topic, int32(*txnParts)); err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.TransactionalID(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var out []time.Duration
	for range *txnCommits {
		if err := cl.BeginTransaction(); err != nil {
			return nil, err
		}
		for p := range *txnParts {
			if err := cl.ProduceSync(pctx, &kgo.Record{Value: []byte("x"), Partition: int32(p)}).FirstErr(); err != nil {
				return nil, err
			}
		}
		began := time.Now()
		if err := cl.EndTransaction(pctx, kgo.TryCommit); err != nil {
			return nil, err
		}
		out = append(out, time.Since(began))
	}
	return out, nil
}
