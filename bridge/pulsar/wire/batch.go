package wire

import (
	"github.com/pierrec/lz4/v4"
	"google.golang.org/protobuf/encoding/protowire"
)

// Message is one message of a batch entry, as a native Pulsar producer
// describes it: what pulsar-client-go writes for a ProducerMessage with
// Key, Properties, EventTime and Payload.
type Message struct {
	Key        string // "" writes no partition key
	Properties map[string]string
	EventTime  uint64 // Unix milliseconds; 0 writes none
	Payload    []byte
}

// AppendBatch appends the uncompressed payload of a batch entry: each
// message's SingleMessageMetadata, length first, then its payload.
// sequenceID numbers the messages from there on, as a Pulsar producer
// does.
func AppendBatch(dst []byte, msgs []Message, sequenceID uint64) []byte {
	var meta []byte
	for i := range msgs {
		m := &msgs[i]
		meta = meta[:0]
		for k, v := range m.Properties {
			meta = appendKeyValue(meta, 1, k, v)
		}
		if m.Key != "" {
			meta = appendString(meta, 2, m.Key)
		}
		meta = appendVarint(meta, 3, uint64(len(m.Payload)))
		if m.EventTime != 0 {
			meta = appendVarint(meta, 5, m.EventTime)
		}
		meta = appendVarint(meta, 8, sequenceID+uint64(i))
		dst = be32(dst, len(meta))
		dst = append(dst, meta...)
		dst = append(dst, m.Payload...)
	}
	return dst
}

// Metadata is an entry's MessageMetadata. The batch's own key, properties
// and event time are its first message's, as pulsar-client-go sends them
// (the broker routes Key_Shared entries by that key).
type Metadata struct {
	ProducerName     string
	SequenceID       uint64 // the first message's
	PublishTime      uint64 // Unix milliseconds
	NumMessages      int
	First            *Message
	LZ4              bool
	UncompressedSize int
	// Tag is written as the entry-level property TagProperty, after the
	// first message's: a batched entry's readers take each message's
	// properties from its own metadata, so no client shows it.
	Tag string
	// Txn, when set, marks the entry part of a transaction (txnid fields
	// 22 and 23), as the Java client writes it beside the SEND's.
	Txn *Txn
}

// TagProperty names an entry's tag among its entry-level properties.
const TagProperty = "__pgw-batch-tag"

// AppendMetadata appends an entry's MessageMetadata.
func AppendMetadata(dst []byte, m Metadata) []byte {
	dst = appendString(dst, 1, m.ProducerName)
	dst = appendVarint(dst, 2, m.SequenceID)
	dst = appendVarint(dst, 3, m.PublishTime)
	if f := m.First; f != nil {
		for k, v := range f.Properties {
			dst = appendKeyValue(dst, 4, k, v)
		}
		if f.Key != "" {
			dst = appendString(dst, 6, f.Key)
		}
	}
	if m.Tag != "" {
		dst = appendKeyValue(dst, 4, TagProperty, m.Tag)
	}
	if m.LZ4 {
		dst = appendVarint(dst, 8, 1)
	}
	dst = appendVarint(dst, 9, uint64(m.UncompressedSize))
	dst = appendVarint(dst, 11, uint64(m.NumMessages))
	if f := m.First; f != nil && f.EventTime != 0 {
		dst = appendVarint(dst, 12, f.EventTime)
	}
	if m.Txn != nil {
		dst = appendVarint(dst, 22, m.Txn.Lo)
		dst = appendVarint(dst, 23, m.Txn.Hi)
	}
	return dst
}

// CompressLZ4 appends src compressed as Pulsar's LZ4 codec expects it: one
// raw LZ4 block, its size known from the metadata's uncompressed size.
func CompressLZ4(dst, src []byte, c *lz4.Compressor) ([]byte, error) {
	start := len(dst)
	need := lz4.CompressBlockBound(len(src))
	if cap(dst)-start < need {
		grown := make([]byte, start, start+need)
		copy(grown, dst)
		dst = grown
	}
	n, err := c.CompressBlock(src, dst[start:start+need])
	if err != nil {
		return nil, err
	}
	return dst[:start+n], nil
}

func appendKeyValue(b []byte, n protowire.Number, k, v string) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sizeString(1, k)+sizeString(2, v)))
	b = appendString(b, 1, k)
	return appendString(b, 2, v)
}

func sizeString(n protowire.Number, s string) int {
	return protowire.SizeTag(n) + protowire.SizeBytes(len(s))
}

func be32(b []byte, v int) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
