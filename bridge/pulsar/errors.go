package pulsar

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

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
	s := classify(err, scope)
	switch {
	case s == nil:
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, s):
		return err
	}
	return fmt.Errorf("%w: %s: %w", s, what, err)
}

// sentinels are the bridge errors an error already carrying one keeps.
var sentinels = []error{bridge.ErrTopicNotFound, bridge.ErrTopicExists, bridge.ErrSubscriptionNotFound,
	bridge.ErrSubscriptionExists, bridge.ErrSubscriptionBusy, bridge.ErrConsumerBusy, bridge.ErrNotAllowed,
	bridge.ErrClosed, bridge.ErrUnavailable, bridge.ErrInvalid, bridge.ErrTxnUnknown, bridge.ErrForbidden}

// classify is the one place that decides what a Pulsar error means, by its
// type and code, never by its wording: a library that rewords a message must
// not change what clients are told. nil: no sentinel (not retriable).
func classify(err error, scope notFound) error {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return nil // the caller gave up; it knows why
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		// The client's own operation timeout (CreateProducer and Subscribe
		// return it while the broker is away).
		return bridge.ErrUnavailable
	}
	if tlsRefused(err) {
		return nil // not retriable: retrying meets the same certificate
	}
	if code, reason, ok := httpStatus(err); ok {
		return byStatus(code, reason, scope)
	}
	var pe *pulsar.Error
	if errors.As(err, &pe) {
		return byResult[pe.Result()]
	}
	if code, ok := serverError(err); ok {
		return byServerError[code]
	}
	if transport(err) {
		return bridge.ErrUnavailable
	}
	return nil
}

// httpStatus finds an admin API answer: the admin client's rest.Error (as a
// value or a pointer) or this package's own admin GETs' httpError.
func httpStatus(err error) (int, string, bool) {
	var re rest.Error
	if errors.As(err, &re) {
		return re.Code, re.Reason, true
	}
	var rep *rest.Error
	if errors.As(err, &rep) && rep != nil {
		return rep.Code, rep.Reason, true
	}
	var he *httpError
	if errors.As(err, &he) {
		return he.code, he.body, true
	}
	return 0, "", false
}

func byStatus(code int, reason string, scope notFound) error {
	switch {
	case code == 404 && scope == subScope && strings.Contains(strings.ToLower(reason), "subscription"):
		// Pulsar answers 404 for a missing topic and a missing subscription
		// alike; only the reason says which. The status alone decides the class.
		return bridge.ErrSubscriptionNotFound
	case code == 404:
		return bridge.ErrTopicNotFound
	case code == 409 && scope == subScope:
		return bridge.ErrSubscriptionExists
	case code == 409:
		return bridge.ErrTopicExists
	case code == 412 && strings.Contains(strings.ToLower(reason), "find owner"):
		// Pulsar answers 412 both for a bad request and for "Can't find owner
		// for topic" (no broker owns its bundle yet, as while a broker starts);
		// only the reason tells the passing one apart.
		return bridge.ErrUnavailable
	case code == 412 && scope == subScope:
		return bridge.ErrSubscriptionBusy
	case code == 400, code == 405, code == 406, code == 412:
		return bridge.ErrInvalid
	case code == 307, code == 408, code == 429, code >= 500:
		// A redirect the client did not follow (the bundle is moving), a
		// timeout, throttling, or the broker failing: all pass.
		return bridge.ErrUnavailable
	}
	return nil
}

// byResult classifies pulsar-client-go's own errors by their Result code.
var byResult = map[pulsar.Result]error{
	pulsar.ConsumerBusy:         bridge.ErrConsumerBusy,
	pulsar.TopicNotFound:        bridge.ErrTopicNotFound,
	pulsar.SubscriptionNotFound: bridge.ErrSubscriptionNotFound,
	pulsar.AlreadyClosedError:   bridge.ErrClosed,
	pulsar.ProducerClosed:       bridge.ErrClosed,
	pulsar.ConsumerClosed:       bridge.ErrClosed,
	pulsar.InvalidTopicName:     bridge.ErrInvalid,
	pulsar.InvalidConfiguration: bridge.ErrInvalid,
	pulsar.MessageTooBig:        bridge.ErrInvalid,
	// The broker refused the role (a principal's, when acting as clients).
	pulsar.AuthorizationError: bridge.ErrForbidden,

	pulsar.TimeoutError:                          bridge.ErrUnavailable,
	pulsar.LookupError:                           bridge.ErrUnavailable,
	pulsar.ConnectError:                          bridge.ErrUnavailable,
	pulsar.ReadError:                             bridge.ErrUnavailable,
	pulsar.NotConnectedError:                     bridge.ErrUnavailable,
	pulsar.ServiceUnitNotReady:                   bridge.ErrUnavailable,
	pulsar.TooManyLookupRequestException:         bridge.ErrUnavailable,
	pulsar.ProducerQueueIsFull:                   bridge.ErrUnavailable,
	pulsar.ClientMemoryBufferIsFull:              bridge.ErrUnavailable,
	pulsar.BrokerMetadataError:                   bridge.ErrUnavailable,
	pulsar.BrokerPersistenceError:                bridge.ErrUnavailable,
	pulsar.ProducerBlockedQuotaExceededError:     bridge.ErrUnavailable,
	pulsar.ProducerBlockedQuotaExceededException: bridge.ErrUnavailable,
}

