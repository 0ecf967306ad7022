package pulsar

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/wire"
)

// Pulsar's transactions, spoken here over the binary protocol (neither
// pulsar-client-go's transactions nor its producer can send a pre-built
// entry in a transaction). The coordinators are the partitions of
// tcAssignTopic: coordinator N is served by the broker that owns partition
// N, and a transaction id's most significant bits are its coordinator, so
// the id alone routes any request about it, from any gateway process.

var (
	_ bridge.Transactions = (*Backend)(nil)
	_ bridge.TxnProducer  = (*producer)(nil)
)

const tcAssignTopic = "persistent://pulsar/system/transaction_coordinator_assign"

// errTxnsDisabled: the broker answers NotAllowedError to coordinator
// requests when transactionCoordinatorEnabled=false.
var errTxnsDisabled = fmt.Errorf("%w: the broker's transaction coordinator is disabled (transactionCoordinatorEnabled=false)", bridge.ErrNotAllowed)

// errTxnNeedsPublisher: SendTxn where the raw publisher cannot go (TLS, a
// producer routing over partitions); the client's producer would send
// outside the transaction.
var errTxnNeedsPublisher = fmt.Errorf("%w: transactions need the gateway's own publisher (a pulsar:// or pulsar+ssl:// URL and a producer on one partition)", bridge.ErrInvalid)

// txnCoords is the backend's view of the coordinators.
type txnCoords struct {
	mu    sync.Mutex
	known bool // count and avail are established
	count int  // coordinators (0: none)
	avail bool
	slots map[uint64]*tcSlot

	next  atomic.Uint64 // round robin over coordinators
	reqID atomic.Uint64
}

// tcSlot holds the connection to one coordinator; mu serializes dialing
// it, so concurrent callers wait for one dial.
type tcSlot struct {
	mu sync.Mutex
	c  atomic.Pointer[tcConn]
}

// tcConn is a connection to a coordinator's broker: requests are written
// by any goroutine and matched to answers by request id.
type tcConn struct {
	nc   net.Conn
	wmu  sync.Mutex
	mu   sync.Mutex
	wait map[uint64]chan wire.Command
	quit chan struct{}
	once sync.Once
	err  error // why it ended, set before quit closes
}

// errLostAnswer: the request was written and the connection ended before
// its answer; the coordinator may have acted on it.
var errLostAnswer = errors.New("coordinator connection lost before the answer")

// TxnsAvailable reports whether the broker runs transaction coordinators:
// the coordinator topic has partitions and coordinator 0 accepts a
// TC_CLIENT_CONNECT. The answer is kept for the backend's life once known.
func (b *Backend) TxnsAvailable(ctx context.Context) (bool, error) {
	b.txns.mu.Lock()
	known, avail := b.txns.known, b.txns.avail
	b.txns.mu.Unlock()
	if known {
		return avail, nil
	}
	if !rawURL(b.opts.URL) {
		// The coordinator is spoken to over the gateway's own connections,
		// which reach pulsar:// and pulsar+ssl:// only: the Kafka handler
		// writes markers instead.
		return false, nil
	}
	n, err := b.coordinators(ctx)
	if err != nil {
		return false, err
	}
	avail = n > 0
	if avail {
		_, err = b.tcConnFor(ctx, 0)
		switch {
		case errors.Is(err, errTxnsDisabled):
			avail = false
		case err != nil:
			return false, err
		}
	}
	b.txns.mu.Lock()
	b.txns.known, b.txns.avail = true, avail
	b.txns.mu.Unlock()
	return avail, nil
}

