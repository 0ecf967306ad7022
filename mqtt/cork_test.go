package mqtt

import (
	"io"
	"net"
	"strings"
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

// writeCounter is a connection that records each Write and reads from r.
type writeCounter struct {
	net.Conn
	writes [][]byte
	r      io.Reader
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, append([]byte(nil), p...))
	return len(p), nil
}
func (w *writeCounter) Read(p []byte) (int, error) { return w.r.Read(p) }

// The answers the reader writes itself to packets it read in one go (a
// burst of PUBRELs) leave in one write, when it goes back to the network,
// and a write after that goes out at once again.
func TestReaderAnswersLeaveInOneWrite(t *testing.T) {
	w := &writeCounter{r: strings.NewReader("xy")}
	c := &corkConn{Conn: w}
	for _, ans := range []string{"comp1", "comp2", "comp3"} {
		c.corkReader()
		c.Write([]byte(ans))
	}
	if len(w.writes) != 0 {
		t.Fatalf("%d writes before the reader went back to the network, want 0", len(w.writes))
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 1 || string(w.writes[0]) != "comp1comp2comp3" {
		t.Fatalf("writes %q, want one of comp1comp2comp3", w.writes)
	}
	c.Write([]byte("ping"))
	if len(w.writes) != 2 {
		t.Fatalf("a write with no cork held waited: %q", w.writes)
	}
}
