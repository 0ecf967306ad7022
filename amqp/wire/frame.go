package wire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// ProtocolHeader opens every AMQP 0-9-1 connection; a server also sends it back, then
// closes, to a client whose header it does not accept.
const ProtocolHeader = "AMQP\x00\x00\x09\x01"

// protocolHeader09 is the pre-0-9-1 spelling (class 1, instance 1, 0.9), which RabbitMQ
// accepts as the same protocol.
const protocolHeader09 = "AMQP\x01\x01\x00\x09"

const (
	frameHeaderSize = 7 // type, channel, size
	// FrameOverhead is what a frame adds to its payload: the header and the frame-end octet.
	FrameOverhead = frameHeaderSize + 1
)

// Frame is one frame read from the wire. Payload aliases the Reader's buffer and is valid
// only until the next ReadFrame.
type Frame struct {
	Type    uint8
	Channel uint16
	Payload []byte
}

// Reader reads frames. It is not safe for concurrent use.
type Reader struct {
	br  *bufio.Reader
	max uint32
	hdr [frameHeaderSize]byte
	buf []byte
}

// NewReader returns a Reader whose frame limit is FrameMinSize, the limit before tuning.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 32<<10), max: FrameMinSize}
}

// SetFrameMax sets the negotiated frame_max. Values below FrameMinSize, including 0
// (unlimited, which the server never agrees to), mean FrameMinSize.
func (r *Reader) SetFrameMax(n uint32) { r.max = max(n, FrameMinSize) }

// ReadProtocolHeader reads the client's 8-byte protocol header. An unsupported one returns
// an error wrapping ErrProtocolHeader: answer with ProtocolHeader and close.
func (r *Reader) ReadProtocolHeader() error {
	var h [8]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return err
	}
	if s := string(h[:]); s != ProtocolHeader && s != protocolHeader09 {
		return fmt.Errorf("%w: %q", ErrProtocolHeader, h[:])
	}
	return nil
}

// ReadFrame reads the next frame. Protocol violations are *Error: an unknown type, a payload
// over frame_max (checked before anything is allocated or read), a bad frame-end octet
// (frame-error, 501), a heartbeat off channel 0 (unexpected-frame, 505). I/O errors are
// returned as is: io.EOF between frames, io.ErrUnexpectedEOF inside one.
//
// Like RabbitMQ, a payload may use the whole frame_max: clients often forget the 8 bytes of
// overhead.
func (r *Reader) ReadFrame() (Frame, error) {
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		return Frame{}, err
	}
	f := Frame{Type: r.hdr[0], Channel: binary.BigEndian.Uint16(r.hdr[1:])}
	size := binary.BigEndian.Uint32(r.hdr[3:])
	switch f.Type {
	case FrameMethod, FrameHeader, FrameBody, FrameHeartbeat:
	default:
		return Frame{}, frameErr("unknown frame type %d", f.Type)
	}
	if size > r.max {
		return Frame{}, frameErr("frame of %d bytes exceeds frame_max %d", size, r.max)
	}
	n := int(size) + 1
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	buf := r.buf[:n]
	if _, err := io.ReadFull(r.br, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	if end := buf[size]; end != FrameEnd {
		return Frame{}, frameErr("frame-end octet %#02x, want %#02x", end, FrameEnd)
	}
	if f.Type == FrameHeartbeat && f.Channel != 0 {
		return Frame{}, NewError(UnexpectedFrame, "heartbeat frame on channel %d", f.Channel)
	}
	f.Payload = buf[:size:size]
	return f, nil
}

// Writer writes frames into a buffer; nothing reaches the connection before Flush, so a
// command's frames go out together. It is not safe for concurrent use.
type Writer struct {
	bw  *bufio.Writer
	max uint32
	enc encoder // scratch for method and header payloads, kept to spare allocations
	hdr [frameHeaderSize]byte
}

// NewWriter returns a Writer whose frame limit is FrameMinSize, the limit before tuning.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 32<<10), max: FrameMinSize, enc: encoder{b: make([]byte, 0, 512)}}
}

// SetFrameMax sets the negotiated frame_max, which bounds whole frames. Values below
// FrameMinSize, including 0, mean FrameMinSize.
func (w *Writer) SetFrameMax(n uint32) { w.max = max(n, FrameMinSize) }

// WriteProtocolHeader writes ProtocolHeader, the answer to an unsupported client header.
func (w *Writer) WriteProtocolHeader() error {
	_, err := w.bw.WriteString(ProtocolHeader)
	return err
}

// WriteFrame writes one frame; the payload must fit frame_max.
func (w *Writer) WriteFrame(typ uint8, channel uint16, payload []byte) error {
	if uint64(len(payload))+FrameOverhead > uint64(w.max) {
		return fmt.Errorf("amqp: %d-byte frame payload exceeds frame_max %d", len(payload), w.max)
	}
	h := w.hdr[:]
	h[0] = typ
	binary.BigEndian.PutUint16(h[1:], channel)
	binary.BigEndian.PutUint32(h[3:], uint32(len(payload)))
	w.bw.Write(h)
	w.bw.Write(payload)
	return w.bw.WriteByte(FrameEnd) // bufio keeps the first write error
}

// WriteMethod writes a method frame.
func (w *Writer) WriteMethod(channel uint16, m Method) error {
	w.enc = encoder{b: w.enc.b[:0]}
	b, err := appendMethod(&w.enc, m)
	if err != nil {
		return err
	}
	return w.WriteFrame(FrameMethod, channel, b)
}

// WriteContent writes the content that follows a method with HasContent: a header frame,
// then the body in frames of at most frame_max-8 bytes (none for an empty body).
func (w *Writer) WriteContent(channel uint16, p *Properties, body []byte) error {
	h := Header{ClassID: ClassBasic, BodySize: uint64(len(body))}
	if p != nil {
		h.Properties = *p
	}
	w.enc = encoder{b: w.enc.b[:0]}
	b, err := appendHeader(&w.enc, &h)
	if err != nil {
		return err
	}
	if err := w.WriteFrame(FrameHeader, channel, b); err != nil {
		return err
	}
	chunk := int(w.max - FrameOverhead)
	for len(body) > 0 {
		n := min(chunk, len(body))
		if err := w.WriteFrame(FrameBody, channel, body[:n]); err != nil {
			return err
		}
		body = body[n:]
	}
	return nil
}

// WriteHeartbeat writes a heartbeat frame.
func (w *Writer) WriteHeartbeat() error { return w.WriteFrame(FrameHeartbeat, 0, nil) }

// Flush sends what was written.
func (w *Writer) Flush() error { return w.bw.Flush() }
