package kafka

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// header is a parsed request header (v1, or v2 for flexible versions).
type header struct {
	key, version int16
	correlation  int32
	clientID     string
}

// readFrame reads one size-prefixed request. The size is checked against
// max before anything is allocated: a peer must not make us reserve memory
// by claiming a big frame. reserve blocks until the connection may hold
// that many more bytes; on error the caller releases len(frame).
func readFrame(r io.Reader, max int32, sizeBuf []byte, reserve func(int)) ([]byte, error) {
	if _, err := io.ReadFull(r, sizeBuf[:4]); err != nil {
		return nil, err
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:4]))
	if size < 8 || size > max {
		return nil, fmt.Errorf("kafka: request size %d outside [8, %d]", size, max)
	}
	reserve(int(size))
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf, err
	}
	return buf, nil
}

// parseHeader reads the fixed part of a request header: key, version and
// correlation id. The client id and tags follow; see parseHeaderRest.
func parseHeader(frame []byte) header {
	return header{
		key:         int16(binary.BigEndian.Uint16(frame[0:])),
		version:     int16(binary.BigEndian.Uint16(frame[2:])),
		correlation: int32(binary.BigEndian.Uint32(frame[4:])),
	}
}

// parseHeaderRest reads the client id and, for a flexible request, the
// header's tagged fields, and returns the request body.
func parseHeaderRest(h *header, frame []byte, flexible bool) ([]byte, error) {
	b := kbin.Reader{Src: frame[8:]}
	if id := b.NullableString(); id != nil {
		h.clientID = *id
	}
	if flexible {
		skipTags(&b)
	}
	if err := b.Complete(); err != nil {
		return nil, fmt.Errorf("kafka: request header: %w", err)
	}
	return b.Src, nil
}

// skipTags skips a tagged-field section. kbin.Reader stops reading on the
// first short read, which Complete then reports.
func skipTags(b *kbin.Reader) {
	for n := b.Uvarint(); n > 0 && b.Ok(); n-- {
		b.Uvarint()
		b.Span(int(b.Uvarint()))
	}
}

// appendResponse frames a response: size, correlation id, the header's
// empty tag section for flexible responses (never for ApiVersions, whose
// response header stays v0 so any client can read it), then the body.
func appendResponse(dst []byte, correlation int32, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlation))
	if resp.IsFlexible() && resp.Key() != 18 {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}
