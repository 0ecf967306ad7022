// Package console is the gateway's read-only web console: an overview of
// protocols, connections, message rates and the backend, the topics with
// their backlogs, Kafka groups with members and lag, MQTT sessions and
// AMQP queues. Pages are rendered on the server from the same figures
// /metrics exports and refresh themselves; the only script is a few lines
// inline, so the console needs nothing from the network at run time.
package console

import (
	"context"
	"embed"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/kafka"
	"github.com/pulsar-gateway/pulsar-gateway/mqtt"
)

//go:embed templates/*.html
var templateFiles embed.FS

// Options are what the console shows and who may see it.
type Options struct {
	// Metrics is the registry /metrics serves: connections, counters and
	// backend figures are read from it.
	Metrics prometheus.Gatherer
	// Backend describes the store ("embedded at ./data", "pulsar at ...").
	Backend string
	// Ready is /readyz's answer.
	Ready func() bool
	// Topics lists the topics with their subscriptions; Groups, Sessions
	// and Queues the protocols' views. A nil one hides its page.
	Topics   func(ctx context.Context) ([]Topic, error)
	Groups   func(ctx context.Context) ([]kafka.GroupView, error)
	Sessions func(ctx context.Context) ([]mqtt.SessionView, error)
	Queues   func(ctx context.Context) ([]Queue, error)
	// Login, when set, checks HTTP Basic credentials: the console is then
	// behind the same logins as the protocols.
	Login func(user, password string) bool
	// MaxRows bounds the rows of a table (largest backlogs first): 500
	// when zero.
	MaxRows int
	// RefreshEvery is how often pages reload their figures: 2s when zero.
	RefreshEvery time.Duration
	Logger       *zap.Logger
}

// Topic is one topic and its subscriptions.
type Topic struct {
	Name          string
	Partitions    int
	Backlog       int64 // the largest backlog of its subscriptions
	Subscriptions []Subscription
	// Producers are this gateway's producers on the topic, by protocol
	// (a Kafka producer per partition written to).
	Producers []Producers
}

// Producers counts one protocol's producers.
type Producers struct {
	Protocol string
	Count    int
}

// Subscription is one subscription of a topic, with the protocol that
// owns it (by its name: DESIGN.md's names across protocols).
type Subscription struct {
	Name, Protocol, Type string
	Backlog              int64
	Consumers            int
}

// Queue is an AMQP queue as RabbitMQ's management shows it.
type Queue struct {
	VHost, Name               string
	Ready, Unacked, Consumers int64
	// Published and Delivered are this gateway's counts since it started.
	Published, Delivered int64
}

// Console serves the pages under its prefix.
type Console struct {
	opts  Options
	pages *template.Template
	rates *rates

	// The topics of the last look, shared by whoever looks within a
	// refresh period: a look costs an admin call per topic on Pulsar.
	topicsMu   sync.Mutex
	topicsAt   time.Time
	topicsLast []Topic
}

