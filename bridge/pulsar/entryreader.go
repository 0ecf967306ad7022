package pulsar

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/wire"
)

// entryReader is a bridge.Reader and BatchReader of one partition that
// reads entries over a connection of its own (a non-durable subscription,
// as a Pulsar Reader is) and decodes them here, a whole entry at a time:
// pulsar-client-go's Reader costs a metadata decode, a message object and
// two channel hops per message, which made it most of a Kafka Fetch's CPU.
// Entries it cannot decode (encrypted or chunked messages) are read on
// through a client reader from there.
type entryReader struct {
	b         *Backend
	name      string
	tn        bridge.TopicName
	partition int

	mu        sync.Mutex
	closed    bool
	sc        *subConn
	fb        bridge.Reader // the client reader, once an entry needed it
	floor     int64
	floorTime time.Time
	rest      []*bridge.Message // for Next: the rest of the last batch
	// Where to reopen after a lost connection: right after the last entry
	// read (resumeAt, once there is one: by position, as the client
	// does; an index lookup could land past entries still being written
	// while a broker recovers), else the start position.
	resume    bridge.StartPosition
	resumeAt  wire.Position
	resumeSet bool
}

// readerPermits is how many messages a reader lets the broker send ahead.
// The client's default of 1000 left one 1000-message entry in flight at a
// time, and a Fetch waited for the broker between entries. Memory is
// bounded in entries too: a reader holds at most readerEntries decoded,
// then stops reading its connection (TCP holds the broker back).
const (
	readerPermits = 4000
	readerEntries = 16
)

type subConn struct {
	nc      net.Conn
	entries chan wire.Command // MESSAGE commands, in order
	quit    chan struct{}
	once    sync.Once
	err     error // why it ended, set before quit closes
	wmu     sync.Mutex
	taken   int // messages read since the last FLOW (reader's side)
}

// createEntryReader opens an entry reader, or says why not
// (errPublisherUnsupported: a broker URL the own connections cannot reach).
func (b *Backend) createEntryReader(ctx context.Context, tn bridge.TopicName, start bridge.StartPosition) (*entryReader, error) {
	r := &entryReader{b: b, name: tn.String(), tn: tn, partition: partitionOf(tn.String())}
	if err := r.open(ctx, start); err != nil {
		return nil, err
	}
	if err := b.track(r); err != nil {
		r.sc.close()
		return nil, err
	}
	return r, nil
}

// open subscribes at a start position, where the client reader would.
func (r *entryReader) open(ctx context.Context, s bridge.StartPosition) error {
	sp, err := r.b.resolveStart(ctx, r.tn, s)
	if err != nil {
		return err
	}
	at, floor, floorTime := wire.Earliest, sp.floor, sp.floorTime
	switch {
	case sp.latest:
		at = wire.Latest
	case sp.at:
		// The cursor starts after the position given: one before the entry.
		at = wire.Position{Ledger: sp.entry.ledger, Entry: sp.entry.entry - 1}
	}
	sc, err := r.b.subscribeRaw(ctx, r.name, at)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old, oldFb := r.sc, r.fb
	r.sc, r.fb, r.floor, r.floorTime, r.resume, r.resumeSet = sc, nil, floor, floorTime, s, false
	r.mu.Unlock()
	if old != nil {
		old.close()
	}
	if oldFb != nil {
		oldFb.Close()
	}
	return nil
}

// subscribeRaw opens a non-durable subscription of topic on a connection
// of its own, its cursor after at, and grants the first permits.
func (b *Backend) subscribeRaw(ctx context.Context, topic string, at wire.Position) (*subConn, error) {
	ctx, cancel := context.WithTimeout(ctx, b.opts.OperationTimeout)
	defer cancel()
	c, err := b.dialOwner(ctx, topic)
	if err != nil {
		return nil, err
	}
	sub := fmt.Sprintf("pgw-reader-%016x", rand.Uint64())
	if _, err := c.call(ctx, wire.AppendSubscribe(nil, topic, sub, 1, 3, at), wire.TypeSuccess); err != nil {
		c.nc.Close()
		return nil, fmt.Errorf("reader of %s: %w", topic, err)
	}
	c.nc.SetDeadline(time.Time{})
	sc := &subConn{nc: c.nc, entries: make(chan wire.Command, readerEntries), quit: make(chan struct{})}
	if _, err := c.nc.Write(wire.AppendFlow(nil, 1, readerPermits)); err != nil {
		c.nc.Close()
		return nil, fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
	}
	go sc.readLoop(c)
	return sc, nil
}

