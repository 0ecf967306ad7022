package wire

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/pierrec/lz4/v4"
	"google.golang.org/protobuf/encoding/protowire"
)

// frameOf builds a broker frame: BaseCommand{type, field type: body}.
func frameOf(typ int, body []byte) []byte {
	return appendCommand(nil, typ, protowire.Number(typ), func(b []byte) []byte { return append(b, body...) })
}

func TestParseAnswers(t *testing.T) {
	receipt := appendVarint(nil, 1, 1)
	receipt = appendVarint(receipt, 2, 41)
	id := appendVarint(appendVarint(nil, 1, 7), 2, 9)
	receipt = appendBytes(receipt, 3, id)
	c, err := ParseFrame(frameOf(TypeSendReceipt, receipt)[4:])
	if err != nil || c.Type != TypeSendReceipt || c.ProducerID != 1 || c.SequenceID != 41 || c.LedgerID != 7 || c.EntryID != 9 {
		t.Fatalf("receipt: %+v %v", c, err)
	}

	ps := appendVarint(nil, 1, 2)
	ps = appendString(ps, 2, "standalone-0-3")
	minusOne := int64(-1)
	ps = appendVarint(ps, 3, uint64(minusOne))
	c, err = ParseFrame(frameOf(TypeProducerSuccess, ps)[4:])
	if err != nil || c.RequestID != 2 || c.ProducerName != "standalone-0-3" || c.LastSequenceID != -1 || !c.ProducerReady {
		t.Fatalf("producer success: %+v %v", c, err)
	}

	lr := appendString(nil, 1, "pulsar://b:6650")
	lr = appendVarint(lr, 3, LookupRedirect)
	lr = appendVarint(lr, 4, 5)
	lr = appendVarint(lr, 5, 1)
	c, err = ParseFrame(frameOf(TypeLookupResponse, lr)[4:])
	if err != nil || c.BrokerURL != "pulsar://b:6650" || c.LookupType != LookupRedirect || c.RequestID != 5 || !c.Authoritative {
		t.Fatalf("lookup: %+v %v", c, err)
	}

	// A long command body: its length needs a two-byte varint.
	long := appendString(nil, 7, string(make([]byte, 300)))
	long = appendVarint(long, 4, 9)
	c, err = ParseFrame(frameOf(TypeLookupResponse, long)[4:])
	if err != nil || c.RequestID != 9 || len(c.Message) != 300 {
		t.Fatalf("long lookup answer: %v %d %v", c.RequestID, len(c.Message), err)
	}
}

// TestParseTxnAnswers: the coordinator's answers and GET_LAST_MESSAGE_ID's,
// with their PulsarApi.proto field numbers.
func TestParseTxnAnswers(t *testing.T) {
	ok := appendVarint(nil, 1, 7) // request_id
	ok = appendVarint(ok, 2, 42)  // txnid_least_bits
	ok = appendVarint(ok, 3, 3)   // txnid_most_bits
	for _, typ := range []int{TypeNewTxnResponse, TypeAddPartitionResponse, TypeEndTxnResponse} {
		c, err := ParseFrame(frameOf(typ, ok)[4:])
		if err != nil || c.Type != typ || c.RequestID != 7 || c.TxnLo != 42 || c.TxnHi != 3 || c.HasError {
			t.Fatalf("type %d: %+v %v", typ, c, err)
		}
		bad := appendString(appendVarint(ok, 4, ErrTransactionNotFound), 5, "gone")
		c, err = ParseFrame(frameOf(typ, bad)[4:])
		if err != nil || !c.HasError || c.ServerError != ErrTransactionNotFound || c.Message != "gone" ||
			ServerErrorName(c.ServerError) != "TransactionNotFound" {
			t.Fatalf("type %d error: %+v %v", typ, c, err)
		}
	}
	tc := appendString(appendVarint(appendVarint(nil, 1, 9), 2, ErrNotAllowed), 3, "Transactions are not enabled.")
	c, err := ParseFrame(frameOf(TypeTcClientConnectResponse, tc)[4:])
	if err != nil || c.RequestID != 9 || !c.HasError || ServerErrorName(c.ServerError) != "NotAllowedError" {
		t.Fatalf("tc connect: %+v %v", c, err)
	}
	minusOne := int64(-1)
	last := appendBytes(nil, 1, appendVarint(appendVarint(nil, 1, 12), 2, uint64(minusOne)))
	last = appendVarint(last, 2, 4)
	last = appendBytes(last, 3, appendVarint(appendVarint(nil, 1, 99), 2, 99)) // mark-delete: not read
	c, err = ParseFrame(frameOf(TypeGetLastMessageIDResponse, last)[4:])
	if err != nil || c.RequestID != 4 || c.LedgerID != 12 || int64(c.EntryID) != -1 {
		t.Fatalf("last message id: %+v %v", c, err)
	}
}

