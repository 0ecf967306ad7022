package mqtt

import (
	"context"
	"errors"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/producercache"
)

// newProducers caches one bridge producer per topic, shared by every
// client: opening one per message would cost a round trip each on Pulsar.
// Idle ones are closed, since devices often publish to a topic of their own
// and come and go. Publishes that arrive while a topic's producer opens
// wait in arrival order (producercache.Cache.SendAsync), so publishes of
// several connections (mosquitto_pub runs one per message) keep their order.
func newProducers(b bridge.Backend, idle time.Duration) *producercache.Cache {
	return producercache.New(b, producercache.Options{Idle: idle, Create: func(ctx context.Context, o bridge.ProducerOptions) (bridge.Producer, error) {
		return openProducer(ctx, b, o)
	}})
}

func producerOptions(topic, principal string) bridge.ProducerOptions {
	return bridge.ProducerOptions{Topic: topic, Principal: principal, BatchingMaxDelay: time.Millisecond, MaxPending: 1000}
}

// openProducer opens a producer. A backend that does not create topics on
// first use (Pulsar's admin lookup of a new topic) gets it created here,
// partitioned with one partition as the broker's auto-creation would.
func openProducer(ctx context.Context, b bridge.Backend, o bridge.ProducerOptions) (bridge.Producer, error) {
	p, err := b.CreateProducer(ctx, o)
	if !errors.Is(err, bridge.ErrTopicNotFound) {
		return p, err
	}
	if err := b.Admin().CreateTopic(ctx, o.Topic, 1); err != nil && !errors.Is(err, bridge.ErrTopicExists) {
		return nil, err
	}
	return b.CreateProducer(ctx, o)
}
