package ws

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pulsar-gateway/pulsar-gateway/handlers"
)

// serve runs a handlers.Server on a loopback socket whose connections
// are upgraded and handed to next.
func serve(t *testing.T, next handlers.ConnHandlerFunc) string {
	t.Helper()
	srv := handlers.NewServer(handlers.Options{Protocol: "test",
		Handler: Handler(next, Options{Path: "/mqtt", Subprotocols: []string{"mqtt", "mqttv3.1"}, HandshakeTimeout: 2 * time.Second})})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string, protocols ...string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial("ws://"+addr+"/mqtt", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c
}

// The handler reads a byte stream whatever the framing: packets split
// over frames and messages, several in one frame; each write is one binary
// message back.
func TestStreamAcrossFrames(t *testing.T) {
	got := make(chan string, 1)
	addr := serve(t, func(_ context.Context, c net.Conn) error {
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil {
			got <- "error: " + err.Error()
			return err
		}
		got <- string(buf)
		if sp := c.(*Conn).Subprotocol(); sp != "mqtt" {
			t.Errorf("subprotocol %q", sp)
		}
		_, err := c.Write([]byte("pong"))
		return err
	})
	c := dial(t, addr, "mqtt")
	// One message of two frames, then one frame holding the rest: raw
	// frames, as gorilla's writer does not split a message.
	raw := append(frame(0x02, "hel"), frame(0x80, "lo ")...)
	if _, err := c.NetConn().Write(append(raw, frame(0x82, "world!")...)); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "hello world!" {
			t.Errorf("handler read %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler read nothing")
	}
	mt, p, err := c.ReadMessage()
	if err != nil || mt != websocket.BinaryMessage || string(p) != "pong" {
		t.Fatalf("answer %d %q %v", mt, p, err)
	}
	// The handler returned: the server says goodbye with a close frame.
	_, _, err = c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("after the handler returned: %v, want close 1000", err)
	}
}

// A text message ends the connection [MQTT-6.0.0-1] with close code 1003;
// a client's close frame is the stream's EOF.
func TestTextMessageAndClose(t *testing.T) {
	errs := make(chan error, 1)
	addr := serve(t, func(_ context.Context, c net.Conn) error {
		_, err := io.ReadAll(c)
		errs <- err
		return err
	})
	c := dial(t, addr, "mqtt")
	c.WriteMessage(websocket.TextMessage, []byte("hi"))
	if err := <-errs; !errors.Is(err, ErrTextMessage) {
		t.Errorf("handler's read after a text message: %v", err)
	}
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseUnsupportedData) {
		t.Errorf("client got %v, want close 1003", err)
	}

	c = dial(t, addr, "mqttv3.1")
	if c.Subprotocol() != "mqttv3.1" {
		t.Errorf("subprotocol %q", c.Subprotocol())
	}
	c.WriteMessage(websocket.BinaryMessage, []byte("x"))
	c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	if err := <-errs; err != nil {
		t.Errorf("handler's read after a close frame: %v, want EOF (ReadAll nil)", err)
	}
}

// What is not an MQTT WebSocket upgrade gets an HTTP error, and the
// connection ends.
func TestRefusals(t *testing.T) {
	addr := serve(t, func(context.Context, net.Conn) error { t.Error("handler reached"); return nil })
	upgrade := "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for _, c := range []struct {
		name, req string
		want      int
	}{
		{"path", "GET /ws HTTP/1.1\r\nHost: x\r\n" + upgrade + "Sec-WebSocket-Protocol: mqtt\r\n\r\n", 404},
		{"subprotocol", "GET /mqtt HTTP/1.1\r\nHost: x\r\n" + upgrade + "Sec-WebSocket-Protocol: mqtt5\r\n\r\n", 400},
		{"no upgrade", "GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"POST", "POST /mqtt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + upgrade + "Sec-WebSocket-Protocol: mqtt\r\n\r\n", 405},
		{"bad key", "GET /mqtt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n", 400},
		{"garbage", "\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00\r\n\r\n", 400},
		{"huge header", "GET /mqtt HTTP/1.1\r\nX: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", 400},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		go conn.Write([]byte(c.req))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			conn.Close()
			continue
		}
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
		io.Copy(io.Discard, resp.Body)
		if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
			t.Errorf("%s: connection still open after the answer: %v", c.name, err)
		}
		conn.Close()
	}
}

// frame is a client frame (masked with a zero key) with the first byte b0.
func frame(b0 byte, payload string) []byte {
	return append([]byte{b0, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "reset") }

// A client that never finishes its request is dropped at the handshake
// timeout.
func TestHandshakeTimeout(t *testing.T) {
	addr := serve(t, func(context.Context, net.Conn) error { return nil })
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /mqtt HTTP/1.1\r\n"))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := conn.Read(make([]byte, 1)); err == nil || time.Since(start) > 8*time.Second {
		t.Errorf("half a request held the connection %s: %v", time.Since(start), err)
	}
}

// bytesConn is a client that sent b and reads nothing back.
type bytesConn struct {
	net.Conn // nil: only what the handshake uses is here
	r        *bytes.Reader
	out      bytes.Buffer
}

func (c *bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }
func (c *bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// Any bytes from a client: an HTTP answer or a WebSocket stream that ends,
// never a panic or a hang.
func FuzzHandshakeAndFrames(f *testing.F) {
	hs := "GET /mqtt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
	f.Add([]byte(hs + "\x82\x80\x00\x00\x00\x00"))
	f.Add([]byte(hs + "\x82\x83\x01\x02\x03\x04abc\x81\x81\x00\x00\x00\x00a"))
	f.Add([]byte(hs + "\x02\x82\x00\x00\x00\x00ab\x80\x81\x00\x00\x00\x00c\x88\x80\x00\x00\x00\x00"))
	f.Add([]byte(hs + "\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("\x10\x0c\x00\x04MQTT"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := Handler(handlers.ConnHandlerFunc(func(_ context.Context, c net.Conn) error {
			_, err := io.Copy(io.Discard, io.LimitReader(c, 1<<20))
			return err
		}), Options{Path: "/mqtt", Subprotocols: []string{"mqtt"}})
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.HandleConn(context.Background(), &bytesConn{r: bytes.NewReader(b)})
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("hung on %q", b)
		}
	})
}
