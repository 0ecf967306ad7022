package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// errorCode maps a bridge error to the Kafka code a client acts on best:
// retriable where retrying can help, so clients ride out a backend blip.
func errorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, bridge.ErrTopicNotFound):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, bridge.ErrTopicExists):
		return kerr.TopicAlreadyExists.Code
	case errors.Is(err, bridge.ErrInvalid):
		return kerr.InvalidRequest.Code
	case errors.Is(err, bridge.ErrForbidden):
		// The store refused the client's own principal (act_as_clients).
		return kerr.TopicAuthorizationFailed.Code
	case errors.Is(err, context.DeadlineExceeded):
		return kerr.RequestTimedOut.Code
	case errors.Is(err, bridge.ErrUnavailable), errors.Is(err, bridge.ErrClosed):
		// Retriable, and makes the client refresh metadata first.
		return kerr.NotLeaderForPartition.Code
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}
