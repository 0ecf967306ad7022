package mqtt

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// connectV311 is a valid 3.1.1 CONNECT of client "fz", clean session.
var connectV311 = []byte{0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 30, 0, 2, 'f', 'z'}

// FuzzMalformedPackets writes arbitrary bytes on a connection of a running
// gateway, alone and after a valid CONNECT: the gateway must close that
// connection (or wait for more bytes until the client leaves), never
// panic, and keep serving another client.
func FuzzMalformedPackets(f *testing.F) {
	for _, s := range [][]byte{
		{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f},              // length over 4 bytes
		{0x82, 5, 0, 1, 0, 1, 'a'},                        // SUBSCRIBE without options byte
		{0x32, 3, 0, 1, 'a'},                              // QoS 1 PUBLISH without packet id
		{0x10, 2, 0, 0},                                   // short CONNECT
		{0x30, 4, 0, 2, '#', '+'},                         // wildcard in a topic name
		{0x62, 2, 0, 9},                                   // PUBREL for an unknown id
		{0xe0, 0},                                         // DISCONNECT
		{0x82, 6, 0, 1, 0, 1, '#', 3},                     // SUBSCRIBE with a bad QoS
		{0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 30}, // truncated v5 CONNECT
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	g := startGateway(f, "")
	watch := connect3(f, g, "watcher", true)
	watch.sub(f, "fuzz/alive", 0)
	pub := connect3(f, g, "fuzz-pub", true)

	f.Fuzz(func(t *testing.T, data []byte, afterConnect bool) {
		c, err := net.Dial("tcp", g.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if afterConnect {
			c.Write(connectV311)
		}
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		// A reset is a close too: the gateway closed with our bytes unread.
		if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("the gateway did not close the connection: %v", err)
		}
		if n := g.panics(t); n > 0 {
			t.Fatalf("%v connections panicked", n)
		}
		pub.pub(t, "fuzz/alive", 0, false, "yes")
		if m := expect(t, watch.got, 1); m[0].payload != "yes" {
			t.Fatalf("watcher got %+v", m)
		}
	})
}

// A connection that never sends CONNECT is closed after ConnectTimeout.
func TestConnectTimeout(t *testing.T) {
	g := startGateway(t, "", func(o *Options) { o.ConnectTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("read = %d, %v after %v; want the gateway to close the connection", n, err, time.Since(start))
	}
}
