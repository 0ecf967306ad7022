// Package submirror copies consumer groups' committed offsets onto durable
// backend subscriptions, so Pulsar's own tools (and the console) show a
// Kafka or RocketMQ group's backlog (DESIGN.md, subscriptions across
// protocols). The offsets a handler keeps in state stay the truth: the
// mirror runs behind the commits, keeps only the latest offset per
// partition, and logs its failures instead of returning them.
package submirror

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Resolve names the backend topic of a handler's topic and the partition
// (or non-partitioned topic) that holds its partition p; ok is false when
// there is no such partition (any more).
type Resolve func(ctx context.Context, topic string, p int) (full, partition string, ok bool, err error)

// Mirror applies noted offsets in the background, one goroutine.
type Mirror struct {
	admin   bridge.Admin
	resolve Resolve
	log     *zap.Logger

	mu   sync.Mutex
	todo map[key]int64
	made map[[2]string]bool // (subscription, topic) known to exist
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

type key struct {
	sub, topic string
	partition  int
}

// New starts a mirror; Close stops it.
func New(admin bridge.Admin, resolve Resolve, log *zap.Logger) *Mirror {
	m := &Mirror{admin: admin, resolve: resolve, log: log,
		todo: map[key]int64{}, made: map[[2]string]bool{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go m.run()
	return m
}

// Note asks for subscription sub on topic's partition p to stand at
// offset (the next to consume); a later Note of the same replaces it.
func (m *Mirror) Note(sub, topic string, p int, offset int64) {
	m.mu.Lock()
	m.todo[key{sub, topic, p}] = offset
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Close stops the mirror; what is not applied yet is dropped (the next
// commit after a restart mirrors it).
func (m *Mirror) Close() {
	close(m.stop)
	<-m.done
}

func (m *Mirror) run() {
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		case <-m.wake:
		}
		m.mu.Lock()
		todo := m.todo
		m.todo = map[key]int64{}
		m.mu.Unlock()
		for k, offset := range todo {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := m.apply(ctx, k, offset); err != nil {
				m.log.Debug("mirroring an offset onto its subscription", zap.String("subscription", k.sub),
					zap.String("topic", k.topic), zap.Int("partition", k.partition), zap.Error(err))
			}
			cancel()
		}
	}
}

func (m *Mirror) apply(ctx context.Context, k key, offset int64) error {
	full, part, ok, err := m.resolve(ctx, k.topic, k.partition)
	if err != nil || !ok {
		return err
	}
	made := [2]string{k.sub, k.topic}
	for try := 0; ; try++ {
		if !m.made[made] {
			err := m.admin.CreateSubscription(ctx, full, k.sub, -1)
			if err != nil && !errors.Is(err, bridge.ErrSubscriptionExists) {
				return err
			}
			m.made[made] = true
		}
		err := m.admin.ResetSubscription(ctx, part, k.sub, offset)
		if !errors.Is(err, bridge.ErrSubscriptionNotFound) || try > 0 {
			return err
		}
		delete(m.made, made) // deleted meanwhile (a group deleted, an admin)
	}
}
