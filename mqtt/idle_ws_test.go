package mqtt

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/handlers"
	"github.com/pulsar-gateway/pulsar-gateway/handlers/ws"
)

// idleWebSocketBudget is what one idle MQTT over WebSocket connection may
// cost: the TCP connection's budget and 4 KiB more for gorilla's
// connection and its 1 KiB frame reader (write buffers are pooled).
const idleWebSocketBudget = idleBudget + 4<<10

// An idle MQTT connection over WebSocket (upgrade and CONNECT done) costs
// the gateway less than idleWebSocketBudget. The clients are raw sockets
// speaking the frames by hand, so they add only their sockets.
func TestIdleWebSocketConnectionMemory(t *testing.T) {
	const n = 2000
	g := idleGateway(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.hs.ServeWith(ln, handlers.Listener{Handler: ws.Handler(g.srv, ws.Options{Path: "/mqtt", Subprotocols: []string{"mqtt"}})})
	addr := ln.Addr().String()

	connectV5 := []byte{0x10, 0, 0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 30, 0}
	heap, stack := idleCost(t, n, func(i int) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET /mqtt HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n", addr)
		var resp []byte
		for !bytes.HasSuffix(resp, []byte("\r\n\r\n")) {
			var one [1]byte
			if _, err := c.Read(one[:]); err != nil {
				t.Fatalf("upgrade answer %q: %v", resp, err)
			}
			resp = append(resp, one[0])
		}
		if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101 ")) {
			t.Fatalf("upgrade answer %q", resp)
		}
		id := fmt.Sprintf("idle-%05d", i)
		pk := append(append([]byte(nil), connectV5...), 0, byte(len(id)))
		pk = append(pk, id...)
		pk[1] = byte(len(pk) - 2)
		// A binary frame, masked with a zero key as a client must mask.
		frame := append([]byte{0x82, 0x80 | byte(len(pk)), 0, 0, 0, 0}, pk...)
		if _, err := c.Write(frame); err != nil {
			t.Fatal(err)
		}
		ack := make([]byte, 6)
		if _, err := io.ReadFull(c, ack[:3]); err != nil || ack[0] != 0x82 || ack[2] != 0x20 {
			t.Fatalf("CONNACK frame %x: %v", ack, err)
		}
		c.SetDeadline(time.Time{})
		return c
	})
	t.Logf("per idle WebSocket connection: heap %.0f B, stacks %.0f B, total %.1f KiB", heap, stack, (heap+stack)/1024)
	if heap+stack > idleWebSocketBudget {
		t.Errorf("an idle WebSocket connection costs %.1f KiB, over the %d KiB budget", (heap+stack)/1024, idleWebSocketBudget>>10)
	}
}
