package rocketmq

import (
	"bytes"
	"compress/zlib"
	"errors"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// compressWith compresses b as a RocketMQ client of that type would (frames, as the Java
// client's Lz4Compressor and ZstdCompressor write them).
func compressWith(t testing.TB, flag int32, b []byte) []byte {
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch flag & sysFlagCompression {
	case 0, sysFlagZlib:
		w = zlib.NewWriter(&buf)
	case sysFlagLZ4:
		w = lz4.NewWriter(&buf)
	case sysFlagZstd:
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUncompress: each compression type a client may flag is undone; an unknown one and a
// body over the broker's limit after decompression are refused.
func TestUncompress(t *testing.T) {
	body := bytes.Repeat([]byte("rocketmq body "), 1000)
	for name, flag := range map[string]int32{"pre-5 zlib": sysFlagCompressed, "zlib": sysFlagCompressed | sysFlagZlib,
		"lz4": sysFlagCompressed | sysFlagLZ4, "zstd": sysFlagCompressed | sysFlagZstd} {
		got, err := uncompress(compressWith(t, flag, body), flag)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
		big := make([]byte, maxMessageSize+1)
		if _, err := uncompress(compressWith(t, flag, big), flag); !errors.Is(err, errBodyTooLarge) {
			t.Errorf("%s: %d bytes after decompression answered %v", name, len(big), err)
		}
	}
	if _, err := uncompress(compressWith(t, sysFlagZlib, body), sysFlagCompressed|0x400); err == nil {
		t.Error("compression type 4 accepted")
	}
	if got, err := uncompress(body, sysFlagZlib); err != nil || !bytes.Equal(got, body) {
		t.Errorf("type bits without the compressed flag: %v", err)
	}
}
