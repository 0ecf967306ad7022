package mqtt

import (
	"context"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// publish stores one publish: the retained record first (when retained),
// then the message on its topic; done gets the outcome once durable.
func (s *Server) publish(ctx context.Context, pk *packets.Packet, done func(error)) {
	name, err := s.topicName(pk.TopicName)
	if err != nil {
		done(packets.ErrTopicNameInvalid)
		return
	}
	msg := outMessage(pk)
	if pk.FixedHeader.Retain {
		if err := s.retained.set(ctx, pk.TopicName, msg); err != nil {
			done(err)
			return
		}
	}
	s.producers.SendAsync(ctx, producerOptions(name), msg, func(_ bridge.SendResult, err error) { done(err) })
}