// coordinators is the coordinator count from the admin API's partitioned
// metadata: 0 when the topic is missing (a broker that never enabled
// transactions has no such topic, or not even the pulsar/system namespace).
func (b *Backend) coordinators(ctx context.Context) (int, error) {
	b.txns.mu.Lock()
	n := b.txns.count
	b.txns.mu.Unlock()
	if n > 0 {
		return n, nil
	}
	n, err := b.adm.partitions(ctx, tcAssignTopic)
	if errors.Is(err, bridge.ErrTopicNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	b.txns.mu.Lock()
	b.txns.count = n
	b.txns.mu.Unlock()
	return n, nil
}

// BeginTxn opens a transaction on the next coordinator in turn; one that
// stays unavailable passes the request to the next.
func (b *Backend) BeginTxn(ctx context.Context, ttl time.Duration) (bridge.TxnID, error) {
	if ttl < time.Millisecond {
		return bridge.TxnID{}, fmt.Errorf("%w: transaction ttl %v", bridge.ErrInvalid, ttl)
	}
	n, err := b.coordinators(ctx)
	if err != nil {
		return bridge.TxnID{}, err
	}
	if n == 0 {
		return bridge.TxnID{}, errTxnsDisabled
	}
	tries := min(n, 3)
	for try := 1; ; try++ {
		tc := (b.txns.next.Add(1) - 1) % uint64(n)
		r, err := b.tcRequest(ctx, tc, true, func(req uint64) []byte {
			return wire.AppendNewTxn(nil, req, uint64(ttl.Milliseconds()), tc)
		})
		if err == nil {
			return bridge.TxnID{Hi: r.TxnHi, Lo: r.TxnLo}, nil
		}
		if !errors.Is(err, bridge.ErrUnavailable) || try == tries || ctx.Err() != nil {
			return bridge.TxnID{}, err
		}
		b.log.Debug("new transaction: trying the next coordinator", zap.Uint64("tc", tc), zapErr(err))
	}
}

// AddTxnPartitions registers partitions (full names) with the transaction's
// coordinator; registering one twice is harmless, so it is retried.
func (b *Backend) AddTxnPartitions(ctx context.Context, id bridge.TxnID, partitions []string) error {
	if len(partitions) == 0 {
		return nil
	}
	names := make([]string, len(partitions))
	for i, p := range partitions {
		tn, err := b.parse(p)
		if err != nil {
			return err
		}
		names[i] = tn.String()
	}
	_, err := b.tcRequest(ctx, id.Hi, true, func(req uint64) []byte {
		return wire.AppendAddPartitionToTxn(nil, req, wire.Txn(id), names)
	})
	return err
}

// EndTxn commits or aborts. It is not resent after a connection lost with
// the request written: the coordinator may have ended the transaction, and
// a second END_TXN would answer it unknown.
func (b *Backend) EndTxn(ctx context.Context, id bridge.TxnID, commit bool) error {
	_, err := b.tcRequest(ctx, id.Hi, false, func(req uint64) []byte {
		return wire.AppendEndTxn(nil, req, wire.Txn(id), commit)
	})
	return err
}

// tcRequest sends a request to coordinator tc and returns its answer,
// retrying a few times with backoff while the coordinator is unavailable
// (connecting, moving, loading). An answer lost with the connection is
// retried only when resend says the request may be repeated.
func (b *Backend) tcRequest(ctx context.Context, tc uint64, resend bool, build func(req uint64) []byte) (wire.Command, error) {
	ctx, cancel := context.WithTimeout(ctx, b.opts.OperationTimeout)
	defer cancel()
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		r, err := b.tcTry(ctx, tc, build)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, bridge.ErrUnavailable) || attempt >= 4 || errors.Is(err, errLostAnswer) && !resend {
			return r, err
		}
		b.log.Debug("transaction coordinator request: retrying", zap.Uint64("tc", tc), zapErr(err))
		select {
		case <-ctx.Done():
			return r, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// tcTry is one attempt of tcRequest.
func (b *Backend) tcTry(ctx context.Context, tc uint64, build func(req uint64) []byte) (wire.Command, error) {
	c, err := b.tcConnFor(ctx, tc)
	if err != nil {
		return wire.Command{}, err
	}
	req := b.txns.reqID.Add(1)
	r, err := c.call(ctx, req, build(req))
	if err != nil {
		return r, err
	}
	if r.Type == wire.TypeError || r.HasError {
		if r.ServerError == wire.ErrTxnCoordNotFound || r.ServerError == wire.ErrServiceNotReady {
			// The coordinator moved or is not loaded here: look it up again.
			c.fail(fmt.Errorf("%w: coordinator %d not ready", bridge.ErrUnavailable, tc))
		}
		return r, txnServerErr(r, fmt.Sprintf("coordinator %d", tc))
	}
	return r, nil
}

// txnServerErr maps a broker's ServerError through the package's mapping
// (errors.go): TransactionNotFound and InvalidTxnStatus are ErrTxnUnknown,
// a coordinator not found or not ready is ErrUnavailable.
func txnServerErr(r wire.Command, what string) error {
	if r.ServerError == wire.ErrNotAllowed {
		return fmt.Errorf("%w: %s", errTxnsDisabled, r.Message)
	}
	name := wire.ServerErrorName(r.ServerError)
	if name == "" {
		name = fmt.Sprintf("ServerError %d", r.ServerError)
	}
	return mapErr(fmt.Errorf("server error: %s: %s", name, r.Message), topicScope, what)
}

// tcConnFor returns the live connection to coordinator tc, dialing one.
func (b *Backend) tcConnFor(ctx context.Context, tc uint64) (*tcConn, error) {
	b.txns.mu.Lock()
	if b.txns.slots == nil {
		b.txns.slots = map[uint64]*tcSlot{}
	}
	s := b.txns.slots[tc]
	if s == nil {
		s = &tcSlot{}
		b.txns.slots[tc] = s
	}
	b.txns.mu.Unlock()
	if c := s.c.Load(); c != nil && c.live() {
		return c, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.c.Load(); c != nil && c.live() {
		return c, nil
	}
	if b.isClosed() {
		return nil, errClosed("backend")
	}
	c, err := b.dialTC(ctx, tc)
	if err != nil {
		return nil, err
	}
	s.c.Store(c)
	if b.isClosed() { // Close may have swept the slots before the Store
		c.fail(errClosed("backend"))
		return nil, errClosed("backend")
	}
	return c, nil
}

// dialTC connects to the broker serving coordinator tc and says
// TC_CLIENT_CONNECT, which has the broker load the coordinator's store if
// it has not (a NEW_TXN before it can answer TransactionCoordinatorNotFound).
func (b *Backend) dialTC(ctx context.Context, tc uint64) (*tcConn, error) {
	ctx, cancel := context.WithTimeout(ctx, b.opts.OperationTimeout)
	defer cancel()
	topic := fmt.Sprintf("%s-partition-%d", tcAssignTopic, tc)
	c, err := b.dialOwner(ctx, topic)
	if err != nil {
		return nil, err
	}
	req := b.txns.reqID.Add(1)
	r, err := c.call(ctx, wire.AppendTcClientConnect(nil, req, tc), wire.TypeTcClientConnectResponse)
	switch {
	case r.Type == wire.TypeError || r.HasError:
		err = txnServerErr(r, fmt.Sprintf("connect to coordinator %d", tc))
	case err != nil:
		err = fmt.Errorf("connect to coordinator %d: %w", tc, err)
	}
	if err != nil {
		c.nc.Close()
		return nil, err
	}
	c.nc.SetDeadline(time.Time{})
	tcc := &tcConn{nc: c.nc, wait: map[uint64]chan wire.Command{}, quit: make(chan struct{})}
	go tcc.readLoop(c.r)
	return tcc, nil
}

func (c *tcConn) live() bool {
	select {
	case <-c.quit:
		return false
	default:
		return true
	}
}

// call writes a request and waits for the answer with its id.
func (c *tcConn) call(ctx context.Context, req uint64, frame []byte) (wire.Command, error) {
	ch := make(chan wire.Command, 1)
	c.mu.Lock()
	if !c.live() {
		c.mu.Unlock()
		return wire.Command{}, c.err
	}
	c.wait[req] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.wait, req)
		c.mu.Unlock()
	}()
	c.wmu.Lock()
	if d, ok := ctx.Deadline(); ok {
		c.nc.SetWriteDeadline(d)
	}
	_, err := c.nc.Write(frame)
	c.wmu.Unlock()
	if err != nil {
		c.fail(err)
		return wire.Command{}, c.err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-c.quit:
		return wire.Command{}, fmt.Errorf("%w: %w", errLostAnswer, c.err)
	case <-ctx.Done():
		// No answer (the broker stays silent at its limit of open
		// transactions): the request may still take effect.
		return wire.Command{}, fmt.Errorf("%w: coordinator: %w", bridge.ErrUnavailable, ctx.Err())
	}
}

// readLoop hands answers to their callers and answers pings.
func (c *tcConn) readLoop(r *bufio.Reader) {
	for {
		cmd, err := readCommand(r)
		if err != nil {
			c.fail(err)
			return
		}
		switch cmd.Type {
		case wire.TypePing:
			c.wmu.Lock()
			c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, err := c.nc.Write(wire.AppendPong(nil))
			c.wmu.Unlock()
			if err != nil {
				c.fail(err)
				return
			}
		case wire.TypeError, wire.TypeNewTxnResponse, wire.TypeAddPartitionResponse, wire.TypeEndTxnResponse,
			wire.TypeTcClientConnectResponse:
			c.mu.Lock()
			ch := c.wait[cmd.RequestID]
			delete(c.wait, cmd.RequestID)
			c.mu.Unlock()
			if ch != nil {
				ch <- cmd // room for one, and one answer per id
			}
		}
	}
}

func (c *tcConn) fail(err error) {
	c.once.Do(func() {
		if !errors.Is(err, bridge.ErrUnavailable) && !errors.Is(err, bridge.ErrClosed) {
			err = fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
		}
		c.mu.Lock()
		c.err = err
		close(c.quit)
		c.mu.Unlock()
		c.nc.Close()
	})
}

// closeTxns ends the coordinator connections (Backend.Close).
func (b *Backend) closeTxns() {
	b.txns.mu.Lock()
	slots := b.txns.slots
	b.txns.mu.Unlock()
	for _, s := range slots {
		if c := s.c.Load(); c != nil {
			c.fail(errClosed("backend"))
		}
	}
}

// ReadableEnd is the index after the last message a reader of the
// partition can get now. The broker's GET_LAST_MESSAGE_ID on a consumer
// answers the last dispatchable position (before an open transaction's
// first entry, past no aborted entry or marker), where the admin API's
// lastMessageId answers the last entry written, markers included. A
// subscription of its own asks, and the entry there gives the index.
func (b *Backend) ReadableEnd(ctx context.Context, partition string) (int64, error) {
	tn, err := b.parse(partition)
	if err != nil {
		return 0, err
	}
	if b.isClosed() {
		return 0, errClosed("backend")
	}
	at, err := b.lastDispatchable(ctx, tn.String())
	if err != nil {
		return 0, err
	}
	if at.entry >= 0 {
		e, err := b.probeEntry(ctx, tn, at)
		if err == nil {
			return e.last + 1, nil
		}
		if !errors.Is(err, errNoEntry) {
			return 0, err
		}
	}
	// Nothing readable: the partition's first index.
	r, err := b.adm.IndexRange(ctx, tn.String())
	return r.First, err
}

// lastDispatchable asks the broker for a topic's last dispatchable
// position through a non-durable subscription that is given no permits.
func (b *Backend) lastDispatchable(ctx context.Context, topic string) (pos, error) {
	if !rawURL(b.opts.URL) {
		return pos{}, fmt.Errorf("%w: ReadableEnd needs a pulsar:// or pulsar+ssl:// URL", bridge.ErrInvalid)
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.OperationTimeout)
	defer cancel()
	c, err := b.dialOwner(ctx, topic)
	if err != nil {
		return pos{}, err
	}
	defer c.nc.Close() // the subscription goes with its consumer
	sub := fmt.Sprintf("pgw-end-%016x", rand.Uint64())
	if r, err := c.call(ctx, wire.AppendSubscribe(nil, topic, sub, 1, 3, wire.Latest), wire.TypeSuccess); err != nil {
		return pos{}, rawCallErr(r, err, "subscribe to "+topic)
	}
	r, err := c.call(ctx, wire.AppendGetLastMessageID(nil, 1, 4), wire.TypeGetLastMessageIDResponse)
	if err != nil {
		return pos{}, rawCallErr(r, err, "last message of "+topic)
	}
	return pos{int64(r.LedgerID), int64(r.EntryID)}, nil
}

// rawCallErr keeps a broker ERROR's code (rawConn.call says only
// ErrUnavailable) so errors.go maps it.
func rawCallErr(r wire.Command, err error, what string) error {
	if r.Type == wire.TypeError {
		return txnServerErr(r, what)
	}
	return mapErr(err, topicScope, what)
}

// SendTxn is SendTagged with every entry part of transaction id (the SEND
// and the entry's metadata carry its id, as the Java client writes them),
// through a publisher of its own whose producer is txn_enabled. Entries
// are built here, so Zstd (which only the client writes) goes
// uncompressed. Where the publisher cannot go, it fails rather than send
// outside the transaction.
//
// Each entry holds one message. The transaction buffer appends an entry
// without its message count (TopicTransactionBuffer.appendBufferToTxn:
// ManagedLedger.asyncAddEntry(buffer, callback, ctx), a count of 1), so
// AppendIndexMetadataInterceptor advances the index by one per
// transactional entry whatever its batch holds: seen on 4.0.7, an entry of
// four messages took one index and its messages decoded onto indexes of
// the entries before. One message an entry keeps every index its own.
func (p *producer) SendTxn(ctx context.Context, id bridge.TxnID, msgs []bridge.OutMessage, tag string, cb bridge.SendCallback) {
	if len(msgs) == 0 {
		cb(bridge.SendResult{}, errors.New("empty batch"))
		return
	}
	if p.txnPub == nil || p.txnPub.unsupported() {
		cb(bridge.SendResult{}, errTxnNeedsPublisher)
		return
	}
	c := p.batching.Compression
	if c == bridge.CompressionZstd {
		c = bridge.CompressionNone
	}
	singles := make([][]bridge.OutMessage, len(msgs))
	for i := range msgs {
		singles[i] = msgs[i : i+1]
	}
	p.sendEntries(ctx, p.txnPub, singles, tag, &wire.Txn{Hi: id.Hi, Lo: id.Lo}, c, cb)
}
