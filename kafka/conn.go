package kafka

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// conn is one client connection: a read loop that decodes requests and
// starts one goroutine each, and a writer that sends their responses in
// request order, so a slow backend call does not hold up the requests
// pipelined behind it, while the client still sees Kafka's ordering.
type conn struct {
	h  *Handler
	nc net.Conn

	// slots carries each request's answer slot to the writer in read order.
	slots chan *slot
	// lastProduce is closed once the latest Produce handed off its records.
	lastProduce chan struct{}

	fetchers cursorCache  // readers kept between Fetch requests
	sessions sessionCache // incremental fetch sessions (KIP-227)
	budget   *byteBudget  // request bytes read and not yet answered
	sasl     saslState    // touched by the read loop only
	host     string       // the client's address, for authorization (read loop)
}

// slot is one request's answer, filled by its goroutine.
type slot struct {
	done chan struct{}
	out  []byte // the framed response; nil sends nothing
	err  error  // close the connection after earlier answers went out
}

func newConn(h *Handler, nc net.Conn) *conn {
	closed := make(chan struct{})
	close(closed)
	return &conn{
		h: h, nc: nc, slots: make(chan *slot, h.opts.MaxInFlight), lastProduce: closed,
		budget: newByteBudget(int(h.opts.MaxRequestSize)),
	}
}

// serve runs until the client leaves, a request is malformed, or ctx ends.
func (c *conn) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer c.fetchers.close()

	writeErr := make(chan error, 1)
	go func() { writeErr <- c.writeLoop(cancel) }()

	// When draining starts, stop reading; what is in flight is answered.
	stop := context.AfterFunc(ctx, func() { c.nc.SetReadDeadline(time.Now()) })
	defer stop()

	readErr := c.readLoop(ctx)
	draining := ctx.Err() != nil
	// The client left, sent a bad request or we drain: end long waits
	// (Fetch answers with what it has; Produce waits for durability on a
	// context of its own).
	cancel()
	close(c.slots)
	werr := <-writeErr
	if werr != nil {
		return werr
	}
	if draining {
		return nil
	}
	return readErr
}

func (c *conn) readLoop(ctx context.Context) error {
	r := bufio.NewReaderSize(c.nc, 64<<10)
	var sizeBuf [4]byte
	for {
		frame, err := readFrame(r, c.h.opts.MaxRequestSize, sizeBuf[:], c.budget.acquire)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || isEOF(err) {
				return nil
			}
			return err
		}
		if c.sasl.rawNext { // SaslHandshake v0: this frame is the bare token
			sl, err := c.rawSASL(frame)
			c.budget.release(len(frame))
			if sl != nil {
				c.slots <- sl
			}
			if err != nil {
				return err
			}
			continue
		}
		req, sl, err := c.decode(ctx, frame)
		if sl != nil {
			c.slots <- sl
		}
		if err != nil {
			c.budget.release(len(frame))
			return err
		}
		if req == nil {
			c.budget.release(len(frame))
			continue
		}
		if isSASL(req.hdr.key) {
			// Inline: the next request is only let through once this
			// one has decided whether the client logged in.
			c.run(req, sl)
			c.budget.release(len(frame))
			if c.sasl.failed {
				return nil
			}
			continue
		}
		go func() {
			defer c.budget.release(len(frame))
			c.run(req, sl)
		}()
	}
}

