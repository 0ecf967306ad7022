package pulsar

import (
	"context"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// producer is a bridge.Producer on a pulsar-client-go producer. Callbacks
// fire in send order from one dispatcher goroutine, each once its receipt
// came and its index is known (see tailer).
type producer struct {
	b           *Backend
	topic       string
	partitioned bool // the client routes over partitions
	fixedPart   int  // partition of a pinned producer (-1: not partitioned)
	p           pulsar.Producer

	sendMu sync.Mutex // orders queue pushes as the client's sends
	closed bool
	queue  chan *pending
	quit   chan struct{}
	wg     sync.WaitGroup

	tmu     sync.Mutex
	tailers map[string]*tailer
}

type pending struct {
	cb    bridge.SendCallback
	done  chan struct{}
	id    pulsar.MessageID
	err   error
	flush chan struct{} // a Flush marker, no message
}

// CreateProducer opens a producer. A partition's name pins it there.
func (b *Backend) CreateProducer(ctx context.Context, opts bridge.ProducerOptions) (bridge.Producer, error) {
	if b.isClosed() {
		return nil, errClosed("backend")
	}
	tn, err := b.parse(opts.Topic)
	if err != nil {
		return nil, err
	}
	name := tn.String()
	parts, err := b.adm.partitions(ctx, name)
	if err != nil {
		return nil, err
	}
	maxPending := opts.MaxPending
	if maxPending <= 0 {
		maxPending = b.opts.MaxPending
	}
	po := pulsar.ProducerOptions{
		Topic:                           name,
		Name:                            opts.Name,
		MaxPendingMessages:              maxPending,
		BatchingMaxPublishDelay:         opts.BatchingMaxDelay,
		BatchingMaxMessages:             uint(max(opts.BatchingMaxMessages, 0)),
		SendTimeout:                     -1, // retry through broker restarts; callers bound with ctx
		PartitionsAutoDiscoveryInterval: time.Second,
	}
	if opts.KeyBasedBatching {
		po.BatcherBuilderType = pulsar.KeyBasedBatchBuilder
	}
	if po.BatchingMaxMessages == 0 {
		// Shared subscriptions dispatch whole entries: smaller batches
		// spread a burst over consumers.
		po.BatchingMaxMessages = 100
	}
	if po.BatchingMaxPublishDelay <= 0 {
		po.BatchingMaxPublishDelay = 5 * time.Millisecond
	}
	pp, err := b.client.CreateProducer(po)
	if err != nil {
		return nil, mapErr(err, topicScope, "producer on "+name)
	}
	p := &producer{b: b, topic: name, partitioned: parts > 0, fixedPart: partitionOf(name), p: pp,
		queue: make(chan *pending, maxPending), quit: make(chan struct{}), tailers: map[string]*tailer{}}
	if err := b.track(p); err != nil {
		pp.Close()
		return nil, err
	}
	p.wg.Add(1)
	go p.dispatch()
	return p, nil
}

func (p *producer) Topic() string { return p.topic }

func (p *producer) SendAsync(ctx context.Context, msg *bridge.OutMessage, cb bridge.SendCallback) {
	pm := &pulsar.ProducerMessage{Payload: msg.Value, Properties: msg.Properties, EventTime: msg.EventTime}
	if msg.Key != nil {
		pm.Key = string(msg.Key)
		if len(msg.Key) == 0 {
			pm.Properties = withProp(msg.Properties, emptyKeyProp, "")
		}
	}
	pd := &pending{cb: cb, done: make(chan struct{})}
	p.sendMu.Lock()
	if p.closed {
		p.sendMu.Unlock()
		cb(bridge.SendResult{}, errClosed("producer"))
		return
	}
	select {
	case p.queue <- pd:
	case <-ctx.Done():
		p.sendMu.Unlock()
		cb(bridge.SendResult{}, ctx.Err())
		return
	}
	p.p.SendAsync(ctx, pm, func(id pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
		pd.id, pd.err = id, err
		close(pd.done)
	})
	p.sendMu.Unlock()
}

func withProp(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// dispatch fires callbacks in send order.
func (p *producer) dispatch() {
	defer p.wg.Done()
	for pd := range p.queue {
		if pd.flush != nil {
			close(pd.flush)
			continue
		}
		<-pd.done
		if pd.err != nil {
			pd.cb(bridge.SendResult{}, mapErr(pd.err, topicScope, "send to "+p.topic))
			continue
		}
		res, err := p.resolve(pd.id)
		pd.cb(res, err)
	}
}

// resolve turns a receipt into a SendResult with the message's index.
func (p *producer) resolve(id pulsar.MessageID) (bridge.SendResult, error) {
	part, name := p.fixedPart, p.topic
	if p.partitioned {
		part = int(id.PartitionIdx())
		name = bridge.PartitionName(p.topic, part)
	}
	at := pos{id.LedgerID(), id.EntryID()}
	p.tmu.Lock()
	t := p.tailers[name]
	p.tmu.Unlock()
	if t == nil {
		var err error
		if t, err = p.b.acquireTailer(name, part, at); err != nil {
			return bridge.SendResult{}, err
		}
		p.tmu.Lock()
		if old := p.tailers[name]; old != nil {
			t.release()
			t = old
		} else {
			p.tailers[name] = t
		}
		p.tmu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.b.opts.OperationTimeout)
	defer cancel()
	e, err := t.entry(ctx, at)
	if err != nil {
		return bridge.SendResult{}, mapErr(err, topicScope, "index of sent message on "+name)
	}
	ix := e.last
	if bi := id.BatchIdx(); bi >= 0 && e.count > 1 {
		ix = e.first() + int64(bi)
	}
	return bridge.SendResult{Topic: name, Partition: part, Index: ix,
		ID: &msgID{id: id, topic: name, partition: part, index: ix}}, nil
}

func (p *producer) Send(ctx context.Context, msg *bridge.OutMessage) (bridge.SendResult, error) {
	type out struct {
		r   bridge.SendResult
		err error
	}
	ch := make(chan out, 1)
	p.SendAsync(ctx, msg, func(r bridge.SendResult, err error) { ch <- out{r, err} })
	if err := p.p.FlushWithCtx(ctx); err != nil && !p.isClosed() {
		_ = err // the callback reports the message's own outcome
	}
	select {
	case o := <-ch:
		return o.r, o.err
	case <-ctx.Done():
		return bridge.SendResult{}, ctx.Err()
	}
}

func (p *producer) isClosed() bool {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	return p.closed
}

func (p *producer) Flush(ctx context.Context) error {
	marker := &pending{flush: make(chan struct{})}
	p.sendMu.Lock()
	if p.closed {
		p.sendMu.Unlock()
		return errClosed("producer")
	}
	select {
	case p.queue <- marker:
	case <-ctx.Done():
		p.sendMu.Unlock()
		return ctx.Err()
	}
	p.sendMu.Unlock()
	if err := p.p.FlushWithCtx(ctx); err != nil {
		return mapErr(err, topicScope, "flush "+p.topic)
	}
	select {
	case <-marker.flush:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close flushes what is pending (its callbacks fire) and closes.
func (p *producer) Close() error {
	p.sendMu.Lock()
	if p.closed {
		p.sendMu.Unlock()
		return nil
	}
	p.closed = true
	p.sendMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), p.b.opts.OperationTimeout)
	defer cancel()
	_ = p.p.FlushWithCtx(ctx)
	close(p.queue)
	p.wg.Wait()
	p.p.Close()
	p.tmu.Lock()
	for _, t := range p.tailers {
		t.release()
	}
	p.tailers = map[string]*tailer{}
	p.tmu.Unlock()
	p.b.untrack(p)
	return nil
}

func (p *producer) closeForBackend() { _ = p.Close() }
