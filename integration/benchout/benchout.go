// Package benchout is the machine-readable output of the load programs under
// integration/*/bench: one JSON object a line, which scripts/bench turns into
// docs/benchmarks.md and its charts.
package benchout

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"
)

// Record is one number of one target in one scenario. Ref names the target
// of the same group, scenario and metric that the number is compared with
// (empty for references themselves).
type Record struct {
	Group    string  `json:"group"`    // kafka, mqtt, amqp, latency, memory
	Scenario string  `json:"scenario"` // e.g. "produce 100 B", "4 pub -> 1 sub QoS 1"
	Metric   string  `json:"metric"`   // e.g. "MB/s", "msg/s", "p99 ms", "KiB/conn"
	Target   string  `json:"target"`   // e.g. gw-embedded, kafka, mosquitto
	Ref      string  `json:"ref,omitempty"`
	Value    float64 `json:"value"`
	Lower    bool    `json:"lower,omitempty"` // lower is better (latency, memory)
	Runs     int     `json:"runs,omitempty"`  // runs the value is the median of
	Note     string  `json:"note,omitempty"`  // shown beside the value, e.g. "120 lost"
}

var mu sync.Mutex

// Append adds records to the file at path (nothing when path is empty).
func Append(path string, rs ...Record) error {
	if path == "" {
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// Letters is n random upper-case letters, as kafka-producer-perf-test sends:
// a load cut into distinct values from it is neither one repeated value
// (which lz4 shrinks to almost nothing) nor zeros.
func Letters(n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = 'A' + byte(rand.IntN(26))
	}
	return v
}

// Stamp writes the time now into the first 8 bytes of v (v must be that long):
// the receiver's Latency of it is publish-to-delivery on this machine's clock.
func Stamp(v []byte) {
	binary.BigEndian.PutUint64(v, uint64(time.Now().UnixNano()))
}

// Latency is the time since Stamp wrote v, or -1 when v is too short to hold a stamp.
func Latency(v []byte) time.Duration {
	if len(v) < 8 {
		return -1
	}
	return time.Duration(time.Now().UnixNano() - int64(binary.BigEndian.Uint64(v)))
}

// Percentiles returns the p50, p99 and p99.9 of lat in milliseconds, after
// dropping the first tenth (the warm-up: connections, JIT, page cache).
// It sorts lat.
func Percentiles(lat []time.Duration) (p50, p99, p999 float64) {
	lat = lat[len(lat)/10:]
	if len(lat) == 0 {
		return 0, 0, 0
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		i := int(q * float64(len(lat)))
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return float64(lat[i]) / float64(time.Millisecond)
	}
	return at(0.50), at(0.99), at(0.999)
}

// Paced calls send(i) for i in [0, n) at rate per second, each at its due
// time from the start (or at once when late). Go's timers wake at about
// millisecond granularity, so at 10,000/s the calls come about ten at a time
// every millisecond; flush, if not nil, runs after each such group.
func Paced(n, rate int, send func(i int) error, flush func() error) error {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; i < n; {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		// Everything due by now goes out together.
		now := time.Since(start)
		for ; i < n && time.Duration(i)*interval <= now; i++ {
			if err := send(i); err != nil {
				return err
			}
		}
		if flush != nil {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return nil
}
