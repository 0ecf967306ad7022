package embedded

import (
	"bytes"
	"reflect"
	"testing"

	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func TestMessageRoundTrip(t *testing.T) {
	cases := []storedMessage{
		{},
		{Key: []byte{}, Value: []byte("v")},
		{Key: []byte("k\x00\xff"), Value: bytes.Repeat([]byte("x"), 1000),
			Properties: map[string]string{"a": "1", "": "", "z": "\x00"},
			EventTime:  time.Unix(1700000000, 123456789), PublishTime: time.Unix(1700000001, 0)},
	}
	for i, m := range cases {
		got, err := decodeMessage(appendMessage(nil, &m))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if (m.Key == nil) != (got.Key == nil) || !bytes.Equal(m.Key, got.Key) || !bytes.Equal(m.Value, got.Value) {
			t.Errorf("case %d: key/value: got %q/%q want %q/%q", i, got.Key, got.Value, m.Key, m.Value)
		}
		if len(m.Properties) > 0 && !reflect.DeepEqual(m.Properties, got.Properties) {
			t.Errorf("case %d: properties: got %v want %v", i, got.Properties, m.Properties)
		}
		if !m.EventTime.Equal(got.EventTime) || !m.PublishTime.Equal(got.PublishTime) {
			t.Errorf("case %d: times: got %v/%v want %v/%v", i, got.EventTime, got.PublishTime, m.EventTime, m.PublishTime)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := &cursor{Type: 2, AckedUpTo: 10, Acked: []int64{12, 13, 1000}}
	got, err := decodeCursor(appendCursor(nil, c))
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("got %+v, %v; want %+v", got, err, c)
	}
}

// FuzzDecodeMessage: a corrupt record is an error, never a panic or a huge
// allocation, and whatever decodes re-encodes to a record that decodes the same.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(appendMessage(nil, &storedMessage{Key: []byte("k"), Value: []byte("v"), Properties: map[string]string{"a": "b"}}))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		again, err := decodeMessage(appendMessage(nil, m))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !bytes.Equal(again.Value, m.Value) || !bytes.Equal(again.Key, m.Key) || len(again.Properties) != len(m.Properties) {
			t.Fatalf("round trip changed the message")
		}
	})
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(appendCursor(nil, &cursor{Type: 1, AckedUpTo: 5, Acked: []int64{7, 9}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCursor(b)
		if err != nil {
			return
		}
		if _, err := decodeCursor(appendCursor(nil, c)); err != nil {
			t.Fatalf("re-encoded cursor does not decode: %v", err)
		}
	})
}

// FuzzDecodePolicy: a stored policy never panics its decoder, and what
// decodes encodes back to the same bytes.
func FuzzDecodePolicy(f *testing.F) {
	f.Add(appendPolicy(nil, bridge.DefaultTopicPolicy()))
	f.Add(appendPolicy(nil, bridge.TopicPolicy{Compact: true, RetentionTime: time.Hour, RetentionBytes: 1 << 30}))
	f.Add([]byte{policyVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePolicy(b)
		if err != nil {
			return
		}
		if again, err := decodePolicy(appendPolicy(nil, p)); err != nil || again != p {
			t.Fatalf("round trip of %+v: %+v, %v", p, again, err)
		}
	})
}
