package console

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The latencies the overview shows are estimated as Prometheus'
// histogram_quantile does: linearly inside the bucket the rank falls in.
func TestQuantileAsHistogramQuantile(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lat_seconds", Buckets: []float64{.001, .01, .1}}, []string{"protocol"})
	reg.MustRegister(h)
	for range 90 {
		h.WithLabelValues("mqtt").Observe(.0005) // 90 in (0, 1ms]
	}
	for range 10 {
		h.WithLabelValues("mqtt").Observe(.05) // 10 in (10ms, 100ms]
	}
	fams := gather(reg)
	for _, c := range []struct{ q, want float64 }{
		{.5, .001 * 50 / 90},         // rank 50 of 90 in the first bucket
		{.99, .01 + (.1-.01)*9/10.0}, // rank 99: 9 of the last bucket's 10
	} {
		if got := quantile(fams, "lat_seconds", "mqtt", c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("q%.2f = %v, want %v", c.q, got, c.want)
		}
	}
	if got := quantile(fams, "lat_seconds", "kafka", .5); got != 0 {
		t.Errorf("a protocol without samples: %v, want 0", got)
	}
}

func TestFormats(t *testing.T) {
	for got, want := range map[string]string{
		formatCount(1234567): "1\u202f234\u202f567",
		formatBytes(1536):    "1.5 KiB",
		formatRate(0.25):     "0.2/s",
		formatSeconds(.0004): "400 µs",
	} {
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}
