package amqp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
)

// conn is one client connection. Its reader goroutine (HandleConn) reads every frame and
// runs every command in order; consumers and confirm callbacks write through send, which
// serialises frames under wmu.
type conn struct {
	s   *Server
	nc  net.Conn
	id  string
	log *zap.Logger
	r   *wire.Reader

	wmu sync.Mutex
	w   *wire.Writer
	// writers waiting for wmu in send and sendContent: a writer that sees one skips its
	// flush, which the last of them does, so a burst of deliveries and confirms from
	// several goroutines costs one socket write, not one each.
	wwait atomic.Int32
	dlMu  sync.Mutex // dead-letter write counts
	err   error      // first write error: the connection is dead

	caps wire.Table // the client's capabilities
	seq  uint64     // order of connecting (management API lists)

	// For the management API (snapshot.go): set by the handshake, read-only after.
	clientProps wire.Table
	mechanism   string
	connectedAt time.Time
	frameMax    uint32
	vcounts     *counters // the vhost's message counters
	user        string    // the logged-in user
	who         authz.Who // the subject of authorization checks (authz.go)
	vhost       string
	namespace   string
	channelMax  uint16
	heartbeat   time.Duration

	ctx       context.Context // ends when the gateway drains
	published atomic.Bool     // the client published at least once (alarms.go)
	// blockedSent: connection.blocked was sent and unblocked is due; under Server.mu
	blockedSent bool

	// chans: written by the reader goroutine under chansMu, which other goroutines
	// (the management API's snapshot) read under.
	chans   map[uint16]*channel
	chansMu sync.Mutex
	done    chan struct{} // closed when HandleConn ends
	// closing: connection.close was sent; only close-ok (or close) is read from now on.
	closing atomic.Bool
}

// HandleConn serves one client until it leaves, errs or ctx (drain) ends.
func (s *Server) HandleConn(ctx context.Context, nc net.Conn) error {
	seq := s.connSeq.Add(1)
	c := &conn{s: s, nc: nc, ctx: ctx, id: "amqp-conn-" + strconv.FormatUint(seq, 10), seq: seq, connectedAt: time.Now(),
		r: wire.NewReader(nc), w: wire.NewWriter(nc), chans: map[uint16]*channel{}, done: make(chan struct{})}
	c.log = s.log.With(zap.String("conn", c.id), zap.Stringer("remote", nc.RemoteAddr()))
	defer c.cleanup()
	if err := c.handshake(); err != nil {
		return c.fail(err)
	}
	go c.heartbeats()
	go func() {
		select {
		case <-ctx.Done():
			// Draining: tell the client, then give it a moment to answer close-ok.
			c.closeConn(wire.NewError(wire.ConnectionForced, "broker forced connection closure with reason 'shutdown'"))
			c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		case <-c.done:
		}
	}()
	return c.fail(c.loop())
}

// fail turns an error ending the connection into HandleConn's result: protocol errors are
// answered with connection.close first; a client hanging up is a normal end.
func (c *conn) fail(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	var we *wire.Error
	if errors.As(err, &we) {
		we.ConnectionLevel = true
		if !c.closing.Load() {
			c.closeConn(we)
			c.awaitCloseOk()
		}
	}
	return err
}

// closeConn sends connection.close; the reader then waits for close-ok.
func (c *conn) closeConn(e *wire.Error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.err != nil || !c.closing.CompareAndSwap(false, true) {
		return
	}
	if c.writeLocked(0, &wire.ConnectionClose{ReplyCode: e.Code, ReplyText: e.ReplyText(), ClassID: e.ClassID, MethodID: e.MethodID}) == nil {
		c.flushLocked() // now, not by a waiting writer
	}
}

// awaitCloseOk reads (and drops) frames until the client's close-ok, for a short while.
func (c *conn) awaitCloseOk() {
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			return
		}
		if f.Type == wire.FrameMethod && f.Channel == 0 {
			if m, err := wire.DecodeMethod(f.Payload); err == nil {
				switch m.(type) {
				case *wire.ConnectionCloseOk, *wire.ConnectionClose:
					return
				}
			}
		}
	}
}

func (c *conn) cleanup() {
	close(c.done)
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	for _, ch := range c.chans {
		ch.shutdown()
	}
	c.s.dropExclusive(c)
}

// send writes one method (and its content, if body or props are given) and flushes.
func (c *conn) send(ch uint16, m wire.Method) error {
	c.wwait.Add(1)
	c.wmu.Lock()
	c.wwait.Add(-1)
	defer c.wmu.Unlock()
	return c.writeLocked(ch, m)
}

func (c *conn) writeLocked(ch uint16, m wire.Method) error {
	if c.err != nil {
		return c.err
	}
	if err := c.w.WriteMethod(ch, m); err != nil {
		c.err = err
		return err
	}
	return c.maybeFlushLocked()
}

// sendContent writes a method with content as one unit, so no other frame of the channel
// comes between its frames.
func (c *conn) sendContent(ch uint16, m wire.Method, p *wire.Properties, body []byte) error {
	c.wwait.Add(1)
	c.wmu.Lock()
	c.wwait.Add(-1)
	defer c.wmu.Unlock()
	return c.writeContentLocked(ch, m, p, body)
}

func (c *conn) writeContentLocked(ch uint16, m wire.Method, p *wire.Properties, body []byte) error {
	if err := c.writeContentNoFlushLocked(ch, m, p, body); err != nil {
		return err
	}
	return c.maybeFlushLocked()
}

