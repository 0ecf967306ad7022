package pulsar

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// consumer is a bridge.Consumer on a pulsar-client-go consumer (one topic,
// several, or a pattern).
type consumer struct {
	b    *Backend
	c    pulsar.Consumer
	opts bridge.SubscribeOptions
	// release gives back a principal's client (principals.go); nil: the
	// gateway's.
	release func()
	topic   string // the single non-partitioned topic, or "" (then Seek goes through the admin API)

	closed   atomic.Bool     // set under mu by Close; read without it on the hot path
	ctx      context.Context // ends at Close: unblocks Receive (set before use, never changed)
	cancel   context.CancelFunc
	ackCache ackCache // guarded by b.acks.mu

	mu       sync.Mutex
	unacked  map[subKey]*msgSet // received, not acked (nil once closed)
	unackedT string             // partition of unackedS, a cache of unacked[{unackedT, sub}]
	unackedS *msgSet
	floors   map[string]int64         // partition → lowest index to deliver after a Seek
	timers   map[*time.Timer]struct{} // delayed nacks
	chanOnce sync.Once
	ch       chan *bridge.Message

	parts     map[string]int // partition number of each topic name seen
	lastPos   pos            // entry of the last message received
	lastTopic string
	lastPart  int // partition number of lastTopic
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
	c := &consumer{b: b, opts: opts, timers: map[*time.Timer]struct{}{}, floors: map[string]int64{}, parts: map[string]int{}}
	// Every type needs received-not-acked messages: the broker does not
	// count a consumer close as a redelivery, even on Shared (conformance
	// RedeliverOnClose).
	c.unacked = map[subKey]*msgSet{}
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
	client, release, err := b.clientFor(opts.Principal)
	if err != nil {
		return nil, err
	}
	pc, err := client.Subscribe(co)
	if err != nil {
		if release != nil {
			release()
		}
		return nil, mapErr(err, subScope, "subscribe "+opts.Subscription)
	}
	c.c, c.release = pc, release
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
	cctx := c.ctx
	for {
		if c.closed.Load() {
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
		ix := m.Index()
		if ix == nil {
			return nil, errIndexMissing
		}
		name := m.Topic()
		id := m.ID()
		mp := pos{id.LedgerID(), id.EntryID()}
		mk := msgKey{mp, id.BatchIdx()}
		k := subKey{name, c.opts.Subscription}
		c.mu.Lock()
		part := c.lastPart
		sameTopic := name == c.lastTopic && c.lastTopic != ""
		if !sameTopic {
			var known bool
			if part, known = c.parts[name]; !known {
				part = partitionOf(name)
				c.parts[name] = part
			}
		}
		newEntry := mp != c.lastPos || !sameTopic
		c.lastPos, c.lastTopic, c.lastPart = mp, name, part
		skip := false
		if len(c.floors) > 0 {
			floor, hasFloor := c.floors[name]
			if skip = hasFloor && int64(*ix) < floor; !skip {
				delete(c.floors, name)
			}
		}
		if !skip && c.unacked != nil {
			c.unackedSetLocked(k).add(mp, mk.batch, id.BatchSize())
		}
		c.mu.Unlock()
		if newEntry { // one sparse-index update per entry, not per message
			c.b.index.learnMsg(name, m)
		}
		if skip {
			_ = c.c.Ack(m)
			continue
		}
		out, ok := toMessage(m, name, part)
		if !ok {
			return nil, errIndexMissing
		}
		out.RedeliveryCount = max(int(m.RedeliveryCount()), c.b.acks.count(k, mk))
		return out, nil
	}
}

// unackedSetLocked is unacked[k], created when missing, through a one-entry
// cache (the subscription is fixed, so the partition identifies k); c.mu is
// held and c.unacked is not nil.
func (c *consumer) unackedSetLocked(k subKey) *msgSet {
	if c.unackedS != nil && k.partition == c.unackedT {
		return c.unackedS
	}
	s := c.unacked[k]
	if s == nil {
		s = newMsgSet()
		c.unacked[k] = s
	}
	c.unackedT, c.unackedS = k.partition, s
	return s
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
	if c.closed.Load() {
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
	p, bi := m.pos(), m.id.BatchIdx()
	c.b.acks.ackedCached(&c.ackCache, k, p, bi, m.id.BatchSize())
	c.mu.Lock()
	if c.unacked != nil {
		c.unackedSetLocked(k).remove(p, bi)
	}
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
	if c.unacked != nil {
		c.unackedSetLocked(k).removeUpTo(m.pos(), m.id.BatchIdx())
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
	if c.timers == nil { // closed meanwhile
		return
	}
	if c.unacked != nil {
		c.unackedSetLocked(k).remove(m.pos(), m.id.BatchIdx())
	}
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
	k := subKey{m.topic, c.opts.Subscription}
	c.b.acks.reset(k)
	if c.topic == m.topic {
		err = c.c.Seek(pulsar.NewMessageID(e.ledger, e.entry, -1, max(int32(m.partition), 0)))
		c.b.saveAcks(ctx, k)
		return mapErr(err, subScope, "seek")
	}
	return c.b.adm.resetCursor(ctx, tn, c.opts.Subscription, e, m.index)
}

// Close detaches. What was received and not acknowledged counts as
// redelivered once: the broker does not count a consumer going away.
func (c *consumer) Close() error {
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return nil
	}
	c.closed.Store(true)
	un := c.unacked
	c.unacked, c.unackedS = nil, nil
	for tm := range c.timers {
		tm.Stop()
	}
	c.timers = nil
	c.mu.Unlock()
	c.cancel()
	for k, ms := range un {
		ms.each(func(mk msgKey) { c.b.acks.bump(k, mk) })
	}
	c.c.Close()
	c.b.saveSubAcks(c.opts.Subscription)
	c.b.untrack(c)
	if c.release != nil {
		c.release()
	}
	return nil
}

func (c *consumer) closeForBackend() { _ = c.Close() }

func (c *consumer) Unsubscribe() error {
	if c.closed.Load() {
		return errClosed("consumer")
	}
	if err := c.c.Unsubscribe(); err != nil {
		return mapErr(err, subScope, "unsubscribe")
	}
	// Close then saves the emptied books: a later subscription of this
	// name must not inherit these acks.
	c.mu.Lock()
	parts := make([]string, 0, len(c.parts)+1)
	for p := range c.parts {
		parts = append(parts, p)
	}
	if c.topic != "" {
		parts = append(parts, c.topic)
	}
	c.mu.Unlock()
	for _, p := range parts {
		c.b.acks.reset(subKey{p, c.opts.Subscription})
	}
	return c.Close()
}
