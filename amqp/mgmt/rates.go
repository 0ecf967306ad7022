package mgmt

import (
	"strconv"
	"sync"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
)

// rates keeps the last two samples of each counter series (the overview's and each
// queue's on this gateway) so that a _details rate is the change per second over the
// last sampling interval, as RabbitMQ's basic rates mode shows.
type rates struct {
	mu   sync.Mutex
	prev map[string]sample
	last map[string]sample
}

type sample struct {
	at time.Time
	c  amqp.MessageCounts
}

func newRates() *rates { return &rates{prev: map[string]sample{}, last: map[string]sample{}} }

// record makes samples the last ones, the last ones the previous: series no longer
// sampled (deleted queues) drop out.
func (r *rates) record(samples map[string]sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prev, r.last = r.last, samples
}

// rate returns, for series key, a function of a counter's rate per second.
func (r *rates) rate(key string) func(func(amqp.MessageCounts) int64) float64 {
	r.mu.Lock()
	p, ok1 := r.prev[key]
	l, ok2 := r.last[key]
	r.mu.Unlock()
	return func(f func(amqp.MessageCounts) int64) float64 {
		if !ok1 || !ok2 || !l.at.After(p.at) {
			return 0
		}
		return float64(f(l.c)-f(p.c)) / l.at.Sub(p.at).Seconds()
	}
}

// sample records the counters every SampleEvery until Close.
func (h *Handler) sample() {
	t := time.NewTicker(h.opts.SampleEvery)
	defer t.Stop()
	h.takeSample(time.Now())
	for {
		select {
		case <-h.quit:
			return
		case now := <-t.C:
			h.takeSample(now)
		}
	}
}

func (h *Handler) takeSample(now time.Time) {
	m := map[string]sample{"": {now, h.s.Counts()}}
	for _, v := range h.s.VHosts() {
		m["v\x00"+v] = sample{now, h.s.VHostCounts(v)}
		for _, x := range h.s.Exchanges(v) {
			if in, out, ok := h.s.ExchangeCounts(v, x.Name); ok {
				// publish_in and publish_out ride in Publish and Deliver (exchanges in mgmt.go).
				m["x\x00"+v+"\x00"+x.Name] = sample{now, amqp.MessageCounts{Publish: in, Deliver: out}}
			}
		}
	}
	for _, ch := range h.s.Channels() {
		m["c\x00"+ch.Connection+"\x00"+strconv.Itoa(int(ch.Number))] = sample{now, ch.Counts}
	}
	for _, vn := range h.s.QueueNames("") {
		if c, ok := h.s.QueueCounts(vn[0], vn[1]); ok {
			m[queueKey(vn[0], vn[1])] = sample{now, c}
		}
	}
	h.rates.record(m)
}
