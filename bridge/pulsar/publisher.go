package pulsar

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/wire"
)

// publisher sends pre-built batch entries to one partition over a
// connection of its own (see package wire for why). Entries are sent in
// order and their receipts come back in order; each fires its callback
// with the entry's position. A broken connection fails what is in flight
// (the Kafka client retries) and the next send connects again.
type publisher struct {
	b     *Backend
	topic string
	txn   bool // sends transactional entries: opens its producer txn_enabled

	unsup atomic.Bool // the broker needs what the publisher does not speak

	mu   sync.Mutex // send order, the connection, sequence numbers
	pc   *pubConn
	seq  uint64  // the next message's sequence id
	name string  // the producer name the broker gave
	max  int     // the broker's largest message
	lz4  lz4Gate // the entries' compression (buildEntry)
}

type pubConn struct {
	nc    net.Conn
	out   chan net.Buffers // frames to write, in order (a SEND: head and payload)
	quit  chan struct{}
	once  sync.Once
	err   error // why it ended, set before quit closes
	pmu   sync.Mutex
	queue []*pubSend // sent, no receipt yet
	dead  bool       // under pmu: fail took the queue; add nothing more
}

type pubSend struct {
	seq uint64
	cb  func(at pos, err error)
}

// errPublisherUnsupported: the broker URL or a lookup answer needs what the
// publisher does not speak (a scheme other than pulsar:// and
// pulsar+ssl://); callers send messages one by one instead.
var errPublisherUnsupported = errors.New("entry publisher: unsupported connection")

const producerIDOnConn = 1 // one producer per connection

// unsupported reports whether sends must go another way: a broker URL or
// a lookup answer the gateway's own connections cannot reach.
func (p *publisher) unsupported() bool {
	if p.unsup.Load() {
		return true
	}
	if !rawURL(p.b.opts.URL) {
		p.unsup.Store(true)
		return true
	}
	return false
}

// rawURL reports whether the gateway's own connections can reach a broker
// URL: pulsar:// or pulsar+ssl://.
func rawURL(u string) bool {
	pu, err := url.Parse(u)
	return err == nil && (pu.Scheme == "pulsar" || pu.Scheme == "pulsar+ssl")
}

