package pulsar

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// consumer is a bridge.Consumer on a pulsar-client-go consumer (one topic,
// several, or a pattern).
type consumer struct {
	b     *Backend
	c     pulsar.Consumer
	opts  bridge.SubscribeOptions
	topic string // the single non-partitioned topic, or "" (then Seek goes through the admin API)

	mu       sync.Mutex
	closed   bool
	ctx      context.Context // ends at Close: unblocks Receive
	cancel   context.CancelFunc
	unacked  map[subKey]map[msgKey]struct{} // Exclusive/Failover: received, not acked
	floors   map[string]int64               // partition → lowest index to deliver after a Seek
	timers   map[*time.Timer]struct{}       // delayed nacks
	chanOnce sync.Once
	ch       chan *bridge.Message

	parts     map[string]int // partition number of each topic name seen
	lastPos   pos            // entry of the last message received
	lastTopic string
}

var subTypes = map[bridge.SubscriptionType]pulsar.SubscriptionType{
	bridge.Exclusive: pulsar.Exclusive, bridge.Shared: pulsar.Shared,
	bridge.Failover: pulsar.Failover, bridge.KeyShared: pulsar.KeyShared,
}

// Subscribe attaches a consumer, creating the subscription when missing.
func (b *Backend) Subscribe(ctx context.Context, opts bridge.SubscribeOptions) (bridge.Consumer, error) {
	if b.isClosed() {
		return nil, errClosed("backend")
	}
	typ, ok := subTypes[opts.Type]
	if !ok || opts.Subscription == "" || (len(opts.Topics) == 0) == (opts.TopicsPattern == "") {
		return nil, fmt.Errorf("%w: subscribe: need a subscription name, a type and exactly one of Topics and TopicsPattern", bridge.ErrInvalid)
	}
	co := pulsar.ConsumerOptions{
		SubscriptionName:               opts.Subscription,
		Type:                           typ,
		Name:                           opts.ConsumerName,
		ReceiverQueueSize:              opts.ReceiverQueueSize,
		NackRedeliveryDelay:            opts.NackRedeliveryDelay,
		EnableBatchIndexAcknowledgment: true,
		AutoDiscoveryPeriod:            opts.PatternDiscovery,
		SubscriptionInitialPosition:    pulsar.SubscriptionPositionLatest,
	}
	if opts.InitialPosition == bridge.Earliest {
		co.SubscriptionInitialPosition = pulsar.SubscriptionPositionEarliest
	}
	if opts.NonDurable {
		co.SubscriptionMode = pulsar.NonDurable
	}
	if co.AutoDiscoveryPeriod <= 0 {
		co.AutoDiscoveryPeriod = b.opts.PatternDiscovery
	}
	if opts.NackRedeliveryDelay <= 0 {
		opts.NackRedeliveryDelay = time1s
	}
	// The client's nack tracker redelivers early (its timer ticks at a
	// fraction of the delay), so the bridge waits the delay itself and
	// then nacks with a minimal client delay.
	co.NackRedeliveryDelay = 10 * time.Millisecond
	c := &consumer{b: b, opts: opts, timers: map[*time.Timer]struct{}{}, unacked: map[subKey]map[msgKey]struct{}{}, floors: map[string]int64{}}
	if opts.TopicsPattern != "" {
		if _, err := regexp.Compile(opts.TopicsPattern); err != nil {
			return nil, fmt.Errorf("%w: pattern %q: %v", bridge.ErrInvalid, opts.TopicsPattern, err)
		}
		// The client parses the pattern as a topic name to find its
		// namespace, so a leading ^ must go (the scheme prefix anchors it).
		co.TopicsPattern = strings.TrimPrefix(opts.TopicsPattern, "^")
	} else {
		for _, t := range opts.Topics {
			tn, err := b.parse(t)
			if err != nil {
				return nil, err
			}
			co.Topics = append(co.Topics, tn.String())
		}
		if len(co.Topics) == 1 {
			if n, err := b.adm.partitions(ctx, co.Topics[0]); err == nil && n == 0 {
				c.topic = co.Topics[0]
			}
			co.Topic, co.Topics = co.Topics[0], nil
		}
	}
	pc, err := b.client.Subscribe(co)
	if err != nil {
		return nil, mapErr(err, subScope, "subscribe "+opts.Subscription)
	}
	c.c = pc
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := b.track(c); err != nil {
		pc.Close()
		return nil, err
	}
	return c, nil
}

