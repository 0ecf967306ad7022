package txnindex

import (
	"encoding/binary"
	"testing"
)

// FuzzParse reads arbitrary stored batches and tags: never a panic, and a
// batch without the transactional bit is no transaction's.
func FuzzParse(f *testing.F) {
	hdr := make([]byte, 61)
	hdr[16] = 2
	binary.BigEndian.PutUint16(hdr[21:], 0x30)
	f.Add(hdr, "kafkactl:1:2:commit")
	f.Add([]byte{}, "kafkatx:1:2:3:4")
	f.Fuzz(func(t *testing.T, raw []byte, tag string) {
		if u, ok := ParseRaw(raw); ok && len(raw) >= 23 && binary.BigEndian.Uint16(raw[21:])&0x10 == 0 {
			t.Fatalf("a batch without the transactional bit read as %+v", u)
		}
		if u, ok := ParseTag(tag); ok && u.Commit && !u.Control {
			t.Fatalf("a data tag read as a commit: %+v", u)
		}
	})
}
