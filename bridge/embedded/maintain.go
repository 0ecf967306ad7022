package embedded

import (
	"time"

	"go.uber.org/zap"
)

// maintainer applies topic policies in the background: retention, then
// compaction of partitions that grew since they were last compacted.
type maintainer struct {
	b        *Backend
	interval time.Duration
	pokeC    chan struct{}
	done     chan struct{}
}

func newMaintainer(b *Backend, interval time.Duration) *maintainer {
	m := &maintainer{b: b, interval: interval, pokeC: make(chan struct{}, 1), done: make(chan struct{})}
	go m.run()
	return m
}

// poke runs a pass soon (a policy changed).
func (m *maintainer) poke() {
	select {
	case m.pokeC <- struct{}{}:
	default:
	}
}

func (m *maintainer) run() {
	defer close(m.done)
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-m.b.closing:
			return
		case <-t.C:
		case <-m.pokeC:
		}
		m.pass(time.Now())
	}
}

// pass applies every set policy once.
func (m *maintainer) pass(now time.Time) {
	m.b.mu.Lock()
	var parts []*partition
	for _, t := range m.b.topics {
		if t.policy == nil {
			continue
		}
		for _, n := range t.partitionNames() {
			if p, ok := m.b.partitions[n]; ok {
				parts = append(parts, p)
			}
		}
	}
	m.b.mu.Unlock()
	for _, p := range parts {
		if m.b.isClosed() {
			return
		}
		pol := m.b.policyOf(p.topic)
		if err := p.retain(pol, now); err != nil {
			m.b.log.Warn("retention failed", zap.String("partition", p.name), zap.Error(err))
		}
		if !pol.Compact {
			continue
		}
		_, durable, _ := p.extent()
		if p.compactedAt.Load() == durable {
			continue
		}
		if err := p.compact(pol, now); err != nil {
			m.b.log.Warn("compaction failed", zap.String("partition", p.name), zap.Error(err))
			continue
		}
		p.compactedAt.Store(durable)
	}
}

// wait returns once the loop has ended (the backend is closing).
func (m *maintainer) wait() { <-m.done }
