package pulsar

import (
	"fmt"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// msgID is the bridge.MessageID of this backend: the client's own ID (a
// consumer's tracking ID when it came from a consumer, so acks go through
// the consumer's batch bookkeeping) plus the index and partition it stands
// for.
type msgID struct {
	id        pulsar.MessageID
	topic     string // partition (or non-partitioned topic) full name
	partition int
	index     int64
}

func (m *msgID) Index() int64   { return m.index }
func (m *msgID) Partition() int { return m.partition }
func (m *msgID) String() string {
	return fmt.Sprintf("%s@%d(%d:%d:%d)", m.topic, m.index, m.id.LedgerID(), m.id.EntryID(), m.id.BatchIdx())
}

func (m *msgID) pos() pos { return pos{m.id.LedgerID(), m.id.EntryID()} }

// asID unwraps a bridge.MessageID of this backend.
func asID(id bridge.MessageID) (*msgID, error) {
	m, ok := id.(*msgID)
	if !ok || m == nil || m.id == nil {
		return nil, fmt.Errorf("%w: message ID %v is not from the pulsar backend", bridge.ErrInvalid, id)
	}
	return m, nil
}

// emptyKeyProp marks a message whose key is present but empty: Pulsar
// treats an empty partition key as none, and the bridge keeps them apart.
const emptyKeyProp = "__pgw.emptykey"

// toMessage converts a client message to the bridge form. ok is false when
// the broker did not stamp an index (see errIndexMissing).
func toMessage(m pulsar.Message, partitionName string, partition int) (*bridge.Message, bool) {
	ix := m.Index()
	if ix == nil {
		return nil, false
	}
	props := m.Properties()
	var key []byte
	if m.Key() != "" {
		key = []byte(m.Key())
	}
	if _, ok := props[emptyKeyProp]; ok {
		key = []byte{}
		props = without(props, emptyKeyProp)
	}
	if len(props) == 0 {
		props = nil
	}
	// One allocation for the message and its ID.
	both := &messageWithID{
		Message: bridge.Message{
			Topic:       partitionName,
			Partition:   partition,
			Index:       int64(*ix),
			Key:         key,
			Value:       m.Payload(),
			Properties:  props,
			PublishTime: m.PublishTime(),
		},
		id: msgID{id: m.ID(), topic: partitionName, partition: partition, index: int64(*ix)},
	}
	out := &both.Message
	out.ID = &both.id
	if et := m.EventTime(); et.UnixMilli() != 0 {
		out.EventTime = et
	}
	if len(out.Value) == 0 && out.Value != nil {
		out.Value = []byte{}
	}
	return out, true
}

// messageWithID allocates a received message and its ID together.
type messageWithID struct {
	bridge.Message
	id msgID
}

func without(m map[string]string, k string) map[string]string {
	out := make(map[string]string, len(m))
	for kk, v := range m {
		if kk != k {
			out[kk] = v
		}
	}
	return out
}

// partitionOf splits a full partition name into the bridge's partition
// number (-1 when not partitioned).
func partitionOf(name string) int {
	t, err := bridge.ParseTopic(name)
	if err != nil {
		return -1
	}
	_, n, ok := t.PartitionIndex()
	if !ok {
		return -1
	}
	return n
}