// TestSendFrame checks a SEND frame's layout: sizes, magic and the CRC32-C
// over metadata size, metadata and payload, as the broker verifies them.
func TestSendFrame(t *testing.T) {
	msgs := []Message{{Key: "k", Properties: map[string]string{"a": "b"}, EventTime: 1700000000000, Payload: []byte("hello")},
		{Payload: nil}}
	raw := AppendBatch(nil, msgs, 10)
	meta := AppendMetadata(nil, Metadata{ProducerName: "p", SequenceID: 10, PublishTime: 1, NumMessages: 2, First: &msgs[0], UncompressedSize: len(raw)})
	f := AppendSend([]byte("x"), 1, 10, 2, meta, raw)[1:]
	total := binary.BigEndian.Uint32(f)
	if int(total) != len(f)-4 {
		t.Fatalf("total size %d, frame %d", total, len(f))
	}
	cmdSize := binary.BigEndian.Uint32(f[4:])
	rest := f[8+cmdSize:]
	if binary.BigEndian.Uint16(rest) != magicCrc32c {
		t.Fatalf("magic %x", rest[:2])
	}
	if sum := binary.BigEndian.Uint32(rest[2:]); sum != crc32.Checksum(rest[6:], crc32c) {
		t.Fatal("checksum does not cover metadata and payload")
	}
	if ms := binary.BigEndian.Uint32(rest[6:]); int(ms) != len(meta) || string(rest[10+ms:]) != string(raw) {
		t.Fatal("metadata or payload misplaced")
	}
	// The batch: per message a 4-byte size, its metadata, its payload.
	n := binary.BigEndian.Uint32(raw)
	if string(raw[4+n:4+n+5]) != "hello" {
		t.Fatalf("first payload not after its metadata: %q", raw[4+n:])
	}
}

func TestCompressLZ4RoundTrip(t *testing.T) {
	src := []byte("abcabcabcabcabcabcabcabc hello hello hello")
	out, err := CompressLZ4([]byte("pre"), src, new(lz4.Compressor))
	if err != nil {
		t.Fatal(err)
	}
	back := make([]byte, len(src))
	n, err := lz4.UncompressBlock(out[3:], back)
	if err != nil || string(back[:n]) != string(src) || string(out[:3]) != "pre" {
		t.Fatalf("round trip: %q %v", back[:n], err)
	}
}

// FuzzParseFrame: whatever a broker (or a man in the middle) sends, the
// parser returns a command or an error: no panic, no allocation from a
// length on the wire beyond the frame itself.
func FuzzParseFrame(f *testing.F) {
	f.Add(frameOf(TypePing, nil)[4:])
	f.Add(frameOf(TypeSendReceipt, appendBytes(appendVarint(nil, 1, 1), 3, appendVarint(nil, 1, 7)))[4:])
	f.Add(frameOf(TypeLookupResponse, appendString(nil, 1, "pulsar://x:1"))[4:])
	f.Add(frameOf(TypeNewTxnResponse, appendVarint(appendVarint(appendVarint(nil, 1, 1), 2, 5), 3, 1))[4:])
	f.Add(frameOf(TypeEndTxnResponse, appendString(appendVarint(appendVarint(nil, 1, 1), 4, 21), 5, "x"))[4:])
	f.Add(frameOf(TypeAddPartitionResponse, appendVarint(nil, 1, 2))[4:])
	f.Add(frameOf(TypeTcClientConnectResponse, appendVarint(appendVarint(nil, 1, 3), 2, 22))[4:])
	f.Add(frameOf(TypeGetLastMessageIDResponse, appendVarint(appendBytes(nil, 1, appendVarint(nil, 1, 7)), 2, 8))[4:])
	f.Add([]byte{0, 0, 0, 9, 8, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseFrame(b)
		if err == nil && c.Type == 0 {
			t.Fatal("a command without a type parsed")
		}
		_ = ServerErrorName(c.ServerError) // any code, in range or not
	})
}

