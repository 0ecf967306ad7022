package rocketmq

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzProperties: any properties string parses without panic, and pairs that fit the wire
// come back from appendProperty as they went in.
func FuzzProperties(f *testing.F) {
	f.Add("TAGS\x01TagA\x02KEYS\x01k1 k2\x02UNIQ_KEY\x01C0A8\x02", "color", "blue")
	f.Add("\x01\x02\x02a\x01", "", "")
	f.Add("k\x01v", "k\x01", "v\x02")
	f.Fuzz(func(t *testing.T, s, k, v string) {
		parseProperties(s, func(k, v string) {
			if k == "" {
				t.Fatal("empty key")
			}
		})
		if !fitsProperty(k, v) {
			return
		}
		b := appendProperty([]byte("x\x01y"), k, v)
		m := propertiesMap(string(b))
		if m[k] != v || (k != "x" && m["x"] != "y") {
			t.Fatalf("round trip of %q=%q gave %v", k, v, m)
		}
	})
}

// FuzzDecodeBatch: any batch body decodes or fails without panic, and what decodes
// re-encodes to the same bytes (magic and CRC aside, which clients leave 0).
func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatchForTest([]batchMessage{{flag: 0, body: []byte("a"), properties: "TAGS\x01A"}, {flag: 3, body: nil, properties: ""}}))
	f.Add([]byte{0, 0, 0, 22})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := decodeBatch(b)
		if err != nil {
			return
		}
		again := encodeBatchForTest(msgs)
		if len(again) != len(b) {
			t.Fatalf("re-encoded %d bytes of %d", len(again), len(b))
		}
		for off := 0; off < len(b); {
			n := int(binary.BigEndian.Uint32(b[off:]))
			if !bytes.Equal(b[off+12:off+n], again[off+12:off+n]) {
				t.Fatalf("message at %d differs", off)
			}
			off += n
		}
	})
}

func encodeBatchForTest(msgs []batchMessage) []byte {
	var b []byte
	for _, m := range msgs {
		total := 20 + len(m.body) + 2 + len(m.properties)
		b = binary.BigEndian.AppendUint32(b, uint32(total))
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, uint32(m.flag))
		b = binary.BigEndian.AppendUint32(b, uint32(len(m.body)))
		b = append(b, m.body...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.properties)))
		b = append(b, m.properties...)
	}
	return b
}

// FuzzHeartbeat: any heartbeat body parses or fails without panic; every subscription's
// expression gives a filter (a SQL92 one: a parsed expression or an error).
func FuzzHeartbeat(f *testing.F) {
	f.Add([]byte(`{"clientID":"1.2.3.4@1","consumerDataSet":[{"groupName":"g","messageModel":"CLUSTERING","subscriptionDataSet":[{"topic":"t","subString":"A || B","codeSet":[65,66],"expressionType":"TAG"}]}]}`))
	f.Add([]byte(`{"clientID":"x","consumerDataSet":[{"subscriptionDataSet":[{"codeSet":["1"]}]}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"clientID":"1.2.3.4@1","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"t","subString":"(TAGS = 'A' AND n > 3) OR c IN ('x')","expressionType":"SQL92"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		hb, err := parseHeartbeat(b)
		if err != nil {
			return
		}
		for _, cd := range hb.ConsumerDataSet {
			for _, sd := range cd.SubscriptionDataSet {
				sub := newSubscription(sd.ExpressionType, sd.SubString)
				if (sub.sql != nil) == (sub.err != nil) && sub.typ == exprSQL92 {
					t.Fatalf("SQL92 %q: expression %v, error %v", sd.SubString, sub.sql, sub.err)
				}
				f := parseFilter(sd.SubString)
				for tag := range f {
					if !f.match(tag) {
						t.Fatalf("filter %v does not match its own tag %q", f, tag)
					}
				}
			}
		}
	})
}

// FuzzUncompress: any body with the compressed flag decompresses or fails without panic,
// never beyond the message size limit.
func FuzzUncompress(f *testing.F) {
	f.Add([]byte{0x78, 0x9c, 0x4b, 0x04, 0x00, 0x00, 0x62, 0x00, 0x62}, int32(1))
	f.Add([]byte("plain"), int32(0))
	for _, flag := range []int32{sysFlagLZ4, sysFlagZstd} {
		f.Add(compressWith(f, flag, []byte("body body body")), sysFlagCompressed|flag)
	}
	f.Fuzz(func(t *testing.T, b []byte, flag int32) {
		out, err := uncompress(b, flag)
		if err == nil && len(out) > maxMessageSize {
			t.Fatal("over the limit")
		}
	})
}
