package kafka

import (
	"bytes"
	"testing"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Whatever a producer sends, a Kafka reader gets the same bytes back from
// a stripped record; a framed value's readers in the store get the payload.
func FuzzFraming(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 7, 'a', 'v', 'r', 'o'})
	f.Add([]byte{0, 0, 0, 1})
	f.Add([]byte{1, 0, 0, 0, 7, 'x'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		out := bridge.OutMessage{Value: v}
		stripFraming(&out)
		framed := len(v) >= framingLen && v[0] == 0
		if framed != (out.Properties[bridge.SchemaIDProperty] != "") {
			t.Fatalf("value %x: property %q", v, out.Properties[bridge.SchemaIDProperty])
		}
		if framed && !bytes.Equal(out.Value, v[framingLen:]) {
			t.Fatalf("value %x stored as %x", v, out.Value)
		}
		back := framedValue(&bridge.Message{Value: out.Value, Properties: out.Properties})
		if !bytes.Equal(back, v) {
			t.Fatalf("value %x read back as %x", v, back)
		}
		if hs := headers(out.Properties); len(hs) != 0 {
			t.Fatalf("the gateway's property shows as headers %v", hs)
		}
	})
}