// writeContentNoFlushLocked buffers a method with content; the caller flushes.
func (c *conn) writeContentNoFlushLocked(ch uint16, m wire.Method, p *wire.Properties, body []byte) error {
	if c.err != nil {
		return c.err
	}
	if err := c.w.WriteMethod(ch, m); err != nil {
		c.err = err
		return err
	}
	if err := c.w.WriteContent(ch, p, body); err != nil {
		c.err = err
		return err
	}
	return nil
}

// flush writes out what is buffered.
func (c *conn) flush() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.err == nil {
		c.flushLocked()
	}
}

// maybeFlushLocked flushes unless another writer waits for wmu: that one flushes (the
// waiter is counted before it locks, so the last writer of a burst always sees none).
func (c *conn) maybeFlushLocked() error {
	if c.wwait.Load() > 0 {
		return nil
	}
	return c.flushLocked()
}

func (c *conn) flushLocked() error {
	c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if err := c.w.Flush(); err != nil {
		c.err = err
		c.nc.Close() // a dead writer ends the reader too
		return err
	}
	return nil
}

// heartbeats sends a heartbeat every half timeout, as RabbitMQ does.
func (c *conn) heartbeats() {
	if c.heartbeat <= 0 {
		return
	}
	t := time.NewTicker(c.heartbeat / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.wmu.Lock()
			if c.err == nil {
				if err := c.w.WriteHeartbeat(); err == nil {
					c.flushLocked()
				}
			}
			c.wmu.Unlock()
		}
	}
}

// readFrame reads with the heartbeat deadline: two missed heartbeats mean a dead peer.
func (c *conn) readFrame() (wire.Frame, error) {
	if c.heartbeat > 0 && !c.closing.Load() {
		c.nc.SetReadDeadline(time.Now().Add(2 * c.heartbeat))
	}
	return c.r.ReadFrame()
}

// loop reads frames until the connection ends.
func (c *conn) loop() error {
	for {
		f, err := c.readFrame()
		if err != nil {
			var ne net.Error
			if c.closing.Load() && errors.As(err, &ne) && ne.Timeout() {
				return nil // no close-ok in time after our close
			}
			return err
		}
		if f.Type == wire.FrameHeartbeat {
			continue
		}
		if f.Channel == 0 {
			done, err := c.connectionFrame(f)
			if done || err != nil {
				return err
			}
			continue
		}
		if c.closing.Load() {
			continue // after connection.close only close-ok counts
		}
		if err := c.channelFrame(f); err != nil {
			return err
		}
	}
}

// connectionFrame handles a frame of channel 0; done ends the connection.
func (c *conn) connectionFrame(f wire.Frame) (done bool, err error) {
	if f.Type != wire.FrameMethod {
		return false, wire.NewError(wire.UnexpectedFrame, "frame type %d on channel 0", f.Type)
	}
	m, err := wire.DecodeMethod(f.Payload)
	if err != nil {
		return false, err
	}
	switch m := m.(type) {
	case *wire.ConnectionClose:
		c.wmu.Lock()
		c.closing.Store(true)
		if c.writeLocked(0, &wire.ConnectionCloseOk{}) == nil {
			c.flushLocked()
		}
		c.wmu.Unlock()
		c.log.Debug("client closed", zap.Uint16("code", m.ReplyCode), zap.String("text", m.ReplyText))
		return true, nil
	case *wire.ConnectionCloseOk:
		return true, nil
	}
	if c.closing.Load() {
		return false, nil
	}
	return false, wire.NewError(wire.CommandInvalid, "%s on channel 0", m.Name()).WithMethod(m)
}

// channelFrame feeds a frame to its channel; channel errors close only the channel.
func (c *conn) channelFrame(f wire.Frame) error {
	ch := c.chans[f.Channel]
	if ch == nil {
		return c.openChannel(f)
	}
	if ch.closing {
		// Waiting for close-ok: the rest of a half-sent command is dropped, not judged.
		if f.Type != wire.FrameMethod {
			return nil
		}
		m, err := wire.DecodeMethod(f.Payload)
		if err != nil {
			return nil
		}
		return ch.handleClosing(m)
	}
	cmd, err := ch.asm.Add(f)
	if err == nil && cmd != nil {
		err = ch.handle(cmd)
		c.s.countRequest(cmd.Method, err)
	}
	var we *wire.Error
	if errors.As(err, &we) && !we.ConnectionLevel {
		ch.closeWith(we)
		return nil
	}
	return err
}

// openChannel expects channel.open on a channel not yet open.
func (c *conn) openChannel(f wire.Frame) error {
	if f.Type != wire.FrameMethod {
		return wire.NewError(wire.ChannelError, "expected 'channel.open' on channel %d", f.Channel)
	}
	m, err := wire.DecodeMethod(f.Payload)
	if err != nil {
		return err
	}
	if _, ok := m.(*wire.ChannelOpen); !ok {
		return wire.NewError(wire.ChannelError, "expected 'channel.open' on channel %d, got %s", f.Channel, m.Name()).WithMethod(m)
	}
	if f.Channel > c.channelMax {
		return wire.NewError(wire.NotAllowed, "channel number %d exceeds channel_max %d", f.Channel, c.channelMax).WithMethod(m)
	}
	c.chansMu.Lock()
	c.chans[f.Channel] = newChannel(c, f.Channel)
	c.chansMu.Unlock()
	return c.send(f.Channel, &wire.ChannelOpenOk{})
}

// forget drops a closed channel (reader goroutine).
func (c *conn) forget(id uint16) {
	c.chansMu.Lock()
	delete(c.chans, id)
	c.chansMu.Unlock()
}

// capable reports whether the client advertised a capability.
func (c *conn) capable(name string) bool {
	v, _ := c.caps[name].(bool)
	return v
}

func (c *conn) String() string { return fmt.Sprintf("%s(%s)", c.id, c.vhost) }
