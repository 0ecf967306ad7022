package mqtt

import (
	"net"
	"sync"
	"sync/atomic"
)

// corkConn lets a burst of packets go out in one write: while corked,
// writes gather in a buffer, written when the last cork is removed (or by
// flush). Mochi writes every packet with its own write call otherwise,
// which costs a system call per message on the hot path. Buffers come from
// a pool, so an idle connection holds none.
type corkConn struct {
	net.Conn
	mu    sync.Mutex
	corks int
	buf   *[]byte
	err   error
	// waiting counts writers waiting for the client (their window full):
	// meanwhile every write goes out at once, corked or not, because the
	// reader's answers (PUBREL to a PUBREC, PINGRESP) are what the client
	// waits for before it frees the window.
	waiting int
	// ss is the connection's session once CONNECT made it: the reader
	// gives back its freed window slots before each read from the network,
	// once the packets already read are processed and before it may wait
	// for the client (session.releaseWindow).
	ss atomic.Pointer[session]
	// readerCorked: the reader holds a cork over its own answers (see
	// corkReader). Touched by the reader goroutine only.
	readerCorked bool
}

const corkMax = 64 << 10 // flush past this many buffered bytes

var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (c *corkConn) Read(p []byte) (int, error) {
	if ss := c.ss.Load(); ss != nil {
		ss.releaseWindow()
	}
	if c.readerCorked { // what was read is answered: out before waiting for more
		c.readerCorked = false
		c.uncork()
	}
	return c.Conn.Read(p)
}

// corkReader corks the answers the reader writes itself (PUBCOMP to a
// PUBREL, PUBREL to a PUBREC) until it next reads from the network, so a
// burst of them read in one go is answered in one write instead of a
// syscall each (QoS 2 fan-in spent most of its time in those writes). The
// reader does not wait for the client while it holds the cork. Reader
// goroutine only.
func (c *corkConn) corkReader() {
	if c != nil && !c.readerCorked {
		c.readerCorked = true
		c.cork()
	}
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if (c.corks == 0 || c.waiting > 0) && c.buf == nil {
		n, err := c.Conn.Write(p)
		if err != nil {
			c.err = err
		}
		return n, err
	}
	if c.buf == nil {
		c.buf = corkBufs.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	if len(*c.buf) >= corkMax {
		c.flushLocked()
	}
	return len(p), c.err
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corks++
	c.mu.Unlock()
}

func (c *corkConn) uncork() {
	c.mu.Lock()
	c.corks--
	if c.corks == 0 {
		c.flushLocked()
	}
	c.mu.Unlock()
}

// flush writes what is buffered, corked or not: a writer about to wait for
// the client (its window full) must first let the client see everything.
func (c *corkConn) flush() {
	c.mu.Lock()
	c.flushLocked()
	c.mu.Unlock()
}

func (c *corkConn) flushLocked() {
	if c.buf == nil {
		return
	}
	if c.err == nil && len(*c.buf) > 0 {
		if _, err := c.Conn.Write(*c.buf); err != nil {
			c.err = err
		}
	}
	*c.buf = (*c.buf)[:0]
	if cap(*c.buf) <= corkMax*2 {
		corkBufs.Put(c.buf)
	}
	c.buf = nil
}

// corker is the session's corkConn, or a no-op when mochi's connection is
// not one (tests that build clients by hand).
func corker(nc net.Conn) *corkConn {
	if c, ok := nc.(*corkConn); ok {
		return c
	}
	return nil
}

func (c *corkConn) Cork() {
	if c != nil {
		c.cork()
	}
}

func (c *corkConn) Uncork() {
	if c != nil {
		c.uncork()
	}
}

func (c *corkConn) Flush() {
	if c != nil {
		c.flush()
	}
}

// Wait flushes and lets every write through until the returned function
// is called: for a writer about to wait for the client while it (or
// another writer of the connection) holds a cork.
func (c *corkConn) Wait() (done func()) {
	if c == nil {
		return func() {}
	}
	c.mu.Lock()
	c.waiting++
	c.flushLocked()
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		c.waiting--
		c.mu.Unlock()
	}
}
