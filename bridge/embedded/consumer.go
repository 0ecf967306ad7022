package embedded

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

const (
	defaultReceiverQueue = 1000
	defaultNackDelay     = time.Second
)

var consumerSeq atomic.Uint64

// delivery is a message on its way to a consumer, stamped with the
// subscription epoch it was sent in.
type delivery struct {
	msg   *bridge.Message
	sub   *subscription
	epoch uint64
}

// consumer is one caller's attachment to a subscription on every partition
// of its topics (or of the topics its pattern matches).
type consumer struct {
	b          *Backend
	opts       bridge.SubscribeOptions
	name       string
	ringPoints []uint32
	topics     map[string]bool // full names of named topics
	pattern    *regexp.Regexp
	queue      deliveryQueue
	done       chan struct{}

	mu     sync.Mutex
	subs   map[string]*subscription // by partition name
	closed bool

	// Dispatchers held back by this consumer's full queue wait in waiters
	// until the caller has taken half of it (waiting says some do): not a
	// wake-up per message taken.
	waitMu  sync.Mutex
	waiters []*subscription
	waiting atomic.Bool

	// notify: the caller's bridge.Notifier callback (nil: none).
	notify atomic.Pointer[func()]

	chanOnce sync.Once
	userCh   chan *bridge.Message
	// fwd is userCh once Chan started: what waits in it counts against
	// ReceiverQueueSize like what waits in queue.
	fwd atomic.Pointer[chan *bridge.Message]
}

