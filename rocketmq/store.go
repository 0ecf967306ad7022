package rocketmq

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"hash/fnv"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// storedMagicV1 is MessageDecoder's MESSAGE_MAGIC_CODE (V1: a 1-byte topic length), the only
// version the Go client reads.
const storedMagicV1 uint32 = 0xDAA320A7 // -626843481

// Stored-record sysFlag bits (MessageSysFlag).
const (
	sysFlagCompressed          = 0x1
	sysFlagTransactionPrepared = 0x4
	sysFlagBornHostV6          = 0x10
	sysFlagStoreHostV6         = 0x20
	sysFlagCompression         = 0x700 // compression type bits
	sysFlagLZ4                 = 0x100
	sysFlagZstd                = 0x200
	sysFlagZlib                = 0x300
)

// storedRecord is one message as the broker's commit log holds it and PULL_MESSAGE returns it.
type storedRecord struct {
	queueID        int32
	flag           int32
	queueOffset    int64
	physicalOffset int64
	bornTimestamp  int64
	bornHost       []byte // 4 or 16 bytes of IP, then 4 of port
	storeTimestamp int64
	storeHost      []byte
	reconsumeTimes int32
	body           []byte
	topic          string // at most 127 bytes (V1)
	properties     []byte
}

// appendStored appends r in the V1 layout (MessageDecoder.decode): uncompressed body, its CRC.
func appendStored(b []byte, r *storedRecord) []byte {
	sysFlag := int32(0)
	if len(r.bornHost) == 20 {
		sysFlag |= sysFlagBornHostV6
	}
	if len(r.storeHost) == 20 {
		sysFlag |= sysFlagStoreHostV6
	}
	total := 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + len(r.bornHost) + 8 + len(r.storeHost) + 4 + 8 +
		4 + len(r.body) + 1 + len(r.topic) + 2 + len(r.properties)
	b = binary.BigEndian.AppendUint32(b, uint32(total))
	b = binary.BigEndian.AppendUint32(b, storedMagicV1)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(r.body)&0x7FFFFFFF)
	b = binary.BigEndian.AppendUint32(b, uint32(r.queueID))
	b = binary.BigEndian.AppendUint32(b, uint32(r.flag))
	b = binary.BigEndian.AppendUint64(b, uint64(r.queueOffset))
	b = binary.BigEndian.AppendUint64(b, uint64(r.physicalOffset))
	b = binary.BigEndian.AppendUint32(b, uint32(sysFlag))
	b = binary.BigEndian.AppendUint64(b, uint64(r.bornTimestamp))
	b = append(b, r.bornHost...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.storeTimestamp))
	b = append(b, r.storeHost...)
	b = binary.BigEndian.AppendUint32(b, uint32(r.reconsumeTimes))
	b = binary.BigEndian.AppendUint64(b, 0) // preparedTransactionOffset
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.body)))
	b = append(b, r.body...)
	b = append(b, byte(len(r.topic)))
	b = append(b, r.topic...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.properties)))
	return append(b, r.properties...)
}

// hostBytes is an address as the stored record holds it: IP (4 bytes for IPv4, else 16) and
// port as an int32. An address that does not parse is 0.0.0.0:0.
func hostBytes(addr string) []byte {
	host, port, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	if err != nil || ip == nil {
		if ips, lerr := net.LookupIP(host); err == nil && lerr == nil && len(ips) > 0 {
			ip = ips[0]
		}
	}
	p, _ := strconv.Atoi(port)
	var b []byte
	if ip4 := ip.To4(); ip4 != nil || ip == nil {
		if ip4 == nil {
			ip4 = net.IPv4zero.To4()
		}
		b = append(b, ip4...)
	} else {
		b = append(b, ip.To16()...)
	}
	return binary.BigEndian.AppendUint32(b, uint32(p))
}

// offsetMsgID is MessageDecoder.createMessageId: the store host and the physical offset, in
// upper-case hex.
func offsetMsgID(storeHost []byte, physical int64) string {
	b := binary.BigEndian.AppendUint64(append([]byte(nil), storeHost...), uint64(physical))
	return strings.ToUpper(hex.EncodeToString(b))
}

// parseOffsetMsgID is the physical offset of an offset msgId (the last 8 bytes).
func parseOffsetMsgID(id string) (int64, bool) {
	b, err := hex.DecodeString(id)
	if err != nil || (len(b) != 16 && len(b) != 28) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[len(b)-8:])), true
}

