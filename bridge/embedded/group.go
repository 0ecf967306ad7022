package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
)

// Messages are stored in groups, the way Pulsar stores a batch as one entry:
// the consecutive messages of one partition that one commit wrote become one
// value, keyed by the index of the last of them (keys.go). A flush or
// compaction then moves one key per group instead of one per message, and a
// reader takes one iterator step per group.
//
//	groupVersion  count(uvarint)  { length(uvarint) message }*count
//
// Each message is in appendMessage's encoding. A value whose first byte is
// recordVersion is a single message, as stored before groups: a group of one.
const groupVersion = 2

// A group is split past either bound, so a reader never decodes a huge value
// to reach one message.
const (
	maxGroupMessages = 4096
	maxGroupBytes    = 1 << 20
)

// groupSize is the encoded size of a group of these messages.
func groupSize(msgs [][]byte) int {
	n := 1 + uvarintLen(uint64(len(msgs)))
	for _, m := range msgs {
		n += uvarintLen(uint64(len(m))) + len(m)
	}
	return n
}

// appendGroup encodes msgs, already in appendMessage's encoding, as a group.
func appendGroup(dst []byte, msgs [][]byte) []byte {
	dst = append(dst, groupVersion)
	dst = binary.AppendUvarint(dst, uint64(len(msgs)))
	for _, m := range msgs {
		dst = binary.AppendUvarint(dst, uint64(len(m)))
		dst = append(dst, m...)
	}
	return dst
}

// splitGroup appends a group's encoded messages, in index order, to out.
// They alias b. A group holds at least one message.
func splitGroup(b []byte, out [][]byte) ([][]byte, error) {
	if len(b) > 0 && b[0] == recordVersion {
		return append(out, b), nil
	}
	d := decoder{b: b}
	if v := d.byte(); v != groupVersion {
		return out, fmt.Errorf("%w: message group version %d", errCorrupt, v)
	}
	n := d.uvarint()
	// Every message takes at least two bytes: a count above that is a lie.
	if n == 0 || n > uint64(len(d.b)) {
		return out, fmt.Errorf("%w: %d messages in a group of %d bytes", errCorrupt, n, len(b))
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		out = append(out, d.slice(d.uvarint()))
	}
	if d.err != nil {
		return out, d.err
	}
	if len(d.b) > 0 {
		return out, fmt.Errorf("%w: %d bytes after a message group", errCorrupt, len(d.b))
	}
	return out, nil
}

// groupFirst is the index of a group's first message, from its key's (the
// last) index and its size; a group reaching below 0 is corrupt.
func groupFirst(last int64, count int) (int64, error) {
	first := last - int64(count) + 1
	if last < 0 || first < 0 {
		return 0, fmt.Errorf("%w: group of %d ending at %d", errCorrupt, count, last)
	}
	return first, nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// A raw group is a Kafka record batch kept as its producer sent it
// (bridge.RawProducer), so a Kafka Fetch returns its bytes:
//
//	rawGroupVersion  publishTime(varint ns)  count(uvarint)  batch
//
// Its records are its messages, all published at the group's time. The
// batch is checked before it is stored (recordbatch.Batch's Sequential).
const rawGroupVersion = 3

// rawGroupBound is at least the size of a raw group's encoding.
func rawGroupBound(batch []byte) int { return 1 + 2*binary.MaxVarintLen64 + len(batch) }

func appendRawGroup(dst []byte, publish time.Time, count int, batch []byte) []byte {
	dst = append(dst, rawGroupVersion)
	dst = binary.AppendVarint(dst, unixNano(publish))
	dst = binary.AppendUvarint(dst, uint64(count))
	return append(dst, batch...)
}

// group is one stored value, parsed: a message group or a raw group.
type group struct {
	entries [][]byte // a message group's message encodings, aliasing the value
	raw     []byte   // a raw group's batch, aliasing the value
	count   int
	publish time.Time // a raw group's publish time
}

// parseGroup parses a stored value; entries is scratch space for a message
// group's encodings.
func parseGroup(b []byte, entries [][]byte) (group, error) {
	if len(b) == 0 || b[0] != rawGroupVersion {
		e, err := splitGroup(b, entries[:0])
		return group{entries: e, count: len(e)}, err
	}
	d := decoder{b: b[1:]}
	g := group{publish: fromUnixNano(d.varint())}
	n := d.uvarint()
	if d.err != nil || n == 0 || n > uint64(len(d.b)) {
		return group{}, fmt.Errorf("%w: raw group of %d records in %d bytes", errCorrupt, n, len(b))
	}
	g.count, g.raw = int(n), d.b
	return g, nil
}

// rawMessages decodes a raw group's records. They do not alias the value.
func (g *group) rawMessages() ([]storedMessage, error) {
	batch, err := recordbatch.Parse(g.raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	// Records of a compressed batch are inflated into memory of their own;
	// only an uncompressed one needs a copy, as its records alias it.
	if batch.Attributes&recordbatch.AttrCompression == 0 {
		batch.Raw = bytes.Clone(batch.Raw)
	}
	msgs, err := batch.Messages()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if len(msgs) != g.count {
		return nil, fmt.Errorf("%w: raw group of %d holds %d records", errCorrupt, g.count, len(msgs))
	}
	out := make([]storedMessage, len(msgs))
	for i, m := range msgs {
		out[i] = storedMessage{Key: m.Key, Value: m.Value, Properties: m.Properties, EventTime: m.EventTime, PublishTime: g.publish}
	}
	return out, nil
}
