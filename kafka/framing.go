package kafka

import (
	"encoding/binary"
	"strconv"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// The Confluent wire format a schema registry's serializers write: a zero
// byte, the schema id in 4 bytes (big-endian), then the payload. With
// Options.SchemaFraming "strip" the header becomes a property on the way
// in and the value again on the way out, so Kafka clients read what they
// wrote while the store's readers (a Pulsar consumer with the topic's
// schema, MQTT, AMQP) get the payload alone. docs/schema-registry.md.
const framingLen = 5

// stripFraming moves a framed value's header into bridge.SchemaIDProperty;
// other values, and records that carry that header name already, stay.
func stripFraming(m *bridge.OutMessage) {
	v := m.Value
	if len(v) < framingLen || v[0] != 0 {
		return
	}
	if _, taken := m.Properties[bridge.SchemaIDProperty]; taken {
		return
	}
	if m.Properties == nil {
		m.Properties = make(map[string]string, 1)
	}
	m.Properties[bridge.SchemaIDProperty] = strconv.FormatUint(uint64(binary.BigEndian.Uint32(v[1:framingLen])), 10)
	m.Value = v[framingLen:]
}

// framedValue is a stored record's value as its producer sent it.
func framedValue(m *bridge.Message) []byte {
	if len(m.Properties) == 0 {
		return m.Value
	}
	s, ok := m.Properties[bridge.SchemaIDProperty]
	if !ok {
		return m.Value
	}
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return m.Value
	}
	out := make([]byte, framingLen+len(m.Value))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	copy(out[framingLen:], m.Value)
	return out
}
