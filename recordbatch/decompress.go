package recordbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// maxBatchBytes bounds one produced batch once decompressed: a few bytes
// of zstd must not make us allocate gigabytes.
var maxBatchBytes = 256 << 20 // a var for tests

var errTooBig = errors.New("decompressed batch too big")

// Kafka's codec numbers in a batch's attributes.
const (
	codecNone   = 0
	codecGzip   = 1
	codecSnappy = 2
	codecLz4    = 3
	codecZstd   = 4
)

var zstdDecoders = sync.Pool{New: func() any {
	d, _ := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(uint64(maxBatchBytes)), zstd.WithDecoderConcurrency(1))
	return d
}}

var lz4Readers = sync.Pool{New: func() any { return lz4.NewReader(nil) }}

// decompress inflates a batch's records, bounded by maxBatchBytes. With
// scratch, LZ4 inflates into its memory (kept there for the next call);
// without, into memory of its own.
func decompress(scratch *[]byte, src []byte, codec int16) ([]byte, error) {
	switch codec {
	case codecNone:
		return src, nil
	case codecGzip:
		r, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			return nil, err
		}
		return readBounded(r)
	case codecLz4:
		r := lz4Readers.Get().(*lz4.Reader)
		defer lz4Readers.Put(r)
		r.Reset(bytes.NewReader(src))
		// LZ4 frames from Kafka clients do not say their size, and a
		// batch of repeated values inflates 100-fold: grown by append, a
		// 1 MiB batch took a dozen copies. Inflate into pooled memory and
		// copy once to the exact size when the caller keeps the result.
		keep := scratch == nil
		if keep {
			scratch = scratchPool.Get().(*[]byte)
			defer scratchPool.Put(scratch)
		}
		out, err := readInto((*scratch)[:0], r, len(src))
		if err != nil {
			return nil, err
		}
		*scratch = out
		if keep {
			out = bytes.Clone(out)
		}
		return out, nil
	case codecZstd:
		d := zstdDecoders.Get().(*zstd.Decoder)
		defer zstdDecoders.Put(d)
		out, err := d.DecodeAll(src, nil)
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) {
			return nil, errTooBig
		}
		return out, err
	case codecSnappy:
		if len(src) > 16 && bytes.HasPrefix(src, xerialMagic) {
			return xerial(src[16:])
		}
		return snappyBlock(nil, src, maxBatchBytes)
	}
	return nil, fmt.Errorf("unknown compression codec %d", codec)
}

// readInto reads r to its end after dst, bounded by maxBatchBytes. It
// starts at a few times the compressed size, where io.ReadAll would start
// small and copy its way up.
func readInto(dst []byte, r io.Reader, compressed int) ([]byte, error) {
	if cap(dst) == 0 {
		dst = make([]byte, 0, min(max(4*compressed, 4096), maxBatchBytes+1))
	}
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, cap(dst)) // double: append grows big slices by a quarter
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst) > maxBatchBytes {
			return nil, errTooBig
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func readBounded(r io.Reader) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, int64(maxBatchBytes)+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxBatchBytes {
		return nil, errTooBig
	}
	return out, nil
}

// snappyBlock decodes one raw snappy block after checking the length it
// claims, which the decoder would otherwise allocate.
func snappyBlock(dst, src []byte, room int) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if n > room {
		return nil, errTooBig
	}
	block, err := s2.Decode(nil, src)
	if err != nil {
		return nil, err
	}
	return append(dst, block...), nil
}

// xerialMagic opens the framing Java's snappy-java stream writes: magic,
// two version words, then blocks each prefixed by a big-endian length.
var xerialMagic = []byte{130, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

func xerial(src []byte) ([]byte, error) {
	var out []byte
	for len(src) > 0 {
		if len(src) < 4 {
			return nil, errors.New("malformed xerial snappy framing")
		}
		n := int(binary.BigEndian.Uint32(src))
		src = src[4:]
		if n < 0 || n > len(src) {
			return nil, errors.New("malformed xerial snappy framing")
		}
		var err error
		if out, err = snappyBlock(out, src[:n], maxBatchBytes-len(out)); err != nil {
			return nil, err
		}
		src = src[n:]
	}
	return out, nil
}
