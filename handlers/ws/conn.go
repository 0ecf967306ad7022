package ws

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Conn is a WebSocket as a byte stream: what Read returns is the payload of
// the client's binary messages, one after the other; each Write is one
// binary message. A text message ends the connection: MQTT allows only
// binary frames [MQTT-6.0.0-1].
type Conn struct {
	ws *websocket.Conn
	r  io.Reader // the message being read; nil between messages

	wmu sync.Mutex // one writer at a time, as gorilla needs
	// writeBy is the write deadline (Unix nanoseconds, 0: none), handed
	// to gorilla under wmu: its own setter races with its writes, while
	// net.Conn lets deadlines be set beside a Write.
	writeBy   atomic.Int64
	closeOnce sync.Once
	closeErr  error
}

// ErrTextMessage is the read error after a client sent a text message.
var ErrTextMessage = errors.New("websocket: text message; MQTT is carried in binary messages only")

// Subprotocol is what the handshake agreed on ("mqtt", "mqttv3.1").
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

func (c *Conn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			mt, r, err := c.ws.NextReader()
			if err != nil {
				return 0, streamError(err)
			}
			if mt != websocket.BinaryMessage {
				c.closeWith(websocket.CloseUnsupportedData, "binary frames only")
				return 0, ErrTextMessage
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil // the message ended; the stream goes on
			if n == 0 {
				continue
			}
			err = nil
		}
		if err != nil {
			err = streamError(err)
		}
		return n, err
	}
}

// streamError maps the end of the WebSocket onto the end of the stream: a
// client that closed (with a close frame or without) has left, as a TCP
// client's EOF says.
func streamError(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived, websocket.CloseAbnormalClosure:
			return io.EOF
		}
	}
	return err
}

func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var by time.Time
	if n := c.writeBy.Load(); n != 0 {
		by = time.Unix(0, n)
	}
	c.ws.SetWriteDeadline(by)
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close says goodbye with a close frame (so a browser sees a clean close,
// 1000, rather than 1006) and closes the connection.
func (c *Conn) Close() error {
	c.closeWith(websocket.CloseNormalClosure, "")
	return c.closeErr
}

func (c *Conn) closeWith(code int, text string) {
	c.closeOnce.Do(func() {
		// WriteControl may run beside a Write; it waits no longer than
		// its deadline for it.
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
		c.closeErr = c.ws.Close()
	})
}

func (c *Conn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.ws.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *Conn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }

// SetWriteDeadline holds for the next writes, and sets the connection's
// at once too, so that it ends a write already waiting.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	c.writeBy.Store(n)
	return c.ws.NetConn().SetWriteDeadline(t)
}

// NetConn is the connection under the WebSocket (a *tls.Conn for wss), for
// who needs the client's certificate.
func (c *Conn) NetConn() net.Conn { return c.ws.NetConn() }