func (c *consumer) Subscription() string { return c.opts.Subscription }

func (c *consumer) singleActive() bool {
	return c.opts.Type == bridge.Exclusive || c.opts.Type == bridge.Failover
}

// Receive returns the next message. Messages below a Seek's index (the rest
// of the entry a seek had to start from) are acknowledged and skipped.
func (c *consumer) Receive(ctx context.Context) (*bridge.Message, error) {
	for {
		c.mu.Lock()
		closed, cctx := c.closed, c.ctx
		c.mu.Unlock()
		if closed {
			return nil, errClosed("consumer")
		}
		var m pulsar.Message
		var err error
		if ctx.Done() == nil { // no deadline of the caller's: no merge needed
			m, err = c.c.Receive(cctx)
		} else {
			rctx, stop := mergeCtx(ctx, cctx)
			m, err = c.c.Receive(rctx)
			stop()
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if cctx.Err() != nil {
				return nil, errClosed("consumer")
			}
			return nil, mapErr(err, subScope, "receive")
		}
		name := m.Topic()
		c.mu.Lock()
		part, known := c.parts[name]
		mp := pos{m.ID().LedgerID(), m.ID().EntryID()}
		newEntry := mp != c.lastPos || name != c.lastTopic
		c.lastPos, c.lastTopic = mp, name
		c.mu.Unlock()
		if !known {
			part = partitionOf(name)
			c.mu.Lock()
			if c.parts == nil {
				c.parts = map[string]int{}
			}
			c.parts[name] = part
			c.mu.Unlock()
		}
		out, ok := toMessage(m, name, part)
		if !ok {
			return nil, errIndexMissing
		}
		if newEntry { // one sparse-index update per entry, not per message
			c.b.index.learnMsg(name, m)
		}
		c.mu.Lock()
		floor, hasFloor := c.floors[name]
		if hasFloor && out.Index < floor {
			c.mu.Unlock()
			_ = c.c.Ack(m)
			continue
		}
		delete(c.floors, name)
		k := subKey{name, c.opts.Subscription}
		mk := msgKey{pos{m.ID().LedgerID(), m.ID().EntryID()}, m.ID().BatchIdx()}
		if c.unacked != nil {
			if c.unacked[k] == nil {
				c.unacked[k] = map[msgKey]struct{}{}
			}
			c.unacked[k][mk] = struct{}{}
		}
		c.mu.Unlock()
		out.RedeliveryCount = max(int(m.RedeliveryCount()), c.b.acks.count(k, mk))
		return out, nil
	}
}

// mergeCtx ends when either context ends.
func mergeCtx(a, b context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

func (c *consumer) Chan() <-chan *bridge.Message {
	c.chanOnce.Do(func() {
		c.ch = make(chan *bridge.Message)
		go func() {
			defer close(c.ch)
			for {
				m, err := c.Receive(context.Background())
				if err != nil {
					return
				}
				select {
				case c.ch <- m:
				case <-c.ctx.Done():
					return
				}
			}
		}()
	})
	return c.ch
}

func (c *consumer) check(id bridge.MessageID) (*msgID, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, errClosed("consumer")
	}
	return asID(id)
}

