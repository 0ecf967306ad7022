package embedded

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

const defaultMaxPending = 10000

// CreateProducer opens a producer on a topic or on one partition.
func (b *Backend) CreateProducer(ctx context.Context, opts bridge.ProducerOptions) (bridge.Producer, error) {
	pr := &producer{b: b, topicName: opts.Topic}
	if p, err := b.lookupPartition(opts.Topic); err == nil {
		pr.fixed = p
	} else {
		t, err := b.lookupTopic(opts.Topic, true)
		if err != nil {
			return nil, err
		}
		pr.topic = t
		pr.topicName = t.name
	}
	if pr.fixed != nil {
		pr.topicName = pr.fixed.name
	}
	max := opts.MaxPending
	if max <= 0 {
		max = defaultMaxPending
	}
	pr.slots = make(chan struct{}, max)
	pr.progress = make(chan struct{})
	return pr, nil
}

// producer routes each message to a partition and hands it to the committer.
type producer struct {
	b         *Backend
	topicName string
	fixed     *partition // set when the producer names one partition
	topic     *topic     // set otherwise
	slots     chan struct{}
	rr        atomic.Uint64
	closed    atomic.Bool
	routes    atomic.Pointer[routes] // the topic's partitions, as of a layout

	// sent and done count messages; the committer completes them in send
	// order, so Flush waits until done reaches what sent was when it began.
	mu       sync.Mutex
	sent     uint64
	done     uint64
	progress chan struct{} // closed and replaced when done advances while flushing
	flushing bool
}

func (pr *producer) Topic() string { return pr.topicName }

// route picks the partition: by key hash (the same key always lands on the
// same partition), round robin without a key.
func (pr *producer) route(msg *bridge.OutMessage) (*partition, error) {
	if pr.fixed != nil {
		return pr.fixed, nil
	}
	parts := pr.partitions()
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: %s", bridge.ErrTopicNotFound, pr.topicName)
	}
	if len(msg.Key) > 0 {
		h := fnv.New32a()
		h.Write(msg.Key)
		return parts[int(h.Sum32()%uint32(len(parts)))], nil
	}
	return parts[int(pr.rr.Add(1)%uint64(len(parts)))], nil
}

// routes is a topic's partitions as of one backend layout.
type routes struct {
	layout uint64
	parts  []*partition
}

// partitions are the topic's partitions, looked up again only after the
// backend's layout changed (a lookup per send was ~4% of an MQTT publish).
func (pr *producer) partitions() []*partition {
	layout := pr.b.layout.Load()
	if r := pr.routes.Load(); r != nil && r.layout == layout {
		return r.parts
	}
	parts := pr.b.partitionsOf(pr.topic)
	pr.routes.Store(&routes{layout: layout, parts: parts})
	return parts
}

func (pr *producer) SendAsync(ctx context.Context, msg *bridge.OutMessage, cb bridge.SendCallback) {
	pr.send(ctx, msg, cb, func(p *partition) error {
		sm := &storedMessage{Key: msg.Key, Value: msg.Value, Properties: msg.Properties, EventTime: msg.EventTime}
		return pr.b.commits.enqueue(p, sm, cb, pr.release)
	})
}

// SendRaw stores a Kafka record batch as one raw group (bridge.RawProducer).
func (pr *producer) SendRaw(ctx context.Context, batch []byte, count int, cb bridge.SendCallback) {
	if count <= 0 {
		cb(bridge.SendResult{}, fmt.Errorf("embedded: a raw batch of %d records", count))
		return
	}
	pr.send(ctx, &bridge.OutMessage{}, cb, func(p *partition) error {
		return pr.b.commits.enqueueRaw(p, batch, count, cb, pr.release)
	})
}

// send routes msg, takes a pending slot and queues through enqueue.
func (pr *producer) send(ctx context.Context, msg *bridge.OutMessage, cb bridge.SendCallback, enqueue func(*partition) error) {
	if pr.closed.Load() {
		cb(bridge.SendResult{}, bridge.ErrClosed)
		return
	}
	p, err := pr.route(msg)
	if err != nil {
		cb(bridge.SendResult{}, err)
		return
	}
	select {
	case pr.slots <- struct{}{}:
	case <-ctx.Done():
		cb(bridge.SendResult{}, ctx.Err())
		return
	}
	// Counting and queueing under one lock keeps sent in the committer's
	// order, which is the order messages complete in (see Flush).
	pr.mu.Lock()
	err = enqueue(p)
	if err == nil {
		pr.sent++
	}
	pr.mu.Unlock()
	if err != nil {
		<-pr.slots
		cb(bridge.SendResult{}, err)
	}
}

// release frees a pending slot once a message is durable or failed.
func (pr *producer) release() {
	<-pr.slots
	pr.mu.Lock()
	pr.done++
	if pr.flushing {
		close(pr.progress)
		pr.progress = make(chan struct{})
		pr.flushing = false
	}
	pr.mu.Unlock()
}

func (pr *producer) Send(ctx context.Context, msg *bridge.OutMessage) (bridge.SendResult, error) {
	type result struct {
		r   bridge.SendResult
		err error
	}
	ch := make(chan result, 1)
	pr.SendAsync(ctx, msg, func(r bridge.SendResult, err error) { ch <- result{r, err} })
	select {
	case res := <-ch:
		return res.r, res.err
	case <-ctx.Done():
		return bridge.SendResult{}, ctx.Err()
	}
}

func (pr *producer) Flush(ctx context.Context) error {
	if pr.closed.Load() {
		return bridge.ErrClosed
	}
	return pr.flush(ctx)
}

func (pr *producer) flush(ctx context.Context) error {
	pr.mu.Lock()
	target := pr.sent
	pr.mu.Unlock()
	for {
		pr.mu.Lock()
		done, progress := pr.done, pr.progress
		pr.flushing = true
		pr.mu.Unlock()
		if done >= target {
			return nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close waits for what was sent to be durable.
func (pr *producer) Close() error {
	pr.closed.Store(true)
	return pr.flush(context.Background())
}