// send queues an entry of n messages whose metadata and payload build
// returns for a sequence id, producer name and publish time; with txn set,
// the SEND is part of that transaction. cb fires once.
func (p *publisher) send(ctx context.Context, n int, txn *wire.Txn, build func(seq uint64, name string) (meta, payload []byte, err error), cb func(at pos, err error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc, err := p.connected(ctx)
	if err != nil {
		cb(pos{}, err)
		return
	}
	meta, payload, err := build(p.seq, p.name)
	if err != nil {
		cb(pos{}, err)
		return
	}
	if len(meta)+len(payload) > p.max {
		cb(pos{}, fmt.Errorf("%w: entry of %d bytes is over the broker's %d", bridge.ErrInvalid, len(meta)+len(payload), p.max))
		return
	}
	// The payload is written from where it is: a copy into the frame was
	// a tenth of the CPU of a 1 KiB record produced.
	frame := net.Buffers{wire.AppendSendHead(nil, producerIDOnConn, p.seq, n, txn, meta, payload), payload}
	ps := &pubSend{seq: p.seq, cb: cb}
	p.seq += uint64(n)
	pc.pmu.Lock()
	if pc.dead { // failed since connected() looked: its queue is gone
		pc.pmu.Unlock()
		p.seq -= uint64(n)
		cb(pos{}, pc.err)
		return
	}
	pc.queue = append(pc.queue, ps)
	pc.pmu.Unlock()
	select {
	case pc.out <- frame:
	case <-pc.quit: // fail took the queue, this send included
	case <-ctx.Done():
		// Not written: take it back (it is the queue's last, we hold mu)
		// unless fail already took it.
		pc.pmu.Lock()
		mine := len(pc.queue) > 0 && pc.queue[len(pc.queue)-1] == ps
		if mine {
			pc.queue = pc.queue[:len(pc.queue)-1]
		}
		pc.pmu.Unlock()
		if mine {
			p.seq -= uint64(n)
			cb(pos{}, ctx.Err())
		}
	}
}

// connected returns the live connection, making one if needed.
func (p *publisher) connected(ctx context.Context) (*pubConn, error) {
	if p.pc != nil {
		select {
		case <-p.pc.quit:
			p.pc = nil
		default:
			return p.pc, nil
		}
	}
	if p.b.isClosed() {
		return nil, errClosed("backend")
	}
	ctx, cancel := context.WithTimeout(ctx, p.b.opts.OperationTimeout)
	defer cancel()
	pc, name, last, maxSize, err := p.dial(ctx)
	if errors.Is(err, errPublisherUnsupported) {
		p.unsup.Store(true) // later batches go message by message
		err = fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
	}
	if err != nil {
		return nil, err
	}
	p.pc, p.name, p.max = pc, name, maxSize
	// Continue after the broker's last sequence id (it deduplicates below
	// it when deduplication is on).
	p.seq = max(p.seq, uint64(last+1))
	return pc, nil
}

// dial looks the topic up, connects to its broker and opens the producer.
func (p *publisher) dial(ctx context.Context) (*pubConn, string, int64, int, error) {
	c, err := p.b.dialOwner(ctx, p.topic)
	if err != nil {
		return nil, "", 0, 0, err
	}
	return p.open(ctx, c)
}

// dialOwner looks a topic up and returns a connection to the broker that
// serves it (or to a proxy in front of it).
func (b *Backend) dialOwner(ctx context.Context, topic string) (*rawConn, error) {
	target, authoritative := b.opts.URL, false
	for range 20 { // redirects
		c, err := b.connectRaw(ctx, target)
		if err != nil {
			return nil, err
		}
		r, err := c.call(ctx, wire.AppendLookup(nil, topic, 1, authoritative), wire.TypeLookupResponse)
		if err != nil {
			c.nc.Close()
			return nil, err
		}
		switch {
		case r.LookupType == wire.LookupFailed:
			c.nc.Close()
			return nil, fmt.Errorf("%w: lookup of %s: %s", bridge.ErrUnavailable, topic, r.Message)
		}
		// Over TLS the broker's TLS URL, as pulsar-client-go picks it.
		brokerURL := r.BrokerURL
		if b.sec.tlsURL(b.opts.URL) {
			brokerURL = r.BrokerURLTLS
		}
		switch {
		case r.LookupType == wire.LookupRedirect:
			c.nc.Close()
			target, authoritative = brokerURL, r.Authoritative
			continue
		case r.ProxyThroughServiceURL && brokerURL != "" && brokerURL != target:
			// Through the service URL (a proxy) to the broker: a CONNECT
			// naming it, as pulsar-client-go sends.
			c.nc.Close()
			return b.connectRawVia(ctx, target, brokerURL)
		case !r.ProxyThroughServiceURL && brokerURL != "" && brokerURL != target:
			c.nc.Close()
			return b.connectRaw(ctx, brokerURL)
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w: lookup of %s: too many redirects", bridge.ErrUnavailable, topic)
}

// open creates the producer on a connection to the topic's broker and
// starts its reader and writer.
func (p *publisher) open(ctx context.Context, c *rawConn) (*pubConn, string, int64, int, error) {
	r, err := c.call(ctx, wire.AppendProducer(nil, p.topic, producerIDOnConn, 2, p.txn), wire.TypeProducerSuccess)
	for err == nil && !r.ProducerReady { // waiting for exclusive access: a second success follows
		r, err = c.read(ctx)
	}
	if err != nil {
		c.nc.Close()
		return nil, "", 0, 0, err
	}
	c.nc.SetDeadline(time.Time{})
	pc := &pubConn{nc: c.nc, out: make(chan net.Buffers, 8), quit: make(chan struct{})}
	go pc.writeLoop()
	go pc.readLoop(c.r)
	return pc, r.ProducerName, r.LastSequenceID, c.maxMessageSize, nil
}

func (pc *pubConn) writeLoop() {
	for {
		select {
		case f := <-pc.out:
			if _, err := f.WriteTo(pc.nc); err != nil {
				pc.fail(err)
				return
			}
		case <-pc.quit:
			return
		}
	}
}

// readLoop takes receipts in order and answers pings; anything else that
// ends the producer (a close, a send error, a lost connection) fails what
// is in flight.
func (pc *pubConn) readLoop(r *bufio.Reader) {
	for {
		c, err := readCommand(r)
		if err != nil {
			pc.fail(err)
			return
		}
		switch c.Type {
		case wire.TypePing:
			select {
			case pc.out <- net.Buffers{wire.AppendPong(nil)}:
			default: // writes are backed up; the broker pings again
			}
		case wire.TypeSendReceipt:
			pc.pmu.Lock()
			if len(pc.queue) == 0 || pc.queue[0].seq != c.SequenceID {
				pc.pmu.Unlock()
				pc.fail(fmt.Errorf("%w: receipt for sequence %d out of order", bridge.ErrUnavailable, c.SequenceID))
				return
			}
			ps := pc.queue[0]
			pc.queue[0] = nil
			pc.queue = pc.queue[1:]
			pc.pmu.Unlock()
			ps.cb(pos{int64(c.LedgerID), int64(c.EntryID)}, nil)
		case wire.TypeSendError:
			pc.fail(fmt.Errorf("%w: send error %d: %s", bridge.ErrUnavailable, c.ServerError, c.Message))
			return
		case wire.TypeCloseProducer, wire.TypeTopicMigrated:
			pc.fail(fmt.Errorf("%w: broker closed the producer", bridge.ErrUnavailable))
			return
		}
	}
}

// fail ends the connection and fails every send without a receipt.
func (pc *pubConn) fail(err error) {
	pc.once.Do(func() {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, bridge.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
		}
		pc.err = err
		close(pc.quit)
		pc.nc.Close()
		pc.pmu.Lock()
		q := pc.queue
		pc.queue, pc.dead = nil, true
		pc.pmu.Unlock()
		for _, ps := range q {
			ps.cb(pos{}, err)
		}
	})
}

func (pc *pubConn) close() { pc.fail(errClosed("producer")) }

// rawConn is a connected, handshaken connection before a producer opens.
type rawConn struct {
	nc             net.Conn
	r              *bufio.Reader
	maxMessageSize int
}

// connectRaw dials a broker URL (pulsar:// or pulsar+ssl://) and says
// CONNECT.
func (b *Backend) connectRaw(ctx context.Context, brokerURL string) (*rawConn, error) {
	return b.connectRawVia(ctx, brokerURL, "")
}

// connectRawVia dials a broker URL, or a proxy at it that forwards to
// broker when that is set.
func (b *Backend) connectRawVia(ctx context.Context, brokerURL, broker string) (*rawConn, error) {
	u, err := url.Parse(brokerURL)
	if err != nil || !rawURL(brokerURL) || u.Host == "" {
		return nil, errPublisherUnsupported
	}
	nc, err := b.sec.dial(ctx, u)
	if err != nil {
		return nil, err
	}
	c := &rawConn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
	hello := wire.Connect{ClientVersion: "pulsar-gateway"}
	if broker != "" {
		bu, err := url.Parse(broker)
		if err != nil || bu.Host == "" {
			nc.Close()
			return nil, errPublisherUnsupported
		}
		hello.ProxyToBroker = bu.Host
	}
	// The same login as the client's: the provider's method and current
	// data (a re-read token file, a refreshed OAuth2 token).
	if hello.AuthMethod, hello.AuthData, err = b.sec.connectAuth(); err != nil {
		nc.Close()
		return nil, err
	}
	r, err := c.call(ctx, wire.AppendConnect(nil, hello), wire.TypeConnected)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.maxMessageSize = 5 << 20 // the broker's default when it does not say
	if r.MaxMessageSize > 0 {
		c.maxMessageSize = r.MaxMessageSize
	}
	return c, nil
}

// call writes a request and reads until the answer of type want (or an
// ERROR), answering pings on the way.
func (c *rawConn) call(ctx context.Context, req []byte, want int) (wire.Command, error) {
	if d, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(d)
	}
	if _, err := c.nc.Write(req); err != nil {
		return wire.Command{}, fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
	}
	for {
		r, err := c.read(ctx)
		if err != nil {
			return r, err
		}
		if r.Type == want {
			return r, nil
		}
	}
}

// read returns the next command that is not a ping; an ERROR is an error.
func (c *rawConn) read(ctx context.Context) (wire.Command, error) {
	for {
		r, err := readCommand(c.r)
		if err != nil {
			return r, fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
		}
		switch r.Type {
		case wire.TypePing:
			c.nc.Write(wire.AppendPong(nil))
			continue
		case wire.TypeError:
			return r, fmt.Errorf("%w: broker error %d: %s", bridge.ErrUnavailable, r.ServerError, r.Message)
		}
		return r, nil
	}
}

// readCommand reads one frame and decodes its command.
func readCommand(r *bufio.Reader) (wire.Command, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return wire.Command{}, err
	}
	n, err := wire.FrameSize(head)
	if err != nil {
		return wire.Command{}, err
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return wire.Command{}, err
	}
	return wire.ParseFrame(frame)
}

// close ends the connection; sends still without a receipt fail.
func (p *publisher) close() {
	p.mu.Lock()
	pc := p.pc
	p.pc = nil
	p.mu.Unlock()
	if pc != nil {
		pc.close()
	}
}
