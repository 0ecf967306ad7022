package pulsar

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/wire"
)

// TestEntryCompressionWhenItPays: an LZ4 producer's entry of values LZ4
// cannot shrink by an eighth (random letters) is stored uncompressed, and the next
// lz4Skips entries do not try; one of compressible values is compressed.
// Either way the entry reads back as the same messages.
func TestEntryCompressionWhenItPays(t *testing.T) {
	batch := func(random bool) []bridge.OutMessage {
		msgs := make([]bridge.OutMessage, 100)
		for i := range msgs {
			v := bytes.Repeat([]byte("compressible "), 80)
			if random { // as the benchmarks' values: LZ4 saves a few bytes
				v = make([]byte, 1024)
				for j := range v {
					v[j] = 'A' + byte(rand.IntN(26))
				}
			}
			msgs[i] = bridge.OutMessage{Key: []byte{byte(i)}, Value: v}
		}
		return msgs
	}
	// build encodes msgs and reads the entry back as a reader would; it
	// reports whether the entry was compressed.
	build := func(msgs []bridge.OutMessage, gate *lz4Gate) bool {
		t.Helper()
		meta, payload, err := buildEntry(msgs, 7, "p", "", bridge.CompressionLZ4, nil, gate)
		if err != nil {
			t.Fatal(err)
		}
		// A MESSAGE's payload: checksum magic, crc32c, metadata, payload.
		body := binary.BigEndian.AppendUint32(nil, uint32(len(meta)))
		body = append(append(body, meta...), payload...)
		frame := binary.BigEndian.AppendUint16(nil, 0x0e01)
		frame = binary.BigEndian.AppendUint32(frame, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
		e, err := wire.ParseEntry(append(frame, body...))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := e.Messages(func(i int, m *wire.Single) error {
			if !bytes.Equal(m.Payload, msgs[i].Value) || m.Key != string(msgs[i].Key) {
				t.Fatalf("message %d read back differs", i)
			}
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n != len(msgs) {
			t.Fatalf("read back %d of %d messages", n, len(msgs))
		}
		size := 0
		for _, m := range msgs {
			size += len(m.Value)
		}
		return len(payload) < size
	}
	var gate lz4Gate
	if !build(batch(false), &gate) {
		t.Fatal("compressible values were stored uncompressed")
	}
	if build(batch(true), &gate) {
		t.Fatal("random values were stored compressed")
	}
	// After that miss, compressible entries too go uncompressed for a while,
	// then compressed again.
	for i := range lz4Skips {
		if build(batch(false), &gate) {
			t.Fatalf("entry %d after an incompressible one was compressed", i)
		}
	}
	if !build(batch(false), &gate) {
		t.Fatalf("compression did not resume after %d entries", lz4Skips)
	}
}
