package main

// -mode spread: three clients at once, each producing its share of -bytes
// to a topic of its own and then consuming it (kgoTarget's workload), all
// through one gateway or one through each of three gateways on the same
// Pulsar: what running a gateway beside each app (or replicas) costs or
// gains against one shared gateway. Reported: the bytes produced and
// consumed in all over the round's wall time. The gateways run in this process, each with its own
// Pulsar client as three processes would have; on a 2-core machine they
// share the cores with each other and with the broker.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
)

const spreadClients = 3

func runSpread(ctx context.Context, sizes []int, pulsarURL, adminURL string) {
	if pulsarURL == "" || adminURL == "" {
		fmt.Fprintln(os.Stderr, "spread needs PULSAR_URL and PULSAR_ADMIN_URL")
		os.Exit(2)
	}
	var addrs []string
	for range spreadClients {
		b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: pulsarURL, AdminURL: adminURL})
		check(err)
		addr, stop := serve(ctx, b)
		defer func() { stop(); b.Close() }()
		addrs = append(addrs, addr)
	}
	shapes := []struct {
		name  string
		addrs []string
	}{{"1 gateway", addrs[:1]}, {"3 gateways", addrs}}
	type agg struct{ rate float64 } // MB/s produced + consumed, over the round
	results := map[string][]agg{}
	stamp := time.Now().UnixNano()
	for r := range *runs {
		for _, size := range sizes {
			n := *totalBytes / size / spreadClients
			for i := range shapes {
				s := shapes[(i+r)%len(shapes)]
				var mu sync.Mutex
				var a agg
				var wg sync.WaitGroup
				var failed error
				began := time.Now()
				for c := range spreadClients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						topic := fmt.Sprintf("bench-spread-%x-%d-%d-%d-%d", stamp, len(s.addrs), size, r, c)
						_, err := kgoTarget(s.addrs[c%len(s.addrs)])(ctx, topic, size, n, 1)
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							failed = err
						}
					}()
				}
				wg.Wait()
				a.rate = float64(2*spreadClients*n*size) / 1e6 / time.Since(began).Seconds()
				if failed != nil {
					fmt.Fprintf(os.Stderr, "%s size %d run %d: %v\n", s.name, size, r, failed)
					continue
				}
				fmt.Fprintf(os.Stderr, "run %d %-10s %5dB: %7.1f MB/s produced and consumed\n", r, s.name, size, a.rate)
				key := fmt.Sprintf("%s/%d", s.name, size)
				results[key] = append(results[key], a)
			}
		}
	}
	med := func(v []agg, f func(agg) float64) float64 {
		var xs []float64
		for _, a := range v {
			xs = append(xs, f(a))
		}
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	fmt.Printf("\n| %d clients through | size | MB/s produced + consumed | against 1 gateway |\n|---|---|---|---|\n", spreadClients)
	for _, size := range sizes {
		one := results[fmt.Sprintf("1 gateway/%d", size)]
		for _, s := range shapes {
			v := results[fmt.Sprintf("%s/%d", s.name, size)]
			if len(v) == 0 || len(one) == 0 {
				continue
			}
			r := med(v, func(a agg) float64 { return a.rate })
			fmt.Printf("| %s | %d B | %.1f | %.2f |\n", s.name, size, r, r/med(one, func(a agg) float64 { return a.rate }))
		}
	}
	fmt.Printf("\n(medians of %d runs, %d MiB per run and size in all)\n", *runs, *totalBytes>>20)
}
