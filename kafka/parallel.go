package kafka

import (
	"sync"
	"sync/atomic"
)

// backendParallel bounds the backend calls one request makes at once for
// its partitions: a request naming 10,000 partitions (a first Produce to
// each, a consumer's first Fetch on Pulsar, ListOffsets) made them one at
// a time, a round trip each.
const backendParallel = 64

// eachParallel calls f(0..n-1) from up to backendParallel goroutines when
// parallel (else in order, here), and returns when all calls have.
func eachParallel(n int, parallel bool, f func(i int)) {
	workers := min(n, backendParallel)
	if !parallel || workers < 2 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}
