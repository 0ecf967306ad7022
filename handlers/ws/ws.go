// Package ws carries a byte-stream protocol over WebSocket (RFC 6455), as
// MQTT's section 6 does: a ConnHandler that answers the HTTP upgrade on an
// accepted connection and hands the next handler a net.Conn whose bytes are
// the payloads of the client's binary messages. An MQTT packet may span
// frames and a frame may hold several packets: the stream does not care.
//
// It is gorilla/websocket under a handshake of its own: no http.Server, so
// the connection stays the one handlers.Server accepted, counted, limited
// and drained with the protocol's others, and the handshake runs on the
// connection's own goroutine.
package ws

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/handlers"
)

// Options configure Handler.
type Options struct {
	// Path is the one path served ("/mqtt"); others get 404.
	Path string
	// Subprotocols are those accepted, in the server's order of
	// preference; a client must offer one of them (else 400).
	Subprotocols []string
	// HandshakeTimeout bounds the HTTP upgrade; zero is 10 seconds.
	HandshakeTimeout time.Duration
	Logger           *zap.Logger
}

// maxRequestBytes bounds the upgrade request (request line and headers):
// a browser's is well under 2 KiB, cookies included.
const maxRequestBytes = 16 << 10

// readBufferSize is the connection's frame read buffer, held while idle
// (gorilla's default is 4 KiB): 1 KiB as the MQTT reader above it.
const readBufferSize = 1 << 10

// writeBuffers lend a write buffer per message: an idle connection holds
// none.
var writeBuffers = &sync.Pool{}

// Handler serves next over WebSocket on every connection.
func Handler(next handlers.ConnHandler, opts Options) handlers.ConnHandler {
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	h := &handler{next: next, opts: opts}
	h.up = websocket.Upgrader{
		Subprotocols:    opts.Subprotocols,
		WriteBufferPool: writeBuffers,
		// Browsers send their page's origin; a broker serves pages of
		// every origin (Mosquitto checks none). Logins guard it.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return h
}

type handler struct {
	next handlers.ConnHandler
	opts Options
	up   websocket.Upgrader
}

func (h *handler) HandleConn(ctx context.Context, nc net.Conn) error {
	wc, err := h.upgrade(nc)
	if err != nil || wc == nil {
		return err
	}
	return closed(wc, h.next.HandleConn(ctx, wc))
}

// closed ends the WebSocket with a close frame once the handler returned
// (the server then closes the connection under it).
//
//go:noinline
func closed(wc *Conn, err error) error {
	wc.Close()
	return err
}

// upgrade answers the client's upgrade request: a *Conn, or nil after an
// HTTP error answer.
//
//go:noinline
func (h *handler) upgrade(nc net.Conn) (*Conn, error) {
	if err := nc.SetDeadline(time.Now().Add(h.opts.HandshakeTimeout)); err != nil {
		return nil, err
	}
	lr := &limitedReader{r: nc, left: maxRequestBytes}
	br := bufio.NewReaderSize(lr, readBufferSize)
	req, err := http.ReadRequest(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // a port probe
		}
		h.opts.Logger.Debug("websocket: bad upgrade request", zap.Stringer("remote", nc.RemoteAddr()), zap.Error(err))
		return nil, answer(nc, http.StatusBadRequest, nil, "bad request")
	}
	if req.URL.Path != h.opts.Path {
		return nil, answer(nc, http.StatusNotFound, nil, "not found: MQTT over WebSocket is at "+h.opts.Path)
	}
	if !websocket.IsWebSocketUpgrade(req) {
		return nil, answer(nc, http.StatusBadRequest, http.Header{"Upgrade": {"websocket"}}, "a WebSocket upgrade is expected here")
	}
	if !slices.ContainsFunc(websocket.Subprotocols(req), func(p string) bool { return slices.Contains(h.opts.Subprotocols, p) }) {
		h.opts.Logger.Debug("websocket: no supported subprotocol", zap.Stringer("remote", nc.RemoteAddr()),
			zap.Strings("offered", websocket.Subprotocols(req)))
		return nil, answer(nc, http.StatusBadRequest, nil, "unsupported WebSocket subprotocol: offer one of "+strings.Join(h.opts.Subprotocols, ", "))
	}
	w := &hijacker{conn: nc, br: br, header: http.Header{}}
	ws, err := h.up.Upgrade(w, req, nil)
	if err != nil {
		if !w.hijacked {
			return nil, answer(nc, w.status, w.header, strings.TrimSpace(w.body.String()))
		}
		return nil, err
	}
	lr.left = -1 // the request is read: no limit on the stream
	// Gorilla cleared the deadline; the protocol sets its own.
	return &Conn{ws: ws}, nil
}

// answer writes an HTTP error response and ends the connection (as the
// handler returns), so nothing else is read from a client that is not
// speaking WebSocket.
func answer(nc net.Conn, status int, header http.Header, body string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for k, vs := range header {
		if k == "Content-Type" || k == "Content-Length" || k == "Connection" || k == "X-Content-Type-Options" {
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, strings.Map(dropControl, v))
		}
	}
	body += "\n"
	fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s", strconv.Itoa(len(body)), body)
	_, err := io.WriteString(nc, b.String())
	return err
}

func dropControl(r rune) rune {
	if r < ' ' {
		return ' '
	}
	return r
}

// limitedReader fails a request longer than left bytes; left < 0 is no
// limit.
type limitedReader struct {
	r    io.Reader
	left int
}

var errRequestTooLarge = errors.New("websocket: upgrade request too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return l.r.Read(p)
	}
	if l.left == 0 {
		return 0, errRequestTooLarge
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= n
	return n, err
}

// hijacker is the http.ResponseWriter gorilla's Upgrade wants: it records
// an error answer, or hands over the connection with the reader that
// already holds the request.
type hijacker struct {
	conn     net.Conn
	br       *bufio.Reader
	header   http.Header
	status   int
	body     strings.Builder
	hijacked bool
}

func (w *hijacker) Header() http.Header { return w.header }

func (w *hijacker) WriteHeader(status int) { w.status = status }

func (w *hijacker) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	// Gorilla takes over the reader (over 256 bytes, so it keeps it as
	// the frame reader) and only peeks at the writer's buffer: a small one
	// does, since its write buffers come from the pool.
	return w.conn, bufio.NewReadWriter(w.br, bufio.NewWriterSize(w.conn, 64)), nil
}
