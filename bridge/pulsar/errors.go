package pulsar

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// notFound says which sentinel a 404 means for the call at hand: an admin
// 404 does not say whether the topic or the subscription is missing.
type notFound int

const (
	topicScope notFound = iota
	subScope
)

// mapErr wraps a client or admin error with the bridge sentinel it means, so
// handlers can test errors.Is(err, bridge.ErrUnavailable) and retry without
// knowing Pulsar. The original error stays in the chain for logs.
func mapErr(err error, scope notFound, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, s := range []error{bridge.ErrTopicNotFound, bridge.ErrTopicExists, bridge.ErrSubscriptionNotFound,
		bridge.ErrSubscriptionExists, bridge.ErrSubscriptionBusy, bridge.ErrConsumerBusy, bridge.ErrNotAllowed,
		bridge.ErrClosed, bridge.ErrUnavailable, bridge.ErrInvalid} {
		if errors.Is(err, s) {
			return err
		}
	}
	wrap := func(s error) error { return fmt.Errorf("%w: %s: %w", s, what, err) }
	var re rest.Error
	var rep *rest.Error
	if errors.As(err, &rep) && rep != nil {
		re = *rep
	}
	if errors.As(err, &re) || re.Code != 0 {
		switch {
		case re.Code == 404 && scope == subScope && strings.Contains(strings.ToLower(re.Reason), "subscription"):
			return wrap(bridge.ErrSubscriptionNotFound)
		case re.Code == 404:
			return wrap(bridge.ErrTopicNotFound)
		case re.Code == 409 && scope == subScope:
			return wrap(bridge.ErrSubscriptionExists)
		case re.Code == 409:
			return wrap(bridge.ErrTopicExists)
		case re.Code == 412 && scope == subScope:
			return wrap(bridge.ErrSubscriptionBusy)
		case re.Code == 400 || re.Code == 412 || re.Code == 405 || re.Code == 406:
			return wrap(bridge.ErrInvalid)
		case re.Code >= 500 || re.Code == 503 || re.Code == 307:
			return wrap(bridge.ErrUnavailable)
		}
		return err
	}
	var pe *pulsar.Error
	if errors.As(err, &pe) {
		switch pe.Result() {
		case pulsar.ConsumerBusy:
			return wrap(bridge.ErrConsumerBusy)
		case pulsar.TopicNotFound:
			return wrap(bridge.ErrTopicNotFound)
		case pulsar.SubscriptionNotFound:
			return wrap(bridge.ErrSubscriptionNotFound)
		case pulsar.AlreadyClosedError, pulsar.ProducerClosed, pulsar.ConsumerClosed:
			return wrap(bridge.ErrClosed)
		case pulsar.InvalidTopicName, pulsar.InvalidConfiguration, pulsar.MessageTooBig:
			return wrap(bridge.ErrInvalid)
		case pulsar.TimeoutError, pulsar.LookupError, pulsar.ConnectError, pulsar.NotConnectedError,
			pulsar.ServiceUnitNotReady, pulsar.TooManyLookupRequestException, pulsar.ProducerQueueIsFull,
			pulsar.ClientMemoryBufferIsFull, pulsar.BrokerMetadataError, pulsar.BrokerPersistenceError,
			pulsar.ProducerBlockedQuotaExceededError, pulsar.ProducerBlockedQuotaExceededException:
			return wrap(bridge.ErrUnavailable)
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "ConsumerBusy") || strings.Contains(msg, "Exclusive consumer is already connected") ||
		strings.Contains(msg, "different type") || strings.Contains(msg, "ConsumerAssignException"):
		return wrap(bridge.ErrConsumerBusy)
	case strings.Contains(msg, "TopicNotFound") || strings.Contains(msg, "Topic does not exist") ||
		strings.Contains(msg, "Topic not found"):
		return wrap(bridge.ErrTopicNotFound)
	case strings.Contains(msg, "producer closed") || strings.Contains(msg, "consumer closed") ||
		strings.Contains(msg, "already closed") || errors.Is(err, pulsar.ErrProducerClosed):
		return wrap(bridge.ErrClosed)
	case strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection closed") ||
		strings.Contains(msg, "timeout") || strings.Contains(msg, "EOF") || strings.Contains(msg, "ServiceNotReady") ||
		strings.Contains(msg, "no route") || strings.Contains(msg, "reset by peer"):
		return wrap(bridge.ErrUnavailable)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return wrap(bridge.ErrUnavailable)
	}
	return fmt.Errorf("%s: %w", what, err)
}
