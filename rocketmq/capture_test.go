package rocketmq

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// captured reads a frame the real RocketMQ 5.1.4 sent or got (integration/rocketmq/testdata).
func captured(t testing.TB, name string) *remoting.Command {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "integration", "rocketmq", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	c, err := remoting.DecodeFrame(b[4:])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// decodeStored reads V1 stored records (MessageDecoder.decode), as the test's oracle.
func decodeStored(t *testing.T, b []byte) []storedRecord {
	t.Helper()
	var out []storedRecord
	for len(b) > 0 {
		total := int(binary.BigEndian.Uint32(b))
		m := b[:total]
		b = b[total:]
		if binary.BigEndian.Uint32(m[4:]) != storedMagicV1 {
			t.Fatalf("magic %x", m[4:8])
		}
		var r storedRecord
		r.queueID = int32(binary.BigEndian.Uint32(m[12:]))
		r.flag = int32(binary.BigEndian.Uint32(m[16:]))
		r.queueOffset = int64(binary.BigEndian.Uint64(m[20:]))
		r.physicalOffset = int64(binary.BigEndian.Uint64(m[28:]))
		sys := binary.BigEndian.Uint32(m[36:])
		if sys&(sysFlagBornHostV6|sysFlagStoreHostV6|sysFlagCompressed) != 0 {
			t.Fatalf("sysFlag %x: the capture has IPv4 hosts and plain bodies", sys)
		}
		r.bornTimestamp = int64(binary.BigEndian.Uint64(m[40:]))
		r.bornHost = m[48:56]
		r.storeTimestamp = int64(binary.BigEndian.Uint64(m[56:]))
		r.storeHost = m[64:72]
		r.reconsumeTimes = int32(binary.BigEndian.Uint32(m[72:]))
		p := 84
		bl := int(binary.BigEndian.Uint32(m[p:]))
		r.body = m[p+4 : p+4+bl]
		p += 4 + bl
		tl := int(m[p])
		r.topic = string(m[p+1 : p+1+tl])
		p += 1 + tl
		pl := int(binary.BigEndian.Uint16(m[p:]))
		r.properties = m[p+2 : p+2+pl]
		out = append(out, r)
	}
	return out
}

// TestStoredRecordMatchesRealBroker: the records of a real PULL_MESSAGE answer, written
// again by appendStored from their fields, are the broker's bytes (layout, CRC, lengths).
func TestStoredRecordMatchesRealBroker(t *testing.T) {
	for _, name := range []string{"go-pull-2-messages-response.bin", "java-pull-2-messages-response.bin", "go-pull-retry-topic-response.bin"} {
		res := captured(t, name)
		recs := decodeStored(t, res.Body)
		if len(recs) == 0 {
			t.Fatalf("%s: no records", name)
		}
		var again []byte
		for i := range recs {
			again = appendStored(again, &recs[i])
		}
		if !bytes.Equal(again, res.Body) {
			t.Errorf("%s: appendStored wrote %d bytes unlike the broker's %d", name, len(again), len(res.Body))
		}
		for _, r := range recs {
			if id := offsetMsgID(r.storeHost, r.physicalOffset); len(id) != 32 || !strings.HasPrefix(id, strings.ToUpper("7F000001")) {
				t.Errorf("offset msgId %s", id)
			}
		}
	}
}

// TestDecodeRealBatch: the Go client's real SEND_BATCH_MESSAGE body splits into its 4
// messages with their bodies and properties.
func TestDecodeRealBatch(t *testing.T) {
	req := captured(t, "go-send-batch-request.bin")
	msgs, err := decodeBatch(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 {
		t.Fatalf("%d messages, want 4", len(msgs))
	}
	for _, m := range msgs {
		if len(m.body) == 0 || propertiesMap(m.properties)[mcTags] == "" && len(m.properties) == 0 {
			t.Errorf("message body %q properties %q", m.body, m.properties)
		}
	}
}

// TestParseRealHeartbeat: the Go client's real heartbeat gives its client id, group and
// subscriptions (the topic's TagA and the retry topic's *).
func TestParseRealHeartbeat(t *testing.T) {
	hb, err := parseHeartbeat(captured(t, "go-heartbeat-request.bin").Body)
	if err != nil {
		t.Fatal(err)
	}
	if hb.ClientID == "" || len(hb.ConsumerDataSet) != 1 || hb.ConsumerDataSet[0].GroupName != "capture-go-group" {
		t.Fatalf("heartbeat %+v", hb)
	}
	subs := map[string]filter{}
	for _, s := range hb.ConsumerDataSet[0].SubscriptionDataSet {
		subs[s.Topic] = parseFilter(s.SubString)
	}
	if f, ok := subs["capture-go"]; !ok || !f.match("TagA") || f.match("TagB") {
		t.Errorf("capture-go's filter %v", f)
	}
	if f, ok := subs["%RETRY%capture-go-group"]; !ok || f != nil {
		t.Errorf("retry topic's filter %v, want all", f)
	}
}

// TestPhysicalOffsetRoundTrip: a physical offset gives back its topic hash, queue and index.
func TestPhysicalOffsetRoundTrip(t *testing.T) {
	for _, c := range []struct {
		topic string
		queue int
		index int64
	}{{"a", 0, 0}, {"orders", 7, 123456789}, {"%RETRY%g", 255, 1<<39 - 1}} {
		h, q, i := splitPhysical(physicalOffset(c.topic, c.queue, c.index))
		if h != topicHash(c.topic) || q != c.queue || i != c.index {
			t.Errorf("%v: got %d %d %d", c, h, q, i)
		}
		if p := physicalOffset(c.topic, c.queue, c.index); p < 0 {
			t.Errorf("%v: negative offset %d", c, p)
		}
		id := offsetMsgID(hostBytes("127.0.0.1:9876"), physicalOffset(c.topic, c.queue, c.index))
		if p, ok := parseOffsetMsgID(id); !ok || p != physicalOffset(c.topic, c.queue, c.index) {
			t.Errorf("msgId %s gives %d", id, p)
		}
	}
}
