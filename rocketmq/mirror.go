package rocketmq

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// subscriptionPrefix names the durable Pulsar subscription a RocketMQ group's offsets are
// mirrored onto: "rocketmq-" and the group, apart from a Kafka group of the same name.
const subscriptionPrefix = "rocketmq-"

// offsetMirror copies committed offsets onto a durable Pulsar subscription per group, so
// Pulsar's own tools show a RocketMQ group's backlog (DESIGN.md, subscriptions; as the Kafka
// handler does for its groups). The offsets in state stay the truth: mirroring runs behind
// commits, keeps only the latest offset per queue, and its failures are logged.
type offsetMirror struct {
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
	queue        int
}

func newOffsetMirror(h *Handler) *offsetMirror {
	m := &offsetMirror{h: h, todo: map[mirrorKey]int64{}, made: map[[2]string]bool{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go m.run()
	return m
}

func (m *offsetMirror) note(group, topic string, queue int, offset int64) {
	m.mu.Lock()
	m.todo[mirrorKey{group, topic, queue}] = offset
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *offsetMirror) close() {
	close(m.stop)
	<-m.done
}

func (m *offsetMirror) run() {
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
				m.h.log.Debug("mirroring an offset onto its Pulsar subscription", zap.String("group", k.group),
					zap.String("topic", k.topic), zap.Int("queue", k.queue), zap.Error(err))
			}
			cancel()
		}
	}
}

func (m *offsetMirror) apply(ctx context.Context, k mirrorKey, offset int64) error {
	info, err := m.h.cachedTopic(ctx, k.topic)
	if err != nil || k.queue >= queueCount(info) {
		return err
	}
	sub := subscriptionPrefix + k.group
	made := [2]string{k.group, k.topic}
	for try := 0; ; try++ {
		if !m.made[made] {
			err := m.h.admin.CreateSubscription(ctx, info.Name, sub, -1)
			if err != nil && !errors.Is(err, bridge.ErrSubscriptionExists) {
				return err
			}
			m.made[made] = true
		}
		err := m.h.admin.ResetSubscription(ctx, partition(info.Name, info.Partitions, k.queue), sub, offset)
		if !errors.Is(err, bridge.ErrSubscriptionNotFound) || try > 0 {
			return err
		}
		delete(m.made, made) // deleted meanwhile (an admin)
	}
}
