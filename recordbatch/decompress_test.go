package recordbatch

import (
	"bytes"
	"errors"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/pierrec/lz4/v4"
)

func TestDecompressIsBounded(t *testing.T) {
	defer func(old int) { maxBatchBytes = old }(maxBatchBytes)
	maxBatchBytes = 1 << 20
	zeros := make([]byte, 2<<20)

	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(zeros)
	w.Close()
	if _, err := decompress(nil, gz.Bytes(), codecGzip); !errors.Is(err, errTooBig) {
		t.Fatalf("gzip bomb: %v", err)
	}
	var lz bytes.Buffer
	lw := lz4.NewWriter(&lz)
	lw.Write(zeros)
	lw.Close()
	for _, scratch := range []*[]byte{nil, new([]byte)} {
		if _, err := decompress(scratch, lz.Bytes(), codecLz4); !errors.Is(err, errTooBig) {
			t.Fatalf("lz4 bomb: %v", err)
		}
	}
	if _, err := decompress(nil, s2.EncodeSnappy(nil, zeros), codecSnappy); !errors.Is(err, errTooBig) {
		t.Fatalf("snappy bomb: %v", err)
	}
	if out, err := decompress(nil, s2.EncodeSnappy(nil, zeros[:1000]), codecSnappy); err != nil || len(out) != 1000 {
		t.Fatalf("snappy: %d bytes, %v", len(out), err)
	}
}
