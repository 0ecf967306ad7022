package remoting

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// binaryFixedSize is the binary header without its remark and ext fields: code (2),
// language (1), version (2), opaque (4), flag (4), remark length (4), ext length (4).
const binaryFixedSize = 21

// appendBinaryHeader appends c's header as RocketMQSerializable writes it. Ext fields go out
// in sorted key order, so that equal commands encode to equal bytes.
func appendBinaryHeader(b []byte, c *Command) ([]byte, error) {
	// The binary layout has room for shorts only where Java's fields are ints.
	if c.Code < math.MinInt16 || c.Code > math.MaxInt16 {
		return b, fmt.Errorf("rocketmq remoting: code %d does not fit the binary header", c.Code)
	}
	if c.Version < math.MinInt16 || c.Version > math.MaxInt16 {
		return b, fmt.Errorf("rocketmq remoting: version %d does not fit the binary header", c.Version)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(c.Code))
	b = append(b, byte(c.Language))
	b = binary.BigEndian.AppendUint16(b, uint16(c.Version))
	b = binary.BigEndian.AppendUint32(b, uint32(c.Opaque))
	b = binary.BigEndian.AppendUint32(b, uint32(c.Flag))
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.Remark)))
	b = append(b, c.Remark...)
	lenAt := len(b)
	b = append(b, 0, 0, 0, 0)
	var arr [16]string
	for _, k := range sortedKeys(arr[:0], c.ExtFields) {
		if len(k) > math.MaxInt16 {
			// Java reads the key length as a signed short.
			return b, fmt.Errorf("rocketmq remoting: ext field key of %d bytes does not fit the binary header", len(k))
		}
		v := c.ExtFields[k]
		b = binary.BigEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	binary.BigEndian.PutUint32(b[lenAt:], uint32(len(b)-lenAt-4))
	return b, nil
}

// sortedKeys appends m's keys to dst, in order. Callers pass a small array's slice, so that
// a header of few fields sorts without allocating.
func sortedKeys(dst []string, m map[string]string) []string {
	for k := range m {
		dst = append(dst, k)
	}
	slices.Sort(dst)
	return dst
}

// internedKeys are the ext field names of the requests clients send most (client-go's and
// Java's SEND_MESSAGE_V2 letters are one byte and need none): decoding them allocates no
// string.
var internedKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"topic", "queueId", "consumerGroup", "queueOffset", "maxMsgNums", "sysFlag",
		"commitOffset", "suspendTimeoutMillis", "subscription", "subVersion", "expressionType", "producerGroup",
		"defaultTopic", "defaultTopicQueueNums", "bornTimestamp", "flag", "properties", "reconsumeTimes",
		"unitMode", "batch", "maxReconsumeTimes", "bname", "brokerName", "group", "offset", "delayLevel",
		"originMsgId", "originTopic", "clientID", "msgId", "transactionId", "lo", "zoneMode"} {
		m[k] = k
	}
	return m
}()

// key returns b as a string, interned if it is a common ext field name.
func key(b []byte) string {
	if k, ok := internedKeys[string(b)]; ok {
		return k
	}
	return string(b)
}

// decodeBinaryHeader decodes a binary header into c. Lengths are checked against what is
// left of h before anything is allocated; h must hold the header and nothing else.
func decodeBinaryHeader(h []byte, c *Command) error {
	if len(h) < binaryFixedSize {
		return malformed("binary header of %d bytes, shorter than its fixed %d", len(h), binaryFixedSize)
	}
	c.Code = int32(int16(binary.BigEndian.Uint16(h)))
	c.Language = Language(h[2])
	c.Version = int32(int16(binary.BigEndian.Uint16(h[3:])))
	c.Opaque = int32(binary.BigEndian.Uint32(h[5:]))
	c.Flag = int32(binary.BigEndian.Uint32(h[9:]))
	h = h[13:]
	remark, h, err := binaryString(h, 4, "remark")
	if err != nil {
		return err
	}
	c.Remark = remark
	ext, h, err := binaryBytes(h, 4, "ext fields")
	if err != nil {
		return err
	}
	if len(h) != 0 {
		return malformed("%d bytes after the binary header's ext fields", len(h))
	}
	c.ExtFields = nil
	if len(ext) > 0 {
		c.ExtFields = make(map[string]string, binaryFieldCount(ext))
	}
	for len(ext) > 0 {
		var kb []byte
		var v string
		if kb, ext, err = binaryBytes(ext, 2, "ext field key"); err != nil {
			return err
		}
		k := key(kb)
		if v, ext, err = binaryString(ext, 4, "ext field value"); err != nil {
			return err
		}
		c.ExtFields[k] = v
	}
	return nil
}

// binaryFieldCount counts the key-value pairs of binary ext fields, to size their map; it
// stops at the first bad length, which decoding then reports.
func binaryFieldCount(ext []byte) int {
	n := 0
	for len(ext) > 0 {
		var err error
		if _, ext, err = binaryBytes(ext, 2, ""); err != nil {
			break
		}
		if _, ext, err = binaryBytes(ext, 4, ""); err != nil {
			break
		}
		n++
	}
	return n
}

// binaryBytes splits a length-prefixed field (a signed 2- or 4-byte length, as Java reads
// it) off the front of b.
func binaryBytes(b []byte, lenSize int, what string) (field, rest []byte, err error) {
	if len(b) < lenSize {
		return nil, nil, malformed("binary header ends inside the length of its %s", what)
	}
	var n int64
	if lenSize == 2 {
		n = int64(int16(binary.BigEndian.Uint16(b)))
	} else {
		n = int64(int32(binary.BigEndian.Uint32(b)))
	}
	b = b[lenSize:]
	if n < 0 || n > int64(len(b)) {
		return nil, nil, malformed("%s of %d bytes in %d left of the binary header", what, n, len(b))
	}
	return b[:n], b[n:], nil
}

func binaryString(b []byte, lenSize int, what string) (string, []byte, error) {
	f, rest, err := binaryBytes(b, lenSize, what)
	return string(f), rest, err
}
