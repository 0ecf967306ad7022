package kafka

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// subscriptionMirror copies committed offsets onto a durable Pulsar
// subscription named after the group, so Pulsar's own tools show a Kafka
// group's backlog (DESIGN.md, subscriptions). The committed offsets in
// state stay the truth: mirroring runs behind commits, keeps only the
// latest offset per partition, and its failures are logged, not returned.
type subscriptionMirror struct {
	h    *Handler
	mu   sync.Mutex
	todo map[mirrorKey]int64
	made map[[2]string]bool // (group, topic) subscriptions known to exist
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

type mirrorKey struct {
	group, topic string
	partition    int32
}

func newSubscriptionMirror(h *Handler) *subscriptionMirror {
	m := &subscriptionMirror{
		h: h, todo: map[mirrorKey]int64{}, made: map[[2]string]bool{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go m.run()
	return m
}

func (m *subscriptionMirror) note(group, topic string, partition int32, offset int64) {
	m.mu.Lock()
	m.todo[mirrorKey{group, topic, partition}] = offset
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *subscriptionMirror) close() {
	close(m.stop)
	<-m.done
}

func (m *subscriptionMirror) run() {
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		case <-m.wake:
		}
		m.mu.Lock()
		todo := m.todo
		m.todo = map[mirrorKey]int64{}
		m.mu.Unlock()
		for k, offset := range todo {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := m.apply(ctx, k, offset); err != nil {
				m.h.log.Debug("mirroring a commit onto its Pulsar subscription", zap.String("group", k.group),
					zap.String("topic", k.topic), zap.Int32("partition", k.partition), zap.Error(err))
			}
			cancel()
		}
	}
}

func (m *subscriptionMirror) apply(ctx context.Context, k mirrorKey, offset int64) error {
	info, ok, err := m.h.topics.get(ctx, k.topic)
	if err != nil || !ok || int(k.partition) >= info.partitions {
		return err
	}
	admin := m.h.b.Admin()
	made := [2]string{k.group, k.topic}
	for try := 0; ; try++ {
		if !m.made[made] {
			err := admin.CreateSubscription(ctx, info.full, k.group, -1)
			if err != nil && !errors.Is(err, bridge.ErrSubscriptionExists) {
				return err
			}
			m.made[made] = true
		}
		err := admin.ResetSubscription(ctx, info.partition(k.partition), k.group, offset)
		if !errors.Is(err, bridge.ErrSubscriptionNotFound) || try > 0 {
			return err
		}
		delete(m.made, made) // deleted meanwhile (DeleteGroups, an admin)
	}
}
