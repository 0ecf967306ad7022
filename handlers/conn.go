package handlers

import (
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// meteredConn is the raw client connection as the Server tracks it: it
// counts bytes and, with a read timeout, renews the read deadline before
// every read, so a client silent for that long is dropped. It sits under
// TLS, so the counts are wire bytes and a handler still gets a *tls.Conn.
type meteredConn struct {
	net.Conn
	via               *Listener // the listener's TLS and handler
	readTimeout       time.Duration
	bytesIn, bytesOut prometheus.Counter
}

// Read's frame is on every idle connection's parked stack: the deadline is
// set in a function of its own.
func (c *meteredConn) Read(b []byte) (int, error) {
	if c.readTimeout > 0 {
		if err := c.renewDeadline(); err != nil {
			return 0, err
		}
	}
	return c.counted(c.Conn.Read(b))
}

//go:noinline
func (c *meteredConn) counted(n int, err error) (int, error) {
	if n > 0 {
		c.bytesIn.Add(float64(n))
	}
	return n, err
}

func (c *meteredConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.bytesOut.Add(float64(n))
	}
	return n, err
}

//go:noinline
func (c *meteredConn) renewDeadline() error {
	return c.Conn.SetReadDeadline(time.Now().Add(c.readTimeout))
}