// entryOf builds a MESSAGE payload: broker metadata with index, checksum,
// metadata, payload.
func entryOf(index uint64, meta, payload []byte) []byte {
	bm := appendVarint(nil, 2, index)
	out := binary.BigEndian.AppendUint16(nil, magicBrokerEntryMetadata)
	out = binary.BigEndian.AppendUint32(out, uint32(len(bm)))
	out = append(out, bm...)
	out = binary.BigEndian.AppendUint16(out, magicCrc32c)
	sumAt := len(out)
	out = append(out, 0, 0, 0, 0)
	out = binary.BigEndian.AppendUint32(out, uint32(len(meta)))
	out = append(out, meta...)
	out = append(out, payload...)
	binary.BigEndian.PutUint32(out[sumAt:], crc32.Checksum(out[sumAt+4:], crc32c))
	return out
}

// TestEntryRoundTrip: what AppendBatch and AppendMetadata write, ParseEntry
// and Messages read back, LZ4 or not.
func TestEntryRoundTrip(t *testing.T) {
	msgs := []Message{{Key: "k", Properties: map[string]string{"a": "b"}, EventTime: 1700000000000, Payload: []byte("hello")},
		{Payload: []byte{}}, {Key: "z", Payload: []byte("last")}}
	for _, compress := range []bool{false, true} {
		raw := AppendBatch(nil, msgs, 3)
		payload := raw
		if compress {
			var err error
			if payload, err = CompressLZ4(nil, raw, new(lz4.Compressor)); err != nil {
				t.Fatal(err)
			}
		}
		meta := AppendMetadata(nil, Metadata{ProducerName: "p", SequenceID: 3, PublishTime: 42, NumMessages: 3,
			First: &msgs[0], LZ4: compress, UncompressedSize: len(raw)})
		e, err := ParseEntry(entryOf(99, meta, payload))
		if err != nil || e.Index != 99 || e.NumMessages != 3 || !e.Batched || e.PublishTime != 42 {
			t.Fatalf("entry: %+v %v", e, err)
		}
		var got []Single
		if err := e.Messages(func(i int, s *Single) error { got = append(got, *s); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Key != "k" || got[0].Properties["a"] != "b" || got[0].EventTime != 1700000000000 ||
			string(got[0].Payload) != "hello" || len(got[1].Payload) != 0 || got[1].HasKey || string(got[2].Payload) != "last" {
			t.Fatalf("compressed %v: %+v", compress, got)
		}
	}
	// A flipped payload byte fails the checksum.
	raw := AppendBatch(nil, msgs, 0)
	b := entryOf(1, AppendMetadata(nil, Metadata{NumMessages: 3, UncompressedSize: len(raw)}), raw)
	b[len(b)-1] ^= 1
	if _, err := ParseEntry(b); err == nil {
		t.Fatal("a corrupt entry parsed")
	}
}

// FuzzParseEntry: any MESSAGE payload decodes or fails; no panic, and no
// allocation beyond what its codec could inflate it to.
func FuzzParseEntry(f *testing.F) {
	msgs := []Message{{Key: "k", Properties: map[string]string{"a": "b"}, Payload: []byte("v")}}
	raw := AppendBatch(nil, msgs, 0)
	f.Add(entryOf(5, AppendMetadata(nil, Metadata{NumMessages: 1, UncompressedSize: len(raw)}), raw))
	lz, _ := CompressLZ4(nil, raw, new(lz4.Compressor))
	f.Add(entryOf(5, AppendMetadata(nil, Metadata{NumMessages: 1, LZ4: true, UncompressedSize: len(raw)}), lz))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Fix the checksum up so the fuzzer gets past it.
		if len(b) > 6 && binary.BigEndian.Uint16(b) == magicBrokerEntryMetadata {
			if n := int(binary.BigEndian.Uint32(b[2:])); n >= 0 && n <= len(b)-6-10 && binary.BigEndian.Uint16(b[6+n:]) == magicCrc32c {
				binary.BigEndian.PutUint32(b[8+n:], crc32.Checksum(b[12+n:], crc32c))
			}
		}
		e, err := ParseEntry(b)
		if err != nil {
			return
		}
		_ = e.Messages(func(int, *Single) error { return nil })
	})
}
