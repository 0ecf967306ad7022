package pulsar

import (
	"context"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

var _ bridge.TopicSchemas = (*Backend)(nil)

// SetTopicSchema posts a schema version to the topic in Pulsar's own
// registry (the admin interface takes no context: its client timeout
// bounds the call); Pulsar answers with the version it has when the schema is
// already there, and refuses one its compatibility strategy forbids.
func (b *Backend) SetTopicSchema(_ context.Context, topic string, s bridge.TopicSchema) error {
	tn, err := b.parse(topic)
	if err != nil {
		return err
	}
	err = b.admin.Schemas().CreateSchemaByPayload(tn.String(),
		utils.PostSchemaPayload{SchemaType: s.Type, Schema: s.Definition, Properties: s.Properties})
	if err != nil {
		return mapErr(err, topicScope, "schema of "+tn.String())
	}
	return nil
}