// The physical (commit-log) offset the gateway hands out names a message without a commit
// log: a hash of its topic, its queue and its index, so send-back (which carries the topic)
// and VIEW_MESSAGE_BY_ID (through the topics this gateway has seen) find it again.
// Bits: 0 | 16 topic hash | 8 queue | 39 index. Queues from 256 and indexes from 2^39 do
// not fit: such messages are served, but cannot be sent back by offset.
const (
	physQueueBits = 8
	physIndexBits = 39
)

func topicHash(topic string) uint16 {
	h := fnv.New32a()
	h.Write([]byte(topic))
	s := h.Sum32()
	return uint16(s ^ s>>16)
}

func physicalOffset(topic string, queue int, index int64) int64 {
	return int64(topicHash(topic))<<(physQueueBits+physIndexBits) |
		int64(queue&(1<<physQueueBits-1))<<physIndexBits | index&(1<<physIndexBits-1)
}

func splitPhysical(p int64) (hash uint16, queue int, index int64) {
	return uint16(p >> (physQueueBits + physIndexBits)), int(p>>physIndexBits) & (1<<physQueueBits - 1), p & (1<<physIndexBits - 1)
}

// validTopic is TopicValidator's check: [%|a-zA-Z0-9_-], at most 127 characters.
func validTopic(t string) string {
	if t == "" {
		return "The specified topic is blank."
	}
	if len(t) > 127 {
		return "The specified topic is longer than topic max length."
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c == '%' || c == '|' || c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "The specified topic[" + t + "] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
		}
	}
	return ""
}

// maxMessageSize is the broker's maxMessageSize (4 MiB), for one body after decompression.
const maxMessageSize = 4 << 20

var errBodyTooLarge = errors.New("the message body size over max value, MAX: 4194304")

// uncompress undoes a client's body compression: sysFlag bit 0, the type in bits 8-10 as
// CompressionType (1 LZ4 frame, 2 Zstandard frame, 3 zlib; 0, from clients before 5.x,
// zlib). Other protocols read what the user sent, so bodies are stored uncompressed.
func uncompress(body []byte, sysFlag int32) ([]byte, error) {
	if sysFlag&sysFlagCompressed == 0 {
		return body, nil
	}
	var r io.Reader
	switch t := sysFlag & sysFlagCompression; t {
	case 0, sysFlagZlib:
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	case sysFlagLZ4:
		r = lz4.NewReader(bytes.NewReader(body))
	case sysFlagZstd:
		zr, err := zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(2*maxMessageSize))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	default:
		return nil, errors.New("unknown compression type " + strconv.Itoa(int(t>>8)))
	}
	out, err := io.ReadAll(io.LimitReader(r, maxMessageSize+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxMessageSize {
		return nil, errBodyTooLarge
	}
	return out, nil
}

// batchMessage is one message of a SEND_BATCH_MESSAGE body.
type batchMessage struct {
	flag       int32
	body       []byte
	properties string
}

var errBadBatch = errors.New("the batch body is malformed")

// decodeBatch splits a batch body (MessageDecoder.encodeMessages): per message totalSize,
// magic, bodyCRC, flag, bodyLen, body, int16 propertiesLen, properties.
func decodeBatch(b []byte) ([]batchMessage, error) {
	var out []batchMessage
	for len(b) > 0 {
		if len(b) < 20 {
			return nil, errBadBatch
		}
		total := int(binary.BigEndian.Uint32(b))
		if total < 22 || total > len(b) {
			return nil, errBadBatch
		}
		m := b[:total]
		b = b[total:]
		flag := int32(binary.BigEndian.Uint32(m[12:]))
		bodyLen := int(binary.BigEndian.Uint32(m[16:]))
		if bodyLen < 0 || 20+bodyLen+2 > len(m) {
			return nil, errBadBatch
		}
		body := m[20 : 20+bodyLen]
		rest := m[20+bodyLen:]
		pl := int(binary.BigEndian.Uint16(rest))
		if 2+pl != len(rest) {
			return nil, errBadBatch
		}
		out = append(out, batchMessage{flag: flag, body: body, properties: string(rest[2:])})
	}
	if len(out) == 0 {
		return nil, errBadBatch
	}
	return out, nil
}
