package mqtt

import (
	"context"
	"errors"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// publish stores one publish: the retained record first (when retained),
// then the message on its topic; done gets the outcome once durable.
//
// principal is whose producer sends it (bridge.ActingAs: "" is the
// gateway's); the store refusing the principal is not authorized.
func (s *Server) publish(ctx context.Context, pk *packets.Packet, principal string, done func(error)) {
	name, err := s.topicName(pk.TopicName)
	if err != nil {
		done(packets.ErrTopicNameInvalid)
		return
	}
	msg := outMessage(pk)
	arrived, size := time.Now(), len(pk.Payload) // not pk in the callback: it would move the packet to the heap

	if pk.FixedHeader.Retain {
		if err := s.retained.set(ctx, pk.TopicName, msg); err != nil {
			done(err)
			return
		}
	}
	s.producers.SendAsync(ctx, producerOptions(name, principal), msg, func(_ bridge.SendResult, err error) {
		if errors.Is(err, bridge.ErrForbidden) {
			err = packets.ErrNotAuthorized
		}
		if err == nil {
			s.opts.Metrics.Produced(1, size, arrived)
		}
		done(err)
	})
}
