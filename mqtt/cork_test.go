package mqtt

import (
	"net"
	"testing"
)

// The window slots that acks freed come back when the reader goes back to
// the network, all together, and not before.
func TestWindowReleasedBeforeRead(t *testing.T) {
	ss := &session{window: make(chan struct{}, 4)}
	for range 4 {
		ss.window <- struct{}{}
	}
	client, server := net.Pipe()
	defer client.Close()
	c := &corkConn{Conn: server}
	defer c.Close()
	c.ss.Store(ss)
	ss.freed.Add(3) // three acks processed, the reader not back yet
	if n := len(ss.window); n != 4 {
		t.Fatalf("%d slots taken before the read, want 4", n)
	}
	go client.Write([]byte{0})
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if n := len(ss.window); n != 1 {
		t.Fatalf("%d slots taken after the read, want 1", n)
	}
	if n := ss.freed.Load(); n != 0 {
		t.Fatalf("%d freed slots left", n)
	}
}
