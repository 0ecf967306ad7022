package pulsar

import (
	"context"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// producer is a bridge.Producer on a pulsar-client-go producer. Callbacks
// fire in send order, each once its receipt came and its index is known.
//
// Sent messages wait in a FIFO. Whoever holds drainMu pops the done head
// messages and fires their callbacks: usually the client's receipt callback
// itself (inline, no goroutine hop: the index is known without waiting, see
// resolve), else the dispatcher goroutine, which also takes the cases that
// may wait (an admin probe, the tail reader) and errors.
type producer struct {
	b           *Backend
	topic       string
	partitioned bool // the client routes over partitions
	fixedPart   int  // partition of a pinned producer (-1: not partitioned)
	p           pulsar.Producer
	release     func() // gives back a principal's client (principals.go); nil: the gateway's

	sendMu sync.Mutex // orders queue pushes as the client's sends
	closed bool
	slots  chan struct{} // MaxPending: one per message from SendAsync to its callback
	quit   chan struct{}
	wg     sync.WaitGroup

	qmu     sync.Mutex
	q       []*pending // sent, callback not fired yet, in send order
	drainMu sync.Mutex // held by whoever fires callbacks
	kick    chan struct{}

	tmu     sync.Mutex
	tailers map[string]*tailer

	// pub sends SendBatch's entries; nil where the producer routes over
	// partitions. batching bounds its entries as the client's batches.
	pub      *publisher
	txnPub   *publisher // SendTxn's: a producer of its own, txn_enabled
	batching bridge.ProducerOptions

	// dispatcher only: the entry of the previous receipt, so the other
	// messages of a batch need no tailer lookup.
	last        entryInfo
	lastName    string
	prev        map[string]entryInfo // per partition: the last resolved entry
	probes      map[string]int       // per partition: admin probes made since probeWindow
	probeWindow time.Time
}

type pending struct {
	pm    pulsar.ProducerMessage // in the same allocation
	cb    bridge.SendCallback
	done  bool // under qmu: the receipt (or error) came
	id    pulsar.MessageID
	err   error
	flush chan struct{} // a Flush marker, no message
	entry *sentEntry    // an entry the publisher sent, not a message
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
	if opts.BatchingMaxBytes > 0 {
		po.BatchingMaxSize = uint(opts.BatchingMaxBytes)
	}
	switch opts.Compression {
	case bridge.CompressionLZ4:
		po.CompressionType = pulsar.LZ4
	case bridge.CompressionZstd:
		po.CompressionType = pulsar.ZSTD
	}
	if po.BatchingMaxMessages == 0 {
		// Shared subscriptions dispatch whole entries: smaller batches
		// spread a burst over consumers.
		po.BatchingMaxMessages = 100
	}
	if po.BatchingMaxPublishDelay <= 0 {
		po.BatchingMaxPublishDelay = 5 * time.Millisecond
	}
	client, release, err := b.clientFor(opts.Principal)
	if err != nil {
		return nil, err
	}
	pp, err := createProducerRetrying(ctx, client, po)
	if err != nil {
		if release != nil {
			release()
		}
		return nil, mapErr(err, topicScope, "producer on "+name)
	}
	p := &producer{b: b, topic: name, partitioned: parts > 0, fixedPart: partitionOf(name), p: pp, release: release, batching: opts,
		slots: make(chan struct{}, maxPending), kick: make(chan struct{}, 1), quit: make(chan struct{}), tailers: map[string]*tailer{},
		prev: map[string]entryInfo{}, probes: map[string]int{}}
	// The partitions' last entries, learned now, let the first receipt of
	// each resolve by arithmetic (it directly follows) instead of an admin
	// lookup that would hold back every callback behind it. Best effort.
	for _, pt := range partitionsOf(tn, parts) {
		if e, ok, err := b.lastEntry(ctx, pt); err == nil && ok {
			p.prev[pt.String()] = e
		} else if err == nil {
			b.seedFresh(ctx, pt, p.prev)
		}
	}
	p.batching.BatchingMaxMessages = int(po.BatchingMaxMessages)
	if p.batching.BatchingMaxBytes <= 0 {
		p.batching.BatchingMaxBytes = 128 << 10 // pulsar-client-go's default
	}
	// The gateway's own connections log in as the gateway: a principal's
	// producer sends message by message through its client.
	if !p.partitioned && release == nil {
		p.pub = &publisher{b: b, topic: name}
		p.txnPub = &publisher{b: b, topic: name, txn: true} // connects on its first send
	}
	if err := b.track(p); err != nil {
		pp.Close()
		return nil, err
	}
	p.wg.Add(1)
	go p.dispatch()
	return p, nil
}

func (p *producer) Topic() string { return p.topic }

// createProducerRetrying creates a client producer, trying again for a couple of seconds
// while the broker answers that the topic is still being made: two clients making a
// partition at once (a Kafka reader and an MQTT publish on a new topic) can get
// PersistenceError "BadVersionException" from the one whose ledger creation lost the race,
// and the next try finds the partition made.
func createProducerRetrying(ctx context.Context, client pulsar.Client, po pulsar.ProducerOptions) (pulsar.Producer, error) {
	wait := 50 * time.Millisecond
	for try := 0; ; try++ {
		pp, err := client.CreateProducer(po)
		if err == nil || try == 5 || !beingCreated(err) {
			return pp, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (p *producer) SendAsync(ctx context.Context, msg *bridge.OutMessage, cb bridge.SendCallback) {
	pd := &pending{cb: cb, pm: pulsar.ProducerMessage{Payload: msg.Value, Properties: msg.Properties, EventTime: msg.EventTime}}
	pm := &pd.pm
	if msg.Key != nil {
		pm.Key = string(msg.Key)
		if len(msg.Key) == 0 {
			pm.Properties = withProp(msg.Properties, emptyKeyProp, "")
		}
	}
	if err := p.acquire(ctx); err != nil {
		cb(bridge.SendResult{}, err)
		return
	}
	p.sendMu.Lock()
	if p.closed {
		p.sendMu.Unlock()
		<-p.slots
		cb(bridge.SendResult{}, errClosed("producer"))
		return
	}
	p.push(pd)
	p.p.SendAsync(ctx, pm, func(id pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
		p.qmu.Lock()
		pd.id, pd.err, pd.done = id, err, true
		p.qmu.Unlock()
		if err != nil {
			// Errors can come synchronously from the client's SendAsync
			// (sendMu held): the dispatcher fires them.
			p.wake()
			return
		}
		p.tryDrain()
	})
	p.sendMu.Unlock()
}

// acquire takes a MaxPending slot, waiting while all are taken.
func (p *producer) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}: // the common case, without a select's cost
		return nil
	default:
	}
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *producer) push(pd *pending) {
	p.qmu.Lock()
	p.q = append(p.q, pd)
	p.qmu.Unlock()
}

func (p *producer) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// head returns the first queued message when it is ready to fire.
func (p *producer) head() *pending {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	if len(p.q) == 0 || !p.q[0].done && p.q[0].flush == nil {
		return nil
	}
	return p.q[0]
}

func (p *producer) pop() {
	p.qmu.Lock()
	p.q[0] = nil
	p.q = p.q[1:]
	if len(p.q) == 0 {
		p.q = p.q[:0:0] // let the backing array go
	}
	p.qmu.Unlock()
}

// tryDrain fires ready callbacks inline unless someone else is firing;
// whoever holds drainMu checks the head again after releasing it, so a
// receipt that lands meanwhile is not left behind.
func (p *producer) tryDrain() {
	for p.head() != nil && p.drainMu.TryLock() {
		blocked := p.drainLocked(false)
		p.drainMu.Unlock()
		if blocked {
			p.wake()
			return
		}
	}
}

// drainLocked fires the ready head callbacks in order. Without mayWait it
// stops (blocked) at a message whose index needs a wait.
func (p *producer) drainLocked(mayWait bool) (blocked bool) {
	for {
		pd := p.head()
		if pd == nil {
			return false
		}
		switch {
		case pd.flush != nil:
			close(pd.flush)
		case pd.err != nil:
			if !mayWait {
				return true
			}
			pd.cb(bridge.SendResult{}, mapErr(pd.err, topicScope, "send to "+p.topic))
			<-p.slots
		case pd.entry != nil:
			res, err, ok := p.resolveSent(pd.entry, mayWait)
			if !ok {
				return true
			}
			pd.cb(res, err)
			<-p.slots
		default:
			res, err, ok := p.resolve(pd.id, mayWait)
			if !ok {
				return true
			}
			pd.cb(res, err)
			<-p.slots
		}
		p.pop()
	}
}

func withProp(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// dispatch fires the callbacks the inline path leaves: errors and
// receipts whose index needs a wait.
func (p *producer) dispatch() {
	defer p.wg.Done()
	for {
		select {
		case <-p.kick:
		case <-p.quit:
			return
		}
		for p.head() != nil {
			p.drainMu.Lock()
			p.drainLocked(true)
			p.drainMu.Unlock()
		}
	}
}

// tailerFor returns the producer's tailer of a partition, starting it at
// the first receipt's entry.
func (p *producer) tailerFor(name string, part int, at pos) (*tailer, error) {
	p.tmu.Lock()
	t := p.tailers[name]
	p.tmu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := p.b.acquireTailer(name, part, at)
	if err != nil {
		return nil, err
	}
	p.tmu.Lock()
	defer p.tmu.Unlock()
	if old := p.tailers[name]; old != nil {
		t.release()
		return old, nil
	}
	p.tailers[name] = t
	return t, nil
}

// probesBeforeTailer is how many receipts of a partition a producer
// resolves by an admin probe within probeWindow before it starts a tail
// reader there: a probe is one round trip (fine for a new ledger now and
// then), a tail reader one more read of every entry (better when another
// producer interleaves its entries with ours all the time).
const (
	probesBeforeTailer = 4
	probeWindow        = time.Minute
)

// lookupEntry learns the entry at a receipt's position from the broker
// (a probe or the tail reader): the first receipt, a new ledger, or an
// entry after another producer's. A transaction's entry is probed: the
// tail reader cannot read it before the transaction commits.
func (p *producer) lookupEntry(name string, part int, at pos, txn bool) (entryInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.b.opts.OperationTimeout)
	defer cancel()
	if txn {
		if tn, err := bridge.ParseTopic(name); err == nil {
			if e, err := p.b.probeEntry(ctx, tn, at); err == nil {
				return e, nil
			}
		}
	}
	p.tmu.Lock()
	t := p.tailers[name]
	p.tmu.Unlock()
	if t == nil && time.Since(p.probeWindow) > probeWindow {
		p.probeWindow = time.Now()
		clear(p.probes)
	}
	if t == nil && p.probes[name] < probesBeforeTailer {
		p.probes[name]++
		tn, err := bridge.ParseTopic(name)
		if err == nil {
			if e, err := p.b.probeEntry(ctx, tn, at); err == nil {
				return e, nil
			}
		}
	}
	t, err := p.tailerFor(name, part, at)
	if err != nil {
		return entryInfo{}, err
	}
	if e, ok := t.lookup(at); ok {
		return e, nil
	}
	e, err := t.entry(ctx, at)
	if err != nil {
		return entryInfo{}, mapErr(err, topicScope, "index of sent message on "+name)
	}
	return e, nil
}

// resolve turns a receipt into a SendResult with the message's index.
// Without mayWait, ok is false when the index needs a wait (a probe or
// the tail reader).
func (p *producer) resolve(id pulsar.MessageID, mayWait bool) (_ bridge.SendResult, _ error, ok bool) {
	part, name := p.fixedPart, p.topic
	if p.partitioned {
		part = int(id.PartitionIdx())
		name = bridge.PartitionName(p.topic, part)
	}
	e, err, ok := p.resolveEntry(name, part, pos{id.LedgerID(), id.EntryID()}, max(int64(id.BatchSize()), 1), false, mayWait)
	if !ok || err != nil {
		return bridge.SendResult{}, err, ok
	}
	ix := e.last
	if bi := id.BatchIdx(); bi >= 0 && e.count > 1 {
		ix = e.first() + int64(bi)
	}
	return bridge.SendResult{Topic: name, Partition: part, Index: ix,
		ID: &msgID{id: id, topic: name, partition: part, index: ix}}, nil, true
}

// resolveEntry finds the index of the entry of n messages at a receipt's
// position. Without mayWait it fails (ok false) where that needs a wait.
func (p *producer) resolveEntry(name string, part int, at pos, n int64, txn, mayWait bool) (e entryInfo, _ error, ok bool) {
	switch prev, ok := p.prev[name]; {
	case p.last.count > 0 && p.last.pos == at && p.lastName == name:
		e = p.last // the rest of a batch: no lookup
	case ok && prev.ledger == at.ledger && prev.entry+1 == at.entry:
		// The next entry of the same ledger is ours too, so nobody wrote
		// between: the broker's index continues from the previous entry by
		// this entry's message count (the receipt's batch size).
		e = entryInfo{pos: at, last: prev.last + n, count: n}
		p.b.index.learn(name, e)
	default:
		var err error
		if !mayWait {
			if e, ok = p.known(name, at); !ok {
				return entryInfo{}, nil, false
			}
		} else if e, err = p.lookupEntry(name, part, at, txn); err != nil {
			return entryInfo{}, err, true
		}
	}
	p.prev[name] = e
	p.last, p.lastName = e, name
	return e, nil, true
}

// known is the entry at a receipt's position when the tail reader or the
// sparse index already has it.
func (p *producer) known(name string, at pos) (entryInfo, bool) {
	p.tmu.Lock()
	t := p.tailers[name]
	p.tmu.Unlock()
	if t != nil {
		if e, ok := t.lookup(at); ok {
			return e, true
		}
	}
	return p.b.index.lookupPos(name, at)
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
	p.push(marker)
	p.sendMu.Unlock()
	p.tryDrain() // the marker may be the head already
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
	marker := &pending{flush: make(chan struct{})}
	p.push(marker)
	p.wake()
	_ = p.p.FlushWithCtx(ctx)
	select {
	case <-marker.flush:
	case <-ctx.Done():
	}
	p.p.Close() // fails what is still pending: those callbacks fire with errors
	if p.pub != nil {
		p.pub.close()
		p.txnPub.close()
	}
	p.wake()
	select {
	case <-marker.flush:
	case <-time.After(p.b.opts.OperationTimeout):
		p.b.log.Warn("producer close: callbacks still pending", zapTopic(p.topic))
	}
	close(p.quit)
	p.wg.Wait()
	p.tmu.Lock()
	for _, t := range p.tailers {
		t.release()
	}
	p.tailers = map[string]*tailer{}
	p.tmu.Unlock()
	p.b.untrack(p)
	if p.release != nil {
		p.release()
	}
	return nil
}

func (p *producer) closeForBackend() { _ = p.Close() }

// freshFor bounds how long after this backend created a partition an
// empty one is taken as never written. (A partition whose messages were
// all trimmed is empty too, but its index goes on; that takes retention
// and a ledger rollover, far longer than this.)
const freshFor = time.Minute

// seedFresh seeds prev for an empty partition this backend just created:
// its index starts at 0, so the first entry of its current ledger, entry
// 0, resolves by arithmetic like any following entry. Another writer's
// entry first, or a new ledger, fails the check and takes a lookup.
func (b *Backend) seedFresh(ctx context.Context, tn bridge.TopicName, prev map[string]entryInfo) {
	v, ok := b.fresh.LoadAndDelete(tn.String())
	if !ok || time.Since(v.(time.Time)) > freshFor {
		return
	}
	st, err := b.internalStats(ctx, tn)
	if err != nil {
		return
	}
	if at, ok := parsePos(st.LastConfirmedEntry); ok && at.entry == -1 {
		prev[tn.String()] = entryInfo{pos: at, last: -1}
	}
}