// byServerError classifies the broker's ServerError codes (PulsarApi.proto).
var byServerError = map[string]error{
	"ConsumerBusy":         bridge.ErrConsumerBusy, // also a subscription of another type
	"ConsumerAssignError":  bridge.ErrConsumerBusy,
	"TopicNotFound":        bridge.ErrTopicNotFound,
	"SubscriptionNotFound": bridge.ErrSubscriptionNotFound,
	"InvalidTopicName":     bridge.ErrInvalid,
	"AuthorizationError":   bridge.ErrForbidden,

	// A transaction the coordinator no longer has (ended, or timed out and
	// aborted), or one in a state that refuses the request (ending it
	// again): either way it is not the caller's open transaction.
	"TransactionNotFound": bridge.ErrTxnUnknown,
	"InvalidTxnStatus":    bridge.ErrTxnUnknown,
	// The coordinator is loading or has moved: ask again after a lookup.
	"TransactionCoordinatorNotFound": bridge.ErrUnavailable,

	"MetadataError":                         bridge.ErrUnavailable,
	"PersistenceError":                      bridge.ErrUnavailable,
	"ServiceNotReady":                       bridge.ErrUnavailable,
	"TooManyRequests":                       bridge.ErrUnavailable,
	"ProducerBlockedQuotaExceededError":     bridge.ErrUnavailable,
	"ProducerBlockedQuotaExceededException": bridge.ErrUnavailable,
}

// serverErrors are every ServerError code of PulsarApi.proto.
var serverErrors = map[string]bool{
	"UnknownError": true, "MetadataError": true, "PersistenceError": true, "AuthenticationError": true,
	"AuthorizationError": true, "ConsumerBusy": true, "ServiceNotReady": true,
	"ProducerBlockedQuotaExceededError": true, "ProducerBlockedQuotaExceededException": true,
	"ChecksumError": true, "UnsupportedVersionError": true, "TopicNotFound": true,
	"SubscriptionNotFound": true, "ConsumerNotFound": true, "TooManyRequests": true,
	"TopicTerminatedError": true, "ProducerBusy": true, "InvalidTopicName": true,
	"IncompatibleSchema": true, "ConsumerAssignError": true, "TransactionCoordinatorNotFound": true,
	"InvalidTxnStatus": true, "NotAllowedError": true, "TransactionConflict": true,
	"TransactionNotFound": true, "ProducerFenced": true,
}

// serverError finds the broker's error code in an error pulsar-client-go
// built from a command's ServerError: it keeps no type, only the code's
// protobuf name as one ": "-separated field ("server error: ConsumerBusy:
// <message>" from a subscribe, "TopicNotFound" from a lookup). The code is
// the wire protocol's, so it does not change with the message's wording.
func serverError(err error) (string, bool) {
	for _, f := range strings.Split(err.Error(), ": ") {
		if serverErrors[f] {
			return f, true
		}
	}
	return "", false
}

// beingCreated says whether the broker refused a producer or consumer because the topic's
// storage was being made or loaded at that moment (its metadata or ledger busy): a moment
// later the same request succeeds.
func beingCreated(err error) bool {
	code, _ := serverError(err)
	return code == "PersistenceError" || code == "MetadataError" || code == "ServiceNotReady"
}

// tlsRefused says whether a TLS handshake failed on the broker's
// certificate: not trusted, or not for the name connected to.
func tlsRefused(err error) bool {
	var ve *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	return errors.As(err, &ve) || errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ie)
}

// loginRefused says whether the broker refused the gateway's login or its
// role's rights: HTTP 401/403, or the binary protocol's codes.
func loginRefused(err error) bool {
	if code, _, ok := httpStatus(err); ok {
		return code == 401 || code == 403
	}
	var pe *pulsar.Error
	if errors.As(err, &pe) && (pe.Result() == pulsar.AuthenticationError || pe.Result() == pulsar.AuthorizationError) {
		return true
	}
	code, _ := serverError(err)
	return code == "AuthenticationError" || code == "AuthorizationError"
}

// startErr says what to fix when Open's first calls fail on who is who.
// Neither is retriable: the class stays none (classify).
func startErr(err error) error {
	switch {
	case tlsRefused(err):
		return fmt.Errorf("bridge/pulsar: the broker's TLS certificate does not verify (check the CA file and server name): %w", err)
	case loginRefused(err):
		return fmt.Errorf("bridge/pulsar: the broker refused the gateway's login or its role's rights (check the token, client certificate or OAuth2 credentials, and the broker's superUserRoles or grants): %w", err)
	}
	return err
}

// transport says whether err is the connection to the broker failing: a
// network error or timeout, a connection closed mid-answer, refused or reset.
func transport(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ETIMEDOUT) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}