func (c *consumer) Ack(id bridge.MessageID) error {
	m, err := c.check(id)
	if err != nil {
		return err
	}
	if err := c.c.AckID(m.id); err != nil {
		return mapErr(err, subScope, "ack")
	}
	k := subKey{m.topic, c.opts.Subscription}
	c.b.acks.acked(k, m.pos(), m.id.BatchIdx(), m.id.BatchSize())
	c.mu.Lock()
	delete(c.unacked[k], msgKey{m.pos(), m.id.BatchIdx()})
	c.mu.Unlock()
	return nil
}

func (c *consumer) AckCumulative(id bridge.MessageID) error {
	m, err := c.check(id)
	if err != nil {
		return err
	}
	if !c.singleActive() {
		return fmt.Errorf("%w: cumulative ack on a %v subscription", bridge.ErrNotAllowed, c.opts.Type)
	}
	if err := c.c.AckIDCumulative(m.id); err != nil {
		return mapErr(err, subScope, "cumulative ack")
	}
	k := subKey{m.topic, c.opts.Subscription}
	c.b.acks.ackedUpTo(k, m.pos(), m.id.BatchIdx(), m.id.BatchSize())
	c.mu.Lock()
	for q := range c.unacked[k] {
		if less(q.pos, m.pos()) || q.pos == m.pos() && q.batch <= m.id.BatchIdx() {
			delete(c.unacked[k], q)
		}
	}
	c.mu.Unlock()
	return nil
}

func (c *consumer) Nack(id bridge.MessageID) {
	m, err := c.check(id)
	if err != nil {
		return
	}
	k := subKey{m.topic, c.opts.Subscription}
	if c.singleActive() {
		c.b.acks.bump(k, msgKey{m.pos(), m.id.BatchIdx()})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.unacked[k], msgKey{m.pos(), m.id.BatchIdx()})
	var tm *time.Timer
	tm = time.AfterFunc(c.opts.NackRedeliveryDelay, func() {
		c.mu.Lock()
		_, live := c.timers[tm]
		delete(c.timers, tm)
		c.mu.Unlock()
		if live {
			c.c.NackID(m.id)
		}
	})
	c.timers[tm] = struct{}{}
}

// Seek moves the subscription so the next message has id's index: the
// client's Seek for a single non-partitioned topic, else an admin cursor
// reset of that partition. Either lands on the entry; the rest is skipped.
func (c *consumer) Seek(id bridge.MessageID) error {
	m, err := c.check(id)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.b.opts.OperationTimeout)
	defer cancel()
	tn, err := c.b.parse(m.topic)
	if err != nil {
		return err
	}
	e, ok, err := c.b.findEntry(ctx, tn, m.index)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: seek to index %d of %s: no such message", bridge.ErrInvalid, m.index, m.topic)
	}
	c.mu.Lock()
	c.floors[m.topic] = m.index
	c.mu.Unlock()
	c.b.acks.reset(subKey{m.topic, c.opts.Subscription})
	if c.topic == m.topic {
		err = c.c.Seek(pulsar.NewMessageID(e.ledger, e.entry, -1, max(int32(m.partition), 0)))
		return mapErr(err, subScope, "seek")
	}
	return c.b.adm.resetCursor(ctx, tn, c.opts.Subscription, e, m.index)
}

// Close detaches. What was received and not acknowledged counts as
// redelivered once: the broker does not count a consumer going away.
func (c *consumer) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	un := c.unacked
	c.unacked = nil
	for tm := range c.timers {
		tm.Stop()
	}
	c.timers = nil
	c.mu.Unlock()
	c.cancel()
	for k, ms := range un {
		for mk := range ms {
			c.b.acks.bump(k, mk)
		}
	}
	c.c.Close()
	c.b.untrack(c)
	return nil
}

func (c *consumer) closeForBackend() { _ = c.Close() }

func (c *consumer) Unsubscribe() error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return errClosed("consumer")
	}
	if err := c.c.Unsubscribe(); err != nil {
		return mapErr(err, subScope, "unsubscribe")
	}
	return c.Close()
}
