package metrics

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Family is one gauge family that a sampler fills.
type Family struct {
	Name, Help string
	Labels     []string
}

// Put records one series of family number f (its index in the group's
// families) in a sample.
type Put func(f int, value float64, labels ...string)

// SampleFunc takes one sample, calling put for each series.
type SampleFunc func(ctx context.Context, put Put) error

// Sampler exports gauges whose values are taken in the background every
// interval, not at each scrape: a sample may ask the backend for every
// topic's backlog, too slow and costly to do per scrape, and scrapes of
// several Prometheus servers should not multiply that load. Of each
// family only the Limit largest series are exported (the backlogs worth
// a look), so a cluster of 100,000 topics does not explode the scrape;
// pulsar_gateway_series_omitted says how many were left out.
type Sampler struct {
	interval time.Duration
	limit    int
	log      *zap.Logger
	omitted  *prometheus.GaugeVec
	took     *prometheus.GaugeVec

	mu     sync.Mutex
	groups []*group
}

type group struct {
	name     string
	sample   SampleFunc
	families []*family
}

type family struct {
	desc *prometheus.Desc
	name string
	// points is the last sample's exported series (sampler.mu).
	points []point
}

type point struct {
	labels []string
	value  float64
}

// NewSampler registers the sampler's own gauges with reg. limit <= 0
// exports every series.
func NewSampler(reg prometheus.Registerer, interval time.Duration, limit int, log *zap.Logger) *Sampler {
	s := &Sampler{
		interval: interval, limit: limit, log: log,
		omitted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "series_omitted",
			Help: "Series of a sampled gauge left out of the scrape because only the largest metrics.max_series are exported.",
		}, []string{"metric"}),
		took: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "sample_duration_seconds",
			Help: "How long the last background sample of a group of gauges (backlogs, lag) took.",
		}, []string{"group"}),
	}
	reg.MustRegister(s.omitted, s.took, s)
	return s
}

// Add adds a group of families that one sample fills. On a nil
// Sampler it does nothing.
func (s *Sampler) Add(name string, sample SampleFunc, families ...Family) {
	if s == nil {
		return
	}
	g := &group{name: name, sample: sample}
	for _, f := range families {
		g.families = append(g.families, &family{
			name: f.Name,
			desc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", f.Name), f.Help, f.Labels, nil),
		})
		s.omitted.WithLabelValues(prometheus.BuildFQName(Namespace, "", f.Name))
	}
	s.mu.Lock()
	s.groups = append(s.groups, g)
	s.mu.Unlock()
}

// Run samples every group at once and then every interval until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.SampleNow(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SampleNow takes one sample of every group.
func (s *Sampler) SampleNow(ctx context.Context) {
	s.mu.Lock()
	groups := append([]*group(nil), s.groups...)
	s.mu.Unlock()
	for _, g := range groups {
		s.sampleGroup(ctx, g)
	}
}

func (s *Sampler) sampleGroup(ctx context.Context, g *group) {
	start := time.Now()
	got := make([][]point, len(g.families))
	err := g.sample(ctx, func(f int, value float64, labels ...string) {
		got[f] = append(got[f], point{labels: labels, value: value})
	})
	s.took.WithLabelValues(g.name).Set(time.Since(start).Seconds())
	if err != nil {
		// Keep the last good values: a backend hiccup should not make a
		// backlog look like it drained.
		if ctx.Err() == nil {
			s.log.Warn("metrics sample failed", zap.String("group", g.name), zap.Error(err))
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range g.families {
		pts := got[i]
		omitted := 0
		if s.limit > 0 && len(pts) > s.limit {
			sort.SliceStable(pts, func(a, b int) bool { return pts[a].value > pts[b].value })
			omitted = len(pts) - s.limit
			pts = pts[:s.limit]
		}
		f.points = pts
		s.omitted.WithLabelValues(prometheus.BuildFQName(Namespace, "", f.name)).Set(float64(omitted))
	}
}

// Describe implements prometheus.Collector.
func (s *Sampler) Describe(ch chan<- *prometheus.Desc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		for _, f := range g.families {
			ch <- f.desc
		}
	}
}

// Collect implements prometheus.Collector with the last sample.
func (s *Sampler) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		for _, f := range g.families {
			for _, p := range f.points {
				ch <- prometheus.MustNewConstMetric(f.desc, prometheus.GaugeValue, p.value, p.labels...)
			}
		}
	}
}