func (sc *subConn) readLoop(c *rawConn) {
	for {
		cmd, err := readCommand(c.r)
		if err != nil {
			sc.fail(err)
			return
		}
		switch cmd.Type {
		case wire.TypeMessage:
			select {
			case sc.entries <- cmd:
			case <-sc.quit:
				return
			}
		case wire.TypePing:
			sc.write(wire.AppendPong(nil))
		case wire.TypeCloseConsumer:
			sc.fail(fmt.Errorf("%w: broker closed the reader", bridge.ErrUnavailable))
			return
		}
	}
}

func (sc *subConn) write(frame []byte) {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	if _, err := sc.nc.Write(frame); err != nil {
		go sc.fail(err)
	}
}

// took counts messages read and grants more permits every half queue.
func (sc *subConn) took(n int) {
	sc.taken += n
	if sc.taken >= readerPermits/2 {
		sc.write(wire.AppendFlow(nil, 1, sc.taken))
		sc.taken = 0
	}
}

func (sc *subConn) fail(err error) {
	sc.once.Do(func() {
		if !errors.Is(err, bridge.ErrUnavailable) && !errors.Is(err, bridge.ErrClosed) {
			err = fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
		}
		sc.err = err
		close(sc.quit)
		sc.nc.Close()
	})
}

func (sc *subConn) close() { sc.fail(errClosed("reader")) }

func (r *entryReader) Topic() string { return r.name }

// Next returns the next message: the rest of the last entry first.
func (r *entryReader) Next(ctx context.Context) (*bridge.Message, error) {
	r.mu.Lock()
	if len(r.rest) > 0 {
		m := r.rest[0]
		r.rest = r.rest[1:]
		r.mu.Unlock()
		return m, nil
	}
	r.mu.Unlock()
	msgs, err := r.NextBatch(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.rest = msgs[1:]
	r.mu.Unlock()
	return msgs[0], nil
}

// NextBatch returns the messages of the next entry (from the start
// position on); never none.
func (r *entryReader) NextBatch(ctx context.Context) ([]*bridge.Message, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, errClosed("reader")
		}
		if rest := r.rest; len(rest) > 0 {
			r.rest = nil
			r.mu.Unlock()
			return rest, nil
		}
		sc, fb := r.sc, r.fb
		r.mu.Unlock()
		if fb != nil {
			m, err := fb.Next(ctx)
			if err != nil {
				return nil, err
			}
			return []*bridge.Message{m}, nil
		}
		var cmd wire.Command
		select {
		case cmd = <-sc.entries:
		case <-sc.quit:
			r.mu.Lock()
			swapped, closed := r.sc != sc, r.closed
			r.mu.Unlock()
			if swapped && !closed {
				continue // a Seek replaced it
			}
			if closed {
				return nil, errClosed("reader")
			}
			// The connection was lost (a broker restart, the topic moving):
			// reopen where the reader stands, as the client reader does.
			if err := r.reopen(ctx, sc); err != nil {
				return nil, err
			}
			continue
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		msgs, n, err := r.decode(cmd)
		if errors.Is(err, wire.ErrUnsupportedEntry) {
			if err := r.fallBack(ctx, sc, cmd); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			sc.fail(err)
			return nil, fmt.Errorf("%w: read %s: %w", bridge.ErrUnavailable, r.name, err)
		}
		r.mu.Lock()
		if r.sc != sc { // read from a subscription a Seek replaced
			r.mu.Unlock()
			continue
		}
		sc.took(n)
		r.resumeAt, r.resumeSet = wire.Position{Ledger: int64(cmd.LedgerID), Entry: int64(cmd.EntryID)}, true
		if len(msgs) == 0 {
			r.mu.Unlock()
			continue
		}
		r.floorTime = time.Time{}
		r.floor = msgs[len(msgs)-1].Index + 1
		r.mu.Unlock()
		return msgs, nil
	}
}