// Subscribe attaches a consumer to a subscription on each partition of its
// topics, creating the subscription (and, when allowed, the topic).
func (b *Backend) Subscribe(ctx context.Context, opts bridge.SubscribeOptions) (bridge.Consumer, error) {
	if opts.Subscription == "" {
		return nil, fmt.Errorf("%w: no subscription name", bridge.ErrInvalid)
	}
	if (len(opts.Topics) == 0) == (opts.TopicsPattern == "") {
		return nil, fmt.Errorf("%w: give topics or a pattern, not both or neither", bridge.ErrInvalid)
	}
	if opts.ReceiverQueueSize <= 0 {
		opts.ReceiverQueueSize = defaultReceiverQueue
	}
	if opts.NackRedeliveryDelay <= 0 {
		opts.NackRedeliveryDelay = defaultNackDelay
	}
	c := &consumer{b: b, opts: opts, name: opts.ConsumerName, topics: map[string]bool{},
		queue: deliveryQueue{ready: make(chan struct{}, 1)}, done: make(chan struct{}),
		subs: map[string]*subscription{}}
	if c.name == "" {
		c.name = "consumer-" + strconv.FormatUint(consumerSeq.Add(1), 10)
	}
	if opts.Type == bridge.KeyShared { // only a Key_Shared subscription's consumers share a ring (attach)
		c.ringPoints = ringPointsFor(c.name)
	}

	var initial []*topic
	if opts.TopicsPattern != "" {
		re, err := regexp.Compile("^(?:" + opts.TopicsPattern + ")$")
		if err != nil {
			return nil, fmt.Errorf("%w: topics pattern: %v", bridge.ErrInvalid, err)
		}
		c.pattern = re
		for _, t := range b.sortedTopics("") {
			if re.MatchString(t.name) {
				t := t
				initial = append(initial, &t)
			}
		}
	} else {
		for _, name := range opts.Topics {
			t, err := b.lookupTopic(name, true)
			if err != nil {
				return nil, err
			}
			c.topics[t.name] = true
			initial = append(initial, t)
		}
	}
	// Follow new topics (pattern) and new partitions before attaching, so
	// nothing created in between is missed.
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, bridge.ErrClosed
	}
	c.followLocked()
	b.mu.Unlock()
	for _, t := range initial {
		if err := c.attachTopic(t, opts.InitialPosition); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// attachTopic attaches to each partition of t not yet attached.
func (c *consumer) attachTopic(t *topic, pos bridge.InitialPosition) error {
	for _, p := range c.b.partitionsOf(t) {
		c.mu.Lock()
		_, have := c.subs[p.name]
		closed := c.closed
		c.mu.Unlock()
		if have || closed {
			continue
		}
		s, err := p.subscribe(c.opts, pos)
		if err != nil {
			return fmt.Errorf("subscribe %s to %s: %w", c.opts.Subscription, p.name, err)
		}
		if err := s.attach(c); err != nil {
			p.dropIfIdle(s)
			return fmt.Errorf("subscribe %s to %s: %w", c.opts.Subscription, p.name, err)
		}
		c.mu.Lock()
		c.subs[p.name] = s
		c.mu.Unlock()
	}
	return nil
}

// discover is told of a topic created (or grown) after the consumer
// started. A topic that appears later is read from its start: its first
// messages may have been written before the consumer attached.
func (c *consumer) discover(name string) {
	if c.pattern != nil && !c.pattern.MatchString(name) || c.pattern == nil && !c.topics[name] {
		return
	}
	t, err := c.b.lookupTopic(name, false)
	if err != nil {
		return
	}
	if err := c.attachTopic(t, bridge.Earliest); err != nil {
		c.b.log.Warn("attaching a new topic to a consumer", zap.String("consumer", c.name), zap.String("topic", name), zap.Error(err))
	}
}

// followLocked has c told of new topics its pattern matches, or of new
// partitions of its topics (announceLocked). b.mu is held.
func (c *consumer) followLocked() {
	if c.pattern != nil {
		c.b.patterns[c] = struct{}{}
		return
	}
	for name := range c.topics {
		c.b.followers[name] = append(c.b.followers[name], c)
	}
}

// unfollowLocked undoes followLocked. b.mu is held.
func (c *consumer) unfollowLocked() {
	delete(c.b.patterns, c)
	for name := range c.topics {
		fs := slices.DeleteFunc(c.b.followers[name], func(x *consumer) bool { return x == c })
		if len(fs) == 0 {
			delete(c.b.followers, name)
		} else {
			c.b.followers[name] = fs
		}
	}
}

// offer queues a delivery without blocking; false means the consumer holds
// ReceiverQueueSize messages its caller has not taken, and then d.sub is
// woken once the caller has taken half of them. d.sub.mu is held.
func (c *consumer) offer(d delivery) bool {
	if c.tryOffer(d) {
		return true
	}
	c.waitMu.Lock()
	if !slices.Contains(c.waiters, d.sub) {
		c.waiters = append(c.waiters, d.sub)
	}
	c.waiting.Store(true)
	c.waitMu.Unlock()
	// The caller may have made room before it saw waiting.
	return c.tryOffer(d)
}

func (c *consumer) tryOffer(d delivery) bool {
	if !c.queue.push(d, c.opts.ReceiverQueueSize-c.inUserCh()) {
		return false
	}
	if f := c.notify.Load(); f != nil {
		(*f)()
	}
	return true
}

// Notify implements bridge.Notifier.
func (c *consumer) Notify(ready func()) {
	c.notify.Store(&ready)
	if c.queue.len() > 0 {
		ready()
	}
}

// TryReceive implements bridge.Notifier.
func (c *consumer) TryReceive() (*bridge.Message, bool) {
	for {
		select {
		case <-c.done:
			return nil, true
		case <-c.b.closing:
			return nil, true
		default:
		}
		d, ok := c.queue.pop()
		if !ok {
			return nil, false
		}
		c.taken()
		if d.epoch != d.sub.epoch.Load() {
			continue // voided by a seek or a failover switch
		}
		return d.msg, false
	}
}

// outstanding counts the deliveries the caller has not taken: in queue and,
// through Chan, in userCh (not the one the forwarder holds).
func (c *consumer) outstanding() int {
	return c.queue.len() + c.inUserCh()
}

func (c *consumer) inUserCh() int {
	if ch := c.fwd.Load(); ch != nil {
		return len(*ch)
	}
	return 0
}

// taken follows each delivery taken from queue: once the caller has taken
// half of a full queue, the dispatchers it held back go on.
func (c *consumer) taken() {
	if !c.waiting.Load() || c.outstanding() > c.opts.ReceiverQueueSize/2 {
		return
	}
	c.waitMu.Lock()
	ws := c.waiters
	c.waiters = nil
	c.waiting.Store(false)
	c.waitMu.Unlock()
	for _, s := range ws {
		s.wake()
	}
}

// forget drops a subscription whose partition went away.
func (c *consumer) forget(s *subscription) {
	c.mu.Lock()
	if c.subs[s.p.name] == s {
		delete(c.subs, s.p.name)
	}
	c.mu.Unlock()
}

func (c *consumer) Subscription() string { return c.opts.Subscription }

func (c *consumer) Receive(ctx context.Context) (*bridge.Message, error) {
	for {
		// A closed consumer returns nothing more, even what it had queued.
		select {
		case <-c.done:
			return nil, bridge.ErrClosed
		case <-c.b.closing:
			return nil, bridge.ErrClosed
		default:
		}
		if d, ok := c.queue.pop(); ok {
			c.taken()
			if d.epoch != d.sub.epoch.Load() {
				continue // voided by a seek or a failover switch
			}
			return d.msg, nil
		}
		select {
		case <-c.b.closing:
			return nil, bridge.ErrClosed
		case <-c.queue.ready:
		case <-c.done:
			return nil, bridge.ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Chan forwards the queue to a channel; it closes when the consumer closes.
// The channel holds up to half the ReceiverQueueSize, so that a caller
// takes runs of messages without a goroutine switch each; what waits in it
// counts against ReceiverQueueSize, and on Close it is dropped, unread, to
// be delivered again (the subscription holds it unacknowledged).
func (c *consumer) Chan() <-chan *bridge.Message {
	c.chanOnce.Do(func() {
		ch := make(chan *bridge.Message, c.opts.ReceiverQueueSize/2)
		c.userCh = ch
		c.fwd.Store(&ch)
		go c.forward(ch)
	})
	return c.userCh
}

func (c *consumer) forward(ch chan *bridge.Message) {
	defer func() {
		// A closed consumer gives nothing more, even what it had queued.
		for len(ch) > 0 {
			select {
			case <-ch:
			default:
			}
		}
		close(ch)
	}()
	for {
		d, ok := c.queue.pop()
		if !ok {
			select {
			case <-c.queue.ready:
			case <-c.done:
				return
			case <-c.b.closing:
				return
			}
			continue
		}
		c.taken()
		if d.epoch != d.sub.epoch.Load() {
			continue // voided by a seek or a failover switch
		}
		select {
		case ch <- d.msg:
			continue
		default:
		}
		select {
		case ch <- d.msg:
		case <-c.done:
			return
		case <-c.b.closing:
			return
		}
	}
}

// subFor finds the subscription a message ID belongs to.
func (c *consumer) subFor(id bridge.MessageID) (*subscription, int64, error) {
	var mid messageID
	switch v := id.(type) {
	case messageID: // from a send
		mid = v
	case *messageID: // from a read (partlog.go)
		if v == nil {
			return nil, 0, fmt.Errorf("%w: nil message id", bridge.ErrInvalid)
		}
		mid = *v
	default:
		return nil, 0, fmt.Errorf("%w: message id %v is not this backend's", bridge.ErrInvalid, id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.b.isClosed() {
		return nil, 0, bridge.ErrClosed
	}
	s, ok := c.subs[mid.topic]
	if !ok {
		return nil, 0, fmt.Errorf("%w: %s is not a partition of this consumer", bridge.ErrInvalid, mid.topic)
	}
	return s, mid.index, nil
}

func (c *consumer) Ack(id bridge.MessageID) error {
	s, idx, err := c.subFor(id)
	if err != nil {
		return err
	}
	s.ack(idx)
	return nil
}

func (c *consumer) AckCumulative(id bridge.MessageID) error {
	if t := c.opts.Type; t == bridge.Shared || t == bridge.KeyShared {
		return fmt.Errorf("%w: cumulative ack on a %v subscription", bridge.ErrNotAllowed, t)
	}
	s, idx, err := c.subFor(id)
	if err != nil {
		return err
	}
	s.ackCumulative(idx)
	return nil
}

func (c *consumer) Nack(id bridge.MessageID) {
	if s, idx, err := c.subFor(id); err == nil {
		s.nack(idx, c.opts.NackRedeliveryDelay)
	}
}

func (c *consumer) Seek(id bridge.MessageID) error {
	s, idx, err := c.subFor(id)
	if err != nil {
		return err
	}
	s.reset(idx)
	return nil
}

// Close detaches from every partition; unacknowledged messages go to other
// consumers. A non-durable subscription goes with its last consumer.
func (c *consumer) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	subs := c.subs
	c.subs = map[string]*subscription{}
	c.mu.Unlock()
	close(c.done)
	if f := c.notify.Load(); f != nil {
		(*f)() // TryReceive tells it closed
	}

	c.b.mu.Lock()
	c.unfollowLocked()
	c.b.mu.Unlock()
	for _, s := range subs {
		if s.detach(c) && !s.durable {
			s.p.dropIfIdle(s)
		}
	}
	return nil
}

func (c *consumer) Unsubscribe() error {
	c.mu.Lock()
	subs := make([]*subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		if s.consumerCount() > 1 {
			return fmt.Errorf("%w: %s has other consumers", bridge.ErrSubscriptionBusy, c.opts.Subscription)
		}
	}
	c.Close()
	for _, s := range subs {
		if err := s.p.deleteSubscription(s.name, true); err != nil {
			return err
		}
	}
	return nil
}

// deliveryQueue holds the deliveries a consumer's caller has not taken. A
// slice that grows with what waits and goes when it is drained, not a
// channel of ReceiverQueueSize: an idle consumer (an idle MQTT device's
// subscription) holds no buffer; a channel of 256 deliveries was 6 KiB.
type deliveryQueue struct {
	mu    sync.Mutex
	items []delivery // items[head:] wait
	head  int
	// ready holds a token while deliveries may wait: a taker that finds the
	// queue empty waits for it; one that leaves some puts it back.
	ready chan struct{}
}

// push queues d unless limit or more wait.
func (q *deliveryQueue) push(d delivery, limit int) bool {
	q.mu.Lock()
	if len(q.items)-q.head >= limit {
		q.mu.Unlock()
		return false
	}
	if q.head > 0 && len(q.items) == cap(q.items) {
		// Never drained: move what waits to the front rather than grow.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, d)
	q.mu.Unlock()
	q.signal()
	return true
}

// pop takes the first waiting delivery.
func (q *deliveryQueue) pop() (delivery, bool) {
	q.mu.Lock()
	if q.head == len(q.items) {
		q.mu.Unlock()
		return delivery{}, false
	}
	d := q.items[q.head]
	q.items[q.head] = delivery{}
	q.head++
	more := q.head < len(q.items)
	if !more {
		// Drained: keep a small array for the next few, free a big one.
		if cap(q.items) > 8 {
			q.items = nil
		} else {
			q.items = q.items[:0]
		}
		q.head = 0
	}
	q.mu.Unlock()
	if more {
		q.signal()
	}
	return d, true
}

func (q *deliveryQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}

func (q *deliveryQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}