// decode parses a frame into a request and reserves its answer slot. An
// unknown key or version closes the connection, as a Kafka broker does,
// except ApiVersions, which answers any version with what it supports.
func (c *conn) decode(ctx context.Context, frame []byte) (*request, *slot, error) {
	hdr := parseHeader(frame)
	if c.h.loginsOn() && !c.sasl.authenticated && !isSASL(hdr.key) && hdr.key != 18 {
		// As Kafka: nothing but ApiVersions before a SASL login.
		return nil, nil, fmt.Errorf("kafka: %s request before SASL authentication", kmsg.NameForKey(hdr.key))
	}
	if !c.sasl.expires.IsZero() && !isSASL(hdr.key) && hdr.key != 18 && time.Now().After(c.sasl.expires) {
		// As Kafka: a login past its lifetime ends the connection.
		return nil, nil, fmt.Errorf("kafka: %s request after the SASL session expired", kmsg.NameForKey(hdr.key))
	}
	if _, ok := lookup(hdr.key, hdr.version); !ok {
		if hdr.key == 18 && hdr.version >= 0 {
			// The body of a newer version is not ours to parse; KIP-511 says
			// answer v0 with UNSUPPORTED_VERSION and our versions.
			sl := &slot{done: make(chan struct{})}
			sl.out = appendResponse(nil, hdr.correlation, unsupportedApiVersions())
			close(sl.done)
			return nil, sl, nil
		}
		return nil, nil, fmt.Errorf("kafka: unsupported request key %d version %d", hdr.key, hdr.version)
	}
	kreq := kmsg.RequestForKey(hdr.key)
	kreq.SetVersion(hdr.version)
	body, err := parseHeaderRest(&hdr, frame, kreq.IsFlexible())
	if err != nil {
		return nil, nil, err
	}
	if err := kreq.ReadFrom(body); err != nil {
		return nil, nil, fmt.Errorf("kafka: %s v%d: %w", kmsg.NameForKey(hdr.key), hdr.version, err)
	}
	req := &request{ctx: ctx, c: c, hdr: hdr, kreq: kreq, who: c.who()}
	if hdr.key == 0 {
		req.produceTurn = c.lastProduce
		req.produceDone = make(chan struct{})
		c.lastProduce = req.produceDone
	}
	return req, &slot{done: make(chan struct{})}, nil
}

// run serves one request on its own goroutine and fills its slot.
func (c *conn) run(req *request, sl *slot) {
	defer close(sl.done)
	defer func() {
		if req.produceDone != nil {
			select {
			case <-req.produceDone:
			default:
				close(req.produceDone)
			}
		}
		if p := recover(); p != nil {
			c.h.log.Error("kafka request panicked", zap.Any("panic", p), zap.String("api", kmsg.NameForKey(req.hdr.key)))
			sl.err = fmt.Errorf("kafka: %s panicked: %v", kmsg.NameForKey(req.hdr.key), p)
		}
	}()
	a, _ := lookup(req.hdr.key, req.hdr.version)
	resp, err := a.handle(c.h, req)
	if err != nil {
		c.h.opts.Metrics.Request(kmsg.NameForKey(req.hdr.key), codeClosed)
		sl.err = err
		return
	}
	if resp == nil {
		c.h.opts.Metrics.Request(kmsg.NameForKey(req.hdr.key), "NONE") // acks=0
		return
	}
	c.h.opts.Metrics.Request(kmsg.NameForKey(req.hdr.key), responseCode(resp))
	resp.SetVersion(req.hdr.version)
	sl.out = appendResponse(getBuffer(req.respSize), req.hdr.correlation, resp)
	for _, b := range req.pooled {
		putBuffer(b)
	}
}

// writeLoop writes answers in request order, flushing when no finished
// answer is waiting, and closes the connection after a failed request.
func (c *conn) writeLoop(cancel context.CancelFunc) error {
	w := bufio.NewWriterSize(c.nc, 64<<10)
	fail := func(err error) error {
		w.Flush()
		c.nc.Close()
		cancel()
		for sl := range c.slots { // let the read loop and requests finish
			<-sl.done
		}
		return err
	}
	for sl := range c.slots {
		select {
		case <-sl.done:
		default:
			if err := w.Flush(); err != nil {
				return fail(err)
			}
			<-sl.done
		}
		if sl.out != nil {
			if _, err := w.Write(sl.out); err != nil {
				return fail(err)
			}
			putBuffer(sl.out) // written or copied: bufio keeps no reference
		}
		if sl.err != nil { // after its answer, if any (a failed SASL login)
			c.h.log.Debug("closing kafka connection", zap.Error(sl.err))
			return fail(sl.err)
		}
		if len(c.slots) == 0 {
			if err := w.Flush(); err != nil {
				return fail(err)
			}
		}
	}
	return w.Flush()
}

func isEOF(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || (errors.As(err, &ne) && ne.Timeout())
}