// reopen replaces a lost subscription, retrying until ctx ends.
func (r *entryReader) reopen(ctx context.Context, lost *subConn) error {
	wait := 50 * time.Millisecond
	for {
		r.mu.Lock()
		if r.closed || r.sc != lost {
			r.mu.Unlock()
			return nil // closed, or a Seek or another reopen got there first
		}
		start, at, byPos := r.resume, r.resumeAt, r.resumeSet
		r.mu.Unlock()
		var err error
		if byPos {
			err = r.reopenAt(ctx, lost, at)
		} else {
			err = r.open(ctx, start)
		}
		if err == nil {
			return nil
		}
		r.b.log.Debug("reader reconnect failed", zapTopic(r.name), zapErr(err))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: read %s: %w", bridge.ErrUnavailable, r.name, lost.err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// reopenAt subscribes again after the entry at, keeping the floors.
func (r *entryReader) reopenAt(ctx context.Context, lost *subConn, at wire.Position) error {
	sc, err := r.b.subscribeRaw(ctx, r.name, at)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.closed || r.sc != lost {
		r.mu.Unlock()
		sc.close()
		return nil
	}
	r.sc = sc
	r.mu.Unlock()
	return nil
}

// decode turns a MESSAGE into the messages at or past the reader's floor;
// n is how many the entry held (permits used).
func (r *entryReader) decode(cmd wire.Command) ([]*bridge.Message, int, error) {
	e, err := wire.ParseEntry(cmd.Payload)
	if err != nil {
		return nil, 0, err
	}
	if e.Index < 0 {
		return nil, e.NumMessages, errIndexMissing
	}
	r.mu.Lock()
	floor, floorTime := r.floor, r.floorTime
	r.mu.Unlock()
	first := e.Index - int64(e.NumMessages) + 1
	publish := time.UnixMilli(e.PublishTime)
	if !floorTime.IsZero() && publish.Before(floorTime) {
		return nil, e.NumMessages, nil
	}
	ledger, entry := int64(cmd.LedgerID), int64(cmd.EntryID)
	part := max(int32(r.partition), 0)
	// One allocation for the entry's messages and their IDs.
	all := make([]messageWithID, 0, e.NumMessages)
	err = e.Messages(func(i int, s *wire.Single) error {
		ix := first + int64(i)
		if ix < floor {
			return nil
		}
		var key []byte
		if s.HasKey && s.Key != "" {
			key = []byte(s.Key)
		}
		props := s.Properties
		if _, ok := props[emptyKeyProp]; ok {
			key = []byte{}
			props = without(props, emptyKeyProp)
		}
		if len(props) == 0 {
			props = nil
		}
		value := s.Payload
		if s.NullValue {
			value = nil
		} else if len(value) == 0 {
			value = []byte{}
		}
		bi := int32(-1)
		if e.Batched {
			bi = int32(i)
		}
		all = append(all, messageWithID{
			Message: bridge.Message{Topic: r.name, Partition: r.partition, Index: ix, Key: key, Value: value,
				Properties: props, PublishTime: publish, BatchTag: e.Tag},
			id: msgID{id: pulsar.NewMessageID(ledger, entry, bi, part), topic: r.name, partition: r.partition, index: ix},
		})
		m := &all[len(all)-1].Message
		if s.EventTime != 0 {
			m.EventTime = time.UnixMilli(s.EventTime)
		}
		return nil
	})
	if err != nil {
		return nil, e.NumMessages, err
	}
	out := make([]*bridge.Message, len(all))
	for i := range all {
		all[i].Message.ID = &all[i].id
		out[i] = &all[i].Message
	}
	return out, e.NumMessages, nil
}

// fallBack reads on with a client reader from the entry it could not
// decode.
func (r *entryReader) fallBack(ctx context.Context, sc *subConn, cmd wire.Command) error {
	e, _ := wire.ParseEntry(cmd.Payload)
	start := bridge.StartAtIndex(max(e.Index-int64(e.NumMessages)+1, 0))
	r.mu.Lock()
	if e.Index < 0 || r.floor > start.Index {
		start = bridge.StartAtIndex(r.floor)
	}
	r.mu.Unlock()
	fb, err := r.b.CreateReader(ctx, bridge.ReaderOptions{Topic: r.name, Start: start})
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.sc != sc || r.closed {
		r.mu.Unlock()
		fb.Close()
		return nil
	}
	r.fb = fb
	r.mu.Unlock()
	sc.close()
	return nil
}

func (r *entryReader) Seek(ctx context.Context, pos bridge.StartPosition) error {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return errClosed("reader")
	}
	if err := r.open(ctx, pos); err != nil {
		return err
	}
	r.mu.Lock()
	r.rest = nil
	r.mu.Unlock()
	return nil
}

func (r *entryReader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	sc, fb := r.sc, r.fb
	r.mu.Unlock()
	if sc != nil {
		sc.close()
	}
	if fb != nil {
		fb.Close()
	}
	r.b.untrack(r)
	return nil
}

func (r *entryReader) closeForBackend() { _ = r.Close() }
