package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// client is a minimal MQTT 3.1.1 client: enough to publish, subscribe and
// acknowledge at QoS 0 and 1 with little CPU, so that the load generator
// takes as small a share of the machine as it can.
type client struct {
	conn net.Conn
	r    *bufio.Reader
	wmu  sync.Mutex
	w    *bufio.Writer
}

func dial(addr, local, id string, keepAlive uint16) (*client, error) {
	return dialSize(addr, local, id, keepAlive, 64<<10)
}

// dialSize connects with buffers of size bytes (small for the idle
// scenario's thousands of connections, which would not fit with 64 KiB).
func dialSize(addr, local, id string, keepAlive uint16, size int) (*client, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &client{conn: conn, r: bufio.NewReaderSize(conn, size), w: bufio.NewWriterSize(conn, size)}
	var body []byte
	body = appendString(body, "MQTT")
	body = append(body, 4, 0x02) // 3.1.1, clean session
	body = binary.BigEndian.AppendUint16(body, keepAlive)
	body = appendString(body, id)
	c.packet(0x10, body)
	if err := c.flush(); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	typ, b, err := c.read()
	conn.SetReadDeadline(time.Time{})
	if err != nil || typ>>4 != 2 || len(b) < 2 || b[1] != 0 {
		conn.Close()
		return nil, fmt.Errorf("connack %x %v: %w", b, typ, err)
	}
	return c, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// packet buffers one packet; the caller holds wmu or is the only writer.
func (c *client) packet(first byte, body []byte) {
	c.w.WriteByte(first)
	n := len(body)
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		c.w.WriteByte(d)
		if n == 0 {
			break
		}
	}
	c.w.Write(body)
}

func (c *client) flush() error { return c.w.Flush() }

func (c *client) read() (byte, []byte, error) {
	typ, err := c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for i := 0; ; i++ {
		d, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(d&0x7f) * mul
		mul *= 128
		if d&0x80 == 0 {
			break
		}
		if i > 3 {
			return 0, nil, errors.New("bad length")
		}
	}
	b := make([]byte, n)
	_, err = io.ReadFull(c.r, b)
	return typ, b, err
}

func (c *client) subscribe(filter string, qos byte) error {
	var body []byte
	body = binary.BigEndian.AppendUint16(body, 1)
	body = appendString(body, filter)
	body = append(body, qos)
	c.wmu.Lock()
	c.packet(0x82, body)
	err := c.flush()
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	typ, b, err := c.read()
	if err != nil || typ>>4 != 9 || len(b) < 3 || b[2] >= 0x80 {
		return fmt.Errorf("suback %x: %v", b, err)
	}
	return nil
}

// publish buffers a PUBLISH; flush sends.
func (c *client) publish(topic string, qos byte, id uint16, payload []byte, buf []byte) []byte {
	body := appendString(buf[:0], topic)
	if qos > 0 {
		body = binary.BigEndian.AppendUint16(body, id)
	}
	body = append(body, payload...)
	c.packet(0x30|qos<<1, body)
	return body
}

func (c *client) puback(id uint16) {
	c.packet(0x40, []byte{byte(id >> 8), byte(id)})
}

// ack buffers a packet of just a packet id: PUBREC (0x50), PUBREL (0x62), PUBCOMP (0x70).
func (c *client) ack(first byte, id uint16) {
	c.packet(first, []byte{byte(id >> 8), byte(id)})
}

func (c *client) Close() error { return c.conn.Close() }
