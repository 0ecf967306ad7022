package handlers

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echo writes back what it reads until the client closes.
var echo = ConnHandlerFunc(func(_ context.Context, c net.Conn) error {
	_, err := io.Copy(c, c)
	return err
})

// untilClientLeaves reads and drops everything until the client closes.
var untilClientLeaves = ConnHandlerFunc(func(_ context.Context, c net.Conn) error {
	_, err := io.Copy(io.Discard, c)
	return err
})

// untilDrained holds the connection until draining starts, then says bye.
var untilDrained = ConnHandlerFunc(func(ctx context.Context, c net.Conn) error {
	<-ctx.Done()
	_, err := c.Write([]byte("bye\n"))
	return err
})

func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != msg {
		t.Fatalf("echo = %q, want %q", buf, msg)
	}
}

func TestServeCountsConnectionsAndBytes(t *testing.T) {
	ts := startServer(t, Options{Protocol: "kafka", Handler: echo})

	c := dial(t, ts.addr)
	roundTrip(t, c, "hello")
	eventually(t, "one active connection", func() bool { return ts.metric(t, "pulsar_gateway_connections_active", "kafka") == 1 })
	c.Close()

	eventually(t, "no active connection", func() bool { return ts.metric(t, "pulsar_gateway_connections_active", "kafka") == 0 })
	for name, want := range map[string]float64{
		"pulsar_gateway_connections_total":          1,
		"pulsar_gateway_bytes_in_total":             5,
		"pulsar_gateway_bytes_out_total":            5,
		"pulsar_gateway_connections_rejected_total": 0,
		"pulsar_gateway_errors_total":               0,
		"pulsar_gateway_panics_total":               0,
	} {
		if got := ts.metric(t, name, "kafka"); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestConnectionLimitClosesExcessAtOnce(t *testing.T) {
	ts := startServer(t, Options{Handler: untilClientLeaves, MaxConnections: 2})

	held := []net.Conn{dial(t, ts.addr), dial(t, ts.addr)}
	eventually(t, "two connections admitted", func() bool { return ts.ActiveConnections() == 2 })

	extra := dial(t, ts.addr)
	expectClosed(t, extra)
	eventually(t, "the rejection counted", func() bool { return ts.metric(t, "pulsar_gateway_connections_rejected_total", "test") == 1 })
	if n := ts.logs.FilterMessage("connection limit reached: closing new connection").Len(); n != 1 {
		t.Errorf("%d limit log lines, want 1", n)
	}

	// The held connections are untouched; once one leaves, a new one fits.
	held[0].Close()
	eventually(t, "a free slot", func() bool { return ts.ActiveConnections() == 1 })
	dial(t, ts.addr)
	eventually(t, "the new connection admitted", func() bool { return ts.ActiveConnections() == 2 })
	if got := ts.metric(t, "pulsar_gateway_connections_total", "test"); got != 3 {
		t.Errorf("connections_total = %v, want 3 (the rejected one not counted)", got)
	}
}

func TestReadTimeoutDropsSilentClient(t *testing.T) {
	ts := startServer(t, Options{Handler: echo, ReadTimeout: 100 * time.Millisecond})

	// A client that keeps talking stays connected past the timeout.
	chatty := dial(t, ts.addr)
	for range 4 {
		roundTrip(t, chatty, "ping")
		time.Sleep(50 * time.Millisecond)
	}
	chatty.Close()

	silent := dial(t, ts.addr)
	start := time.Now()
	expectClosed(t, silent)
	if waited := time.Since(start); waited < 80*time.Millisecond {
		t.Errorf("silent client dropped after %v, before the 100ms timeout", waited)
	}
	eventually(t, "the timeout counted as an error", func() bool { return ts.metric(t, "pulsar_gateway_errors_total", "test") == 1 })
}

func TestPanicClosesOnlyThatConnection(t *testing.T) {
	handler := ConnHandlerFunc(func(ctx context.Context, c net.Conn) error {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) == "boom!" {
			var m map[string]int
			m["x"]++ // a nil map write: a real bug, not a deliberate panic call
		}
		_, err := c.Write(buf)
		return err
	})
	ts := startServer(t, Options{Handler: handler})

	bad := dial(t, ts.addr)
	bad.Write([]byte("boom!"))
	expectClosed(t, bad)

	eventually(t, "the panic counted", func() bool { return ts.metric(t, "pulsar_gateway_panics_total", "test") == 1 })
	entries := ts.logs.FilterMessage("handler panicked: closing connection").All()
	if len(entries) != 1 {
		t.Fatalf("%d panic log lines, want 1", len(entries))
	}
	fields := entries[0].ContextMap()
	if !strings.Contains(fmt.Sprint(fields["panic"]), "nil map") {
		t.Errorf("logged panic = %v, want the nil map error", fields["panic"])
	}
	if !strings.Contains(fields["stack"].(string), "TestPanicClosesOnlyThatConnection") {
		t.Errorf("logged stack does not show the handler:\n%s", fields["stack"])
	}

	// The server and the process live on.
	roundTrip(t, dial(t, ts.addr), "hello")
	eventually(t, "no connection left open", func() bool { return ts.metric(t, "pulsar_gateway_connections_active", "test") <= 1 })
}

func TestHandlerErrorCounted(t *testing.T) {
	ts := startServer(t, Options{Handler: ConnHandlerFunc(func(context.Context, net.Conn) error {
		return errors.New("malformed frame")
	})})
	expectClosed(t, dial(t, ts.addr))
	eventually(t, "the error counted", func() bool { return ts.metric(t, "pulsar_gateway_errors_total", "test") == 1 })
	if ts.logs.FilterMessage("connection ended with an error").Len() != 1 {
		t.Error("the handler's error was not logged")
	}
}

func TestDrainLetsConnectionsFinish(t *testing.T) {
	ts := startServer(t, Options{Handler: untilDrained})
	c := dial(t, ts.addr)
	eventually(t, "the connection admitted", func() bool { return ts.ActiveConnections() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Drain(ctx); err != nil {
		t.Fatalf("Drain = %v, want nil: the handler finished in time", err)
	}

	// The handler saw the drain and said goodbye before the close.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(c)
	if string(got) != "bye\n" {
		t.Errorf("client read %q, want the handler's goodbye", got)
	}
	select {
	case err := <-ts.serve:
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
		ts.serve <- err // for the cleanup's check
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running after Drain")
	}
	if conn, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		conn.Close()
		t.Error("a new connection was accepted after Drain")
	}
}

func TestDrainDeadlineClosesStragglers(t *testing.T) {
	// untilClientLeaves ignores ctx: only a close ends it.
	ts := startServer(t, Options{Protocol: "mqtt", Handler: untilClientLeaves})
	c1, c2 := dial(t, ts.addr), dial(t, ts.addr)
	eventually(t, "two connections admitted", func() bool { return ts.ActiveConnections() == 2 })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ts.Drain(ctx)
	if err == nil || !strings.Contains(err.Error(), "mqtt: drain deadline passed: closed 2 open connections") {
		t.Fatalf("Drain = %v, want the deadline error naming 2 connections", err)
	}
	if waited := time.Since(start); waited < 90*time.Millisecond || waited > 2*time.Second {
		t.Errorf("Drain took %v, want about the 100ms deadline", waited)
	}
	expectClosed(t, c1)
	expectClosed(t, c2)
	eventually(t, "no active connection", func() bool { return ts.metric(t, "pulsar_gateway_connections_active", "mqtt") == 0 })
}

func TestTLS(t *testing.T) {
	serverTLS, roots := selfSignedTLS(t)
	var sawTLS atomic.Bool
	handler := ConnHandlerFunc(func(ctx context.Context, c net.Conn) error {
		if _, ok := c.(*tls.Conn); ok {
			sawTLS.Store(true)
		}
		return echo(ctx, c)
	})
	ts := startServer(t, Options{Protocol: "amqp", Handler: handler, TLS: serverTLS})

	c, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	roundTrip(t, c, "secret")
	if !sawTLS.Load() {
		t.Error("the handler did not get a *tls.Conn")
	}
	// Bytes are counted on the wire: the handshake and records are more than
	// the 6 plaintext bytes.
	if in := ts.metric(t, "pulsar_gateway_bytes_in_total", "amqp"); in <= 6 {
		t.Errorf("bytes_in_total = %v, want the TLS wire bytes (> 6)", in)
	}

	// A plaintext client gets nothing useful and is closed.
	plain := dial(t, ts.addr)
	plain.Write([]byte("AMQP\x00\x00\x09\x01"))
	expectClosed(t, plain)
}

// A second listener served with ServeWith runs its own handler, and its
// connections count against the one limit and drain with the others.
func TestServeWithSharesLimitAndDrain(t *testing.T) {
	ts := startServer(t, Options{Handler: untilClientLeaves, MaxConnections: 2})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- ts.ServeWith(ln, Listener{Handler: ConnHandlerFunc(func(_ context.Context, c net.Conn) error {
			c.Write([]byte("second\n"))
			return untilClientLeaves.HandleConn(context.Background(), c)
		})})
	}()
	second := dial(t, ln.Addr().String())
	line := make([]byte, 7)
	if _, err := io.ReadFull(second, line); err != nil || string(line) != "second\n" {
		t.Fatalf("second listener's handler: %q %v", line, err)
	}
	dial(t, ts.addr)
	eventually(t, "one connection on each listener", func() bool { return ts.ActiveConnections() == 2 })
	expectClosed(t, dial(t, ln.Addr().String()))
	expectClosed(t, dial(t, ts.addr))
	eventually(t, "both rejections counted", func() bool { return ts.metric(t, "pulsar_gateway_connections_rejected_total", "test") == 2 })

	ts.Close()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeWith returned %v, want ErrServerClosed", err)
	}
	expectClosed(t, second)
}
