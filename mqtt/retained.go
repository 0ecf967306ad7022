package mqtt

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// retained keeps the last retained message of each MQTT topic in the
// backend's state, so every gateway sees it and it survives restarts.
type retained struct {
	table bridge.StateTable
}

// retainedRecord is a stored retained message: the payload and the
// properties the publish had in the backend (props.go).
type retainedRecord struct {
	Value      []byte            `json:"v"`
	Properties map[string]string `json:"p,omitempty"`
}

func openRetained(ctx context.Context, b bridge.Backend) (*retained, error) {
	t, err := b.State(ctx, "mqtt-retained")
	if err != nil {
		return nil, fmt.Errorf("mqtt: retained table: %w", err)
	}
	return &retained{table: t}, nil
}

// set stores msg as topic's retained message; an empty payload deletes it
// [MQTT-3.3.1-6].
func (r *retained) set(ctx context.Context, topic string, msg *bridge.OutMessage) error {
	if len(msg.Value) == 0 {
		return r.table.Delete(ctx, topic)
	}
	b, err := json.Marshal(retainedRecord{Value: msg.Value, Properties: msg.Properties})
	if err != nil {
		return err
	}
	return r.table.Put(ctx, topic, b)
}

// matching calls f with each retained message whose topic matches filter.
func (r *retained) matching(filter string, f func(topic string, m *bridge.Message)) {
	prefix := filter
	if i := strings.IndexAny(filter, "+#"); i >= 0 {
		prefix = filter[:i]
	}
	r.table.Range(prefix, func(topic string, v []byte) bool {
		if !MatchFilter(filter, topic) {
			return true
		}
		var rec retainedRecord
		if json.Unmarshal(v, &rec) == nil {
			f(topic, &bridge.Message{Value: rec.Value, Properties: rec.Properties})
		}
		return true
	})
}
