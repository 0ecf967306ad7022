package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
)

// The largest series are kept, the rest counted as omitted; a failed
// sample keeps the last good values rather than showing a drained backlog.
func TestSamplerKeepsTheLargestAndTheLastGood(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := NewSampler(reg, 1, 2, zap.NewNop())
	fail := false
	s.Add("test", func(_ context.Context, put Put) error {
		if fail {
			put(0, 1e9, "broken")
			return errors.New("backend down")
		}
		put(0, 5, "a")
		put(0, 50, "b")
		put(0, 7, "c")
		return nil
	}, Family{Name: "queue_depth", Help: "Depth.", Labels: []string{"queue"}})

	want := `
# HELP pulsar_gateway_queue_depth Depth.
# TYPE pulsar_gateway_queue_depth gauge
pulsar_gateway_queue_depth{queue="b"} 50
pulsar_gateway_queue_depth{queue="c"} 7
# HELP pulsar_gateway_series_omitted Series of a sampled gauge left out of the scrape because only the largest metrics.max_series are exported.
# TYPE pulsar_gateway_series_omitted gauge
pulsar_gateway_series_omitted{metric="pulsar_gateway_queue_depth"} 1
`
	for _, failing := range []bool{false, true} {
		fail = failing
		s.SampleNow(context.Background())
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "pulsar_gateway_queue_depth", "pulsar_gateway_series_omitted"); err != nil {
			t.Errorf("after a sample that failed=%v: %v", failing, err)
		}
	}
}

// A nil Flow is what handlers built without metrics hold: it records nothing
// and does not panic.
func TestNilFlow(t *testing.T) {
	var f *Flow
	f.Produced(1, 2, time.Time{})
	f.Delivered(1, 2)
	f.Request("x", "y")
}