// New builds the console. Close stops its rate sampler.
func New(opts Options) (*Console, error) {
	if opts.MaxRows <= 0 {
		opts.MaxRows = 500
	}
	if opts.RefreshEvery <= 0 {
		opts.RefreshEvery = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	funcs := template.FuncMap{
		"rate":    func(v float64) string { return formatRate(v) },
		"join":    strings.Join,
		"bytes":   formatBytes,
		"seconds": formatSeconds,
	}
	pages, err := template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	c := &Console{opts: opts, pages: pages, rates: newRates(opts.Metrics, opts.RefreshEvery)}
	c.rates.start()
	return c, nil
}

// Close stops the background rate sampling.
func (c *Console) Close() { c.rates.stop() }

// Handler serves the console's pages under prefix (e.g. "/console/").
func (c *Console) Handler(prefix string) http.Handler {
	mux := http.NewServeMux()
	page := func(path, tmpl string, data func(ctx context.Context) (any, error)) {
		mux.HandleFunc("GET "+prefix+path, func(w http.ResponseWriter, r *http.Request) {
			if !c.allowed(w, r) {
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			d, err := data(ctx)
			if err != nil {
				c.opts.Logger.Warn("console page", zap.String("page", tmpl), zap.Error(err))
				http.Error(w, "the backend did not answer: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			err = c.pages.ExecuteTemplate(w, tmpl, pageData{Prefix: prefix, Page: tmpl, Nav: c.nav(), Refresh: c.opts.RefreshEvery.Milliseconds(), Data: d})
			if err != nil {
				c.opts.Logger.Warn("console template", zap.String("page", tmpl), zap.Error(err))
			}
		})
	}
	page("{$}", "overview", func(context.Context) (any, error) { return c.overview(), nil })
	if c.opts.Topics != nil {
		page("topics", "topics", func(ctx context.Context) (any, error) { return c.topics(ctx) })
	}
	if c.opts.Groups != nil {
		page("kafka", "kafka", func(ctx context.Context) (any, error) { return c.opts.Groups(ctx) })
	}
	if c.opts.Sessions != nil {
		page("mqtt", "mqtt", func(ctx context.Context) (any, error) { return c.opts.Sessions(ctx) })
	}
	if c.opts.Queues != nil {
		page("amqp", "amqp", func(ctx context.Context) (any, error) { return c.queues(ctx) })
	}
	return mux
}

type pageData struct {
	Prefix, Page string
	Nav          []navItem
	Refresh      int64
	Data         any
}

type navItem struct{ Path, Title string }

func (c *Console) nav() []navItem {
	out := []navItem{{"", "Overview"}}
	if c.opts.Topics != nil {
		out = append(out, navItem{"topics", "Topics"})
	}
	if c.opts.Groups != nil {
		out = append(out, navItem{"kafka", "Kafka groups"})
	}
	if c.opts.Sessions != nil {
		out = append(out, navItem{"mqtt", "MQTT sessions"})
	}
	if c.opts.Queues != nil {
		out = append(out, navItem{"amqp", "AMQP queues"})
	}
	return out
}

// allowed checks the login when logins are on, and asks for one.
func (c *Console) allowed(w http.ResponseWriter, r *http.Request) bool {
	if c.opts.Login == nil {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if ok && c.opts.Login(user, pass) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="pulsar-gateway console", charset="UTF-8"`)
	http.Error(w, "login required", http.StatusUnauthorized)
	return false
}

// Overview is the front page's figures.
type Overview struct {
	Backend   string
	Ready     bool
	Protocols []ProtocolFigures
	Store     []Figure // backend figures: store size, Pulsar connections
}

// ProtocolFigures are one protocol's live figures.
type ProtocolFigures struct {
	Name                        string
	Connections                 float64
	ProducedRate, DeliveredRate float64 // messages per second, over the last refresh period
	Produced, Delivered         float64 // totals since start
	DurableP50, DurableP99      float64 // seconds, since start
}

// Figure is one named value.
type Figure struct {
	Name, Value string
}

func (c *Console) overview() Overview {
	o := Overview{Backend: c.opts.Backend, Ready: c.opts.Ready == nil || c.opts.Ready()}
	fams := gather(c.opts.Metrics)
	for _, p := range []string{"kafka", "mqtt", "amqp"} {
		if _, ok := seriesValue(fams, "pulsar_gateway_connections_active", "protocol", p); !ok {
			continue // not served
		}
		pf := ProtocolFigures{Name: p}
		pf.Connections, _ = seriesValue(fams, "pulsar_gateway_connections_active", "protocol", p)
		pf.Produced, _ = seriesValue(fams, "pulsar_gateway_messages_produced_total", "protocol", p)
		pf.Delivered, _ = seriesValue(fams, "pulsar_gateway_messages_delivered_total", "protocol", p)
		pf.ProducedRate = c.rates.rate("pulsar_gateway_messages_produced_total", p)
		pf.DeliveredRate = c.rates.rate("pulsar_gateway_messages_delivered_total", p)
		pf.DurableP50 = quantile(fams, "pulsar_gateway_produce_durable_seconds", p, .5)
		pf.DurableP99 = quantile(fams, "pulsar_gateway_produce_durable_seconds", p, .99)
		o.Protocols = append(o.Protocols, pf)
	}
	if v, ok := seriesValue(fams, "pulsar_gateway_embedded_store_bytes"); ok {
		o.Store = append(o.Store, Figure{"Store size", formatBytes(v)})
	}
	if v, ok := seriesValue(fams, "pulsar_gateway_embedded_commit_seconds"); ok {
		o.Store = append(o.Store, Figure{"Commits (fsync)", formatCount(v)})
	}
	opened, ok1 := sumValues(fams, "pulsar_gateway_pulsar_connections_opened_total")
	closed, ok2 := sumValues(fams, "pulsar_gateway_pulsar_connections_closed_total")
	if ok1 || ok2 {
		o.Store = append(o.Store, Figure{"Pulsar connections open", formatCount(opened - closed)})
	}
	if v, ok := sumValues(fams, "pulsar_gateway_pulsar_pending_messages"); ok {
		o.Store = append(o.Store, Figure{"Sends pending in Pulsar", formatCount(v)})
	}
	return o
}

// topicsPage is the topics table, largest backlog first, bounded.
type topicsPage struct {
	Topics  []Topic
	Omitted int
}

func (c *Console) topics(ctx context.Context) (topicsPage, error) {
	c.topicsMu.Lock()
	defer c.topicsMu.Unlock()
	if time.Since(c.topicsAt) >= c.opts.RefreshEvery/2 {
		ts, err := c.opts.Topics(ctx)
		if err != nil {
			return topicsPage{}, err
		}
		c.topicsLast, c.topicsAt = ts, time.Now()
	}
	ts := append([]Topic(nil), c.topicsLast...)
	sort.SliceStable(ts, func(i, j int) bool {
		if ts[i].Backlog != ts[j].Backlog {
			return ts[i].Backlog > ts[j].Backlog
		}
		return ts[i].Name < ts[j].Name
	})
	p := topicsPage{Topics: ts}
	if len(ts) > c.opts.MaxRows {
		p.Topics, p.Omitted = ts[:c.opts.MaxRows], len(ts)-c.opts.MaxRows
	}
	return p, nil
}

func (c *Console) queues(ctx context.Context) ([]Queue, error) {
	qs, err := c.opts.Queues(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(qs, func(i, j int) bool {
		if qs[i].VHost != qs[j].VHost {
			return qs[i].VHost < qs[j].VHost
		}
		return qs[i].Name < qs[j].Name
	})
	return qs, nil
}

// rates keeps the counters of two successive samples, to show messages
// per second over the last period whoever looks and however often.
type rates struct {
	g     prometheus.Gatherer
	every time.Duration
	once  sync.Once
	quit  chan struct{}

	mu         sync.Mutex
	prev, last map[string]float64
	prevAt     time.Time
	lastAt     time.Time
}

func newRates(g prometheus.Gatherer, every time.Duration) *rates {
	return &rates{g: g, every: every, quit: make(chan struct{})}
}

func (r *rates) start() {
	r.once.Do(func() {
		r.take()
		go func() {
			t := time.NewTicker(r.every)
			defer t.Stop()
			for {
				select {
				case <-r.quit:
					return
				case <-t.C:
					r.take()
				}
			}
		}()
	})
}

func (r *rates) stop() {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
}

func (r *rates) take() {
	now := map[string]float64{}
	for _, mf := range gather(r.g) {
		if !strings.HasSuffix(mf.GetName(), "_total") {
			continue
		}
		for _, m := range mf.GetMetric() {
			now[mf.GetName()+"|"+labelString(m)] = m.GetCounter().GetValue()
		}
	}
	r.mu.Lock()
	r.prev, r.prevAt = r.last, r.lastAt
	r.last, r.lastAt = now, time.Now()
	r.mu.Unlock()
}

// rate is a counter's per-second increase over the last period.
func (r *rates) rate(name, protocol string) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prev == nil {
		return 0
	}
	key := name + "|protocol=" + protocol
	dt := r.lastAt.Sub(r.prevAt).Seconds()
	if dt <= 0 {
		return 0
	}
	return max(r.last[key]-r.prev[key], 0) / dt
}

func gather(g prometheus.Gatherer) map[string]*dto.MetricFamily {
	out := map[string]*dto.MetricFamily{}
	if g == nil {
		return out
	}
	fams, _ := g.Gather() // a partial gather still has what it could get
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func labelString(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

// seriesValue is the value of the series of name whose labels include
// the given pairs (the first match); histograms give their count.
func seriesValue(fams map[string]*dto.MetricFamily, name string, pairs ...string) (float64, bool) {
	mf := fams[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if hasLabels(m, pairs) {
			return value(m), true
		}
	}
	return 0, false
}

func sumValues(fams map[string]*dto.MetricFamily, name string) (float64, bool) {
	mf := fams[name]
	if mf == nil {
		return 0, false
	}
	sum := 0.0
	for _, m := range mf.GetMetric() {
		sum += value(m)
	}
	return sum, true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// quantile estimates a histogram's quantile as Prometheus'
// histogram_quantile does: linear within the bucket it falls in.
func quantile(fams map[string]*dto.MetricFamily, name, protocol string, q float64) float64 {
	mf := fams[name]
	if mf == nil {
		return 0
	}
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, []string{"protocol", protocol}) || m.Histogram == nil {
			continue
		}
		h := m.Histogram
		total := float64(h.GetSampleCount())
		if total == 0 {
			return 0
		}
		rank := q * total
		lower, below := 0.0, 0.0
		for _, b := range h.GetBucket() {
			count := float64(b.GetCumulativeCount())
			if count >= rank {
				if count == below {
					return b.GetUpperBound()
				}
				return lower + (b.GetUpperBound()-lower)*(rank-below)/(count-below)
			}
			lower, below = b.GetUpperBound(), count
		}
		return lower
	}
	return 0
}
