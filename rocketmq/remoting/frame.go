package remoting

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

const (
	// DefaultMaxFrameSize is the default limit of a whole frame, its 4-byte length included:
	// NettyDecoder's com.rocketmq.remoting.frameMaxLength, which clients also apply.
	DefaultMaxFrameSize = 16 << 20
	// maxHeaderSize is what the header-length word's 24 bits can say.
	maxHeaderSize = 1<<24 - 1
	// prefixSize is the frame length and the header-length word.
	prefixSize = 8
)

// DecodeFrame decodes a frame without its 4-byte length, as RemotingCommand.decode does:
// the header-length word, the header, the body. Body aliases b.
func DecodeFrame(b []byte) (*Command, error) {
	if len(b) < 4 {
		return nil, malformed("frame of %d bytes has no header-length word", len(b))
	}
	c := &Command{}
	hl, err := headerLength(binary.BigEndian.Uint32(b), uint64(len(b)), c)
	if err != nil {
		return nil, err
	}
	if err := decodeHeader(b[4:4+hl], c, nil); err != nil {
		return nil, err
	}
	if body := b[4+hl:]; len(body) > 0 {
		c.Body = body
	}
	return c, nil
}

// headerLength splits the header-length word, setting c.Serialize, and checks the length
// against the frame's (the bytes after the frame length).
func headerLength(word uint32, frameLen uint64, c *Command) (int, error) {
	c.Serialize = SerializeType(word >> 24)
	if c.Serialize != JSON && c.Serialize != RocketMQ {
		return 0, malformed("unknown header serialization %d", c.Serialize)
	}
	hl := word & maxHeaderSize
	if uint64(hl) > frameLen-4 {
		return 0, malformed("header of %d bytes in a frame of %d", hl, frameLen)
	}
	return int(hl), nil
}

// decodeHeader decodes h into c; scratch, if not nil, is a buffer kept across calls.
func decodeHeader(h []byte, c *Command, scratch *[]byte) error {
	if c.Serialize == RocketMQ {
		return decodeBinaryHeader(h, c)
	}
	if scratch == nil {
		return decodeJSONHeader(h, c)
	}
	return decodeJSONHeaderScratch(h, c, scratch)
}

// AppendFrame appends c as a whole frame, its length first, its header serialized as
// c.Serialize says.
func AppendFrame(b []byte, c *Command) ([]byte, error) {
	start := len(b)
	b, err := appendPrefixAndHeader(b, c)
	if err != nil {
		return b[:start], err
	}
	b = append(b, c.Body...)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b, nil
}

// appendPrefixAndHeader appends the frame length (of the prefix, header and body), the
// header-length word and the header.
func appendPrefixAndHeader(b []byte, c *Command) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	var err error
	switch c.Serialize {
	case JSON:
		b = appendJSONHeader(b, c)
	case RocketMQ:
		b, err = appendBinaryHeader(b, c)
	default:
		err = fmt.Errorf("rocketmq remoting: cannot write serialization %d", c.Serialize)
	}
	if err != nil {
		return b[:start], err
	}
	hl := len(b) - start - prefixSize
	if hl > maxHeaderSize {
		return b[:start], fmt.Errorf("%w: header of %d bytes", ErrFrameTooLarge, hl)
	}
	total := uint64(len(b)-start) + uint64(len(c.Body))
	if total > 1<<31-1 {
		return b[:start], fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, total)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(total-4))
	binary.BigEndian.PutUint32(b[start+4:], uint32(c.Serialize)<<24|uint32(hl))
	return b, nil
}

// Reader reads commands from a stream. It is not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	max     int
	prefix  [prefixSize]byte
	header  []byte // scratch: headers are decoded into strings, never aliased
	scratch []byte // for unescaping JSON strings
}

// NewReader returns a Reader whose frame limit is DefaultMaxFrameSize.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 16<<10), max: DefaultMaxFrameSize}
}

// SetMaxFrameSize sets the largest frame accepted, its 4-byte length included.
func (r *Reader) SetMaxFrameSize(n int) { r.max = n }

// ReadCommand reads the next command. Its Body is its own, for the caller to keep. A frame
// over the limit is refused (ErrFrameTooLarge) before any of it is read or allocated; a bad
// one is ErrMalformed. Errors of the stream are returned as is: io.EOF between frames,
// io.ErrUnexpectedEOF inside one. After any error the stream is not at a frame boundary.
func (r *Reader) ReadCommand() (*Command, error) {
	if _, err := io.ReadFull(r.br, r.prefix[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(r.prefix[:])
	if uint64(n)+4 > uint64(r.max) {
		return nil, fmt.Errorf("%w: frame of %d bytes, limit %d", ErrFrameTooLarge, uint64(n)+4, r.max)
	}
	if n < 4 {
		return nil, malformed("frame of %d bytes has no header-length word", n)
	}
	c := &Command{}
	hl, err := headerLength(binary.BigEndian.Uint32(r.prefix[4:]), uint64(n), c)
	if err != nil {
		return nil, err
	}
	if cap(r.header) < hl {
		r.header = make([]byte, hl)
	}
	h := r.header[:hl]
	if _, err := io.ReadFull(r.br, h); err != nil {
		return nil, unexpected(err)
	}
	if err := decodeHeader(h, c, &r.scratch); err != nil {
		return nil, err
	}
	if cap(r.header) > 64<<10 {
		r.header = nil // a rare huge header is not kept for the life of the connection
	}
	if bl := int(n) - 4 - hl; bl > 0 {
		c.Body = make([]byte, bl)
		if _, err := io.ReadFull(r.br, c.Body); err != nil {
			return nil, unexpected(err)
		}
	}
	return c, nil
}

// unexpected turns io.EOF inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Writer writes commands into a buffer; nothing reaches the stream before Flush. It is not
// safe for concurrent use.
type Writer struct {
	bw  *bufio.Writer
	max int
	buf []byte // scratch for the prefix and header
}

// NewWriter returns a Writer whose frame limit is DefaultMaxFrameSize.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 16<<10), max: DefaultMaxFrameSize, buf: make([]byte, 0, 512)}
}

// SetMaxFrameSize sets the largest frame written, its 4-byte length included: a client
// drops the connection on a frame over its own limit, so a bigger one is an error here.
func (w *Writer) SetMaxFrameSize(n int) { w.max = n }

// WriteCommand writes c, its header serialized as c.Serialize says.
func (w *Writer) WriteCommand(c *Command) error {
	b, err := appendPrefixAndHeader(w.buf[:0], c)
	if err != nil {
		return err
	}
	if size := uint64(binary.BigEndian.Uint32(b)) + 4; size > uint64(w.max) {
		return fmt.Errorf("%w: frame of %d bytes, limit %d", ErrFrameTooLarge, size, w.max)
	}
	w.buf = b
	w.bw.Write(b)
	_, err = w.bw.Write(c.Body) // bufio keeps the first write error
	return err
}

// Flush sends what was written.
func (w *Writer) Flush() error { return w.bw.Flush() }
