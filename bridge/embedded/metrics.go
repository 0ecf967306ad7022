package embedded

import (
	"io/fs"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
)

func newCommitHistogram() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "pulsar_gateway_embedded_commit_seconds",
		Help: "Time of one group commit of the embedded store: the write-ahead log write and its fsync, which every publish acknowledged in that group waited for.",
		// An fsync on a fast SSD takes tens of µs, on a loaded disk
		// tens of ms.
		Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
}

// Metrics is the backend's collector for /metrics: the store's size on
// disk and its group commits' fsync time.
func (b *Backend) Metrics() prometheus.Collector { return storeCollector{b} }

var storeBytesDesc = prometheus.NewDesc("pulsar_gateway_embedded_store_bytes",
	"Disk space the embedded store uses: live and obsolete files, write-ahead log included.", nil, nil)

type storeCollector struct{ b *Backend }

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storeBytesDesc
	c.b.commitSeconds.Describe(ch)
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.b.mu.Lock()
	closed := c.b.closed
	c.b.mu.Unlock()
	if closed { // a late scrape: pebble panics on a closed store
		return
	}
	ch <- prometheus.MustNewConstMetric(storeBytesDesc, prometheus.GaugeValue, float64(c.b.diskUsage()))
	c.b.commitSeconds.Collect(ch)
}

// diskUsage is the store directory's size. Pebble's own figure counts the
// write-ahead log only once it is rotated, and most recent messages are
// still there.
func (b *Backend) diskUsage() uint64 {
	if b.opts.InMemory {
		return b.db.Metrics().DiskSpaceUsage()
	}
	var total uint64
	filepath.WalkDir(b.opts.Dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += uint64(info.Size())
			}
		}
		return nil // a file removed by a compaction meanwhile
	})
	return total
}
