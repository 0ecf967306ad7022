package pulsar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// want checks that mapErr gives err the sentinel s (nil: none) and keeps err
// in the chain.
func want(t *testing.T, name string, err error, scope notFound, s error) {
	t.Helper()
	got := mapErr(err, scope, "op")
	if !errors.Is(got, err) && got != err {
		t.Errorf("%s: %v lost the original error", name, got)
	}
	if s == nil {
		for _, x := range []error{bridge.ErrTopicNotFound, bridge.ErrTopicExists, bridge.ErrSubscriptionNotFound,
			bridge.ErrSubscriptionExists, bridge.ErrSubscriptionBusy, bridge.ErrConsumerBusy, bridge.ErrNotAllowed,
			bridge.ErrClosed, bridge.ErrUnavailable, bridge.ErrInvalid} {
			if errors.Is(got, x) {
				t.Errorf("%s: %q classified %v, want no class", name, err, x)
			}
		}
		return
	}
	if !errors.Is(got, s) {
		t.Errorf("%s: %q became %q, want %v", name, err, got, s)
	}
}

// closedPort is a local address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestErrorWordsDoNotClassify: the wording of a message decides nothing. Each
// of these names a transient condition in words but is not one.
func TestErrorWordsDoNotClassify(t *testing.T) {
	for _, err := range []error{
		errors.New("schema timeout field is not a number"),
		errors.New("server error: UnknownError: request timeout"),
		errors.New("unexpected EOF in properties"),
		errors.New("connection refused by policy"),
		errors.New("topic ServiceNotReadyTopic exists"),
		errors.New("consumer closed the book on ConsumerBusyness"),
		fmt.Errorf("wrapped: %w", errors.New("reset by peer review")),
	} {
		want(t, err.Error(), err, topicScope, nil)
	}
}

// TestErrorContext: the caller's cancel is its own; a deadline is the
// backend not answering in time, and still reads as a deadline.
func TestErrorContext(t *testing.T) {
	want(t, "canceled", context.Canceled, topicScope, nil)
	got := mapErr(fmt.Errorf("op: %w", context.DeadlineExceeded), topicScope, "op")
	if !errors.Is(got, bridge.ErrUnavailable) || !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("deadline: %v, want ErrUnavailable and DeadlineExceeded", got)
	}
}

// TestErrorResults: pulsar-client-go's own errors by Result code.
func TestErrorResults(t *testing.T) {
	for _, c := range []struct {
		err error
		s   error
	}{
		{pulsar.ErrSendTimeout, bridge.ErrUnavailable},
		{pulsar.ErrContextExpired, bridge.ErrUnavailable},
		{pulsar.ErrSendQueueIsFull, bridge.ErrUnavailable},
		{pulsar.ErrMemoryBufferIsFull, bridge.ErrUnavailable},
		{pulsar.ErrProducerBlockedQuotaExceeded, bridge.ErrUnavailable},
		{pulsar.ErrProducerClosed, bridge.ErrClosed},
		{pulsar.ErrTopicNotfound, bridge.ErrTopicNotFound},
		{pulsar.ErrMessageTooLarge, bridge.ErrInvalid},
		{pulsar.ErrTopicTerminated, nil},
		{pulsar.ErrProducerFenced, nil},
		{pulsar.ErrSchema, nil},
	} {
		want(t, c.err.Error(), fmt.Errorf("send: %w", c.err), topicScope, c.s)
	}
}

// TestErrorHTTPStatus: admin answers by status, whichever client made them.
func TestErrorHTTPStatus(t *testing.T) {
	for _, c := range []struct {
		code  int
		scope notFound
		s     error
	}{
		{404, topicScope, bridge.ErrTopicNotFound},
		{409, topicScope, bridge.ErrTopicExists},
		{409, subScope, bridge.ErrSubscriptionExists},
		{412, subScope, bridge.ErrSubscriptionBusy},
		{400, topicScope, bridge.ErrInvalid},
		{500, topicScope, bridge.ErrUnavailable},
		{503, topicScope, bridge.ErrUnavailable},
		{307, topicScope, bridge.ErrUnavailable},
		{429, topicScope, bridge.ErrUnavailable},
		{401, topicScope, nil},
		{403, topicScope, nil},
	} {
		name := fmt.Sprintf("HTTP %d", c.code)
		// A reason that says "timeout" changes nothing.
		want(t, name+" rest", rest.Error{Code: c.code, Reason: "timeout"}, c.scope, c.s)
		want(t, name+" *rest", &rest.Error{Code: c.code, Reason: "timeout"}, c.scope, c.s)
		want(t, name+" own GET", &httpError{code: c.code, body: "timeout"}, c.scope, c.s)
	}
	// 412 is also Pulsar's answer while no broker owns the topic's bundle
	// (seen while a broker starts): that one passes.
	owner := "Can't find owner for topic persistent://public/default/t"
	want(t, "412 no owner", rest.Error{Code: 412, Reason: owner}, topicScope, bridge.ErrUnavailable)
	want(t, "412 no owner, sub", &httpError{code: 412, body: owner}, subScope, bridge.ErrUnavailable)
	want(t, "412 other", rest.Error{Code: 412, Reason: "Topic name is not valid"}, topicScope, bridge.ErrInvalid)
}

// TestErrorTransport: a connection refused, reset, cut mid-answer or timing
// out, as the standard library reports them from real sockets.
func TestErrorTransport(t *testing.T) {
	_, err := net.Dial("tcp", closedPort(t))
	want(t, "refused", err, topicScope, bridge.ErrUnavailable)

	a, err := admin.New(&config.Config{WebServiceURL: "http://" + closedPort(t)})
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := utils.GetTopicName("persistent://public/default/x")
	_, err = a.Topics().GetMetadata(*tn)
	want(t, "admin refused", err, topicScope, bridge.ErrUnavailable)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accept := func(f func(c *net.TCPConn)) {
		go func() {
			c, err := l.Accept()
			if err == nil {
				f(c.(*net.TCPConn))
			}
		}()
	}
	read := func() error {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return err // a reset can beat the dial's return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = io.ReadFull(c, make([]byte, 8))
		return err
	}
	accept(func(c *net.TCPConn) { c.Close() })
	want(t, "EOF", read(), topicScope, bridge.ErrUnavailable)
	accept(func(c *net.TCPConn) { c.Write([]byte{1, 2}); c.Close() })
	want(t, "unexpected EOF", read(), topicScope, bridge.ErrUnavailable)
	accept(func(c *net.TCPConn) { c.SetLinger(0); c.Write([]byte{1}); c.Close() })
	want(t, "reset", read(), topicScope, bridge.ErrUnavailable)
	done := make(chan struct{})
	accept(func(c *net.TCPConn) { <-done; c.Close() })
	err = read()
	close(done)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of a silent peer: %v", err)
	}
	want(t, "read timeout", err, topicScope, bridge.ErrUnavailable)

	// The client's own answer while no broker listens: its operation timeout.
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: "pulsar://" + closedPort(t),
		OperationTimeout: time.Second, ConnectionTimeout: 200 * time.Millisecond, Logger: newClientLogger(zap.NewNop())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.CreateProducer(pulsar.ProducerOptions{Topic: "persistent://public/default/x"})
	want(t, "producer without broker", err, topicScope, bridge.ErrUnavailable)
}

// TestErrorBroker: the broker's own refusals, as pulsar-client-go and the
// admin client return them from a real broker.
func TestErrorBroker(t *testing.T) {
	u, adm := os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
	if u == "" || adm == "" {
		t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset")
	}
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: u, OperationTimeout: 10 * time.Second, Logger: newClientLogger(zap.NewNop())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := fmt.Sprintf("persistent://public/default/errors-%d", time.Now().UnixNano())
	first, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Exclusive})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Exclusive})
	want(t, "second exclusive consumer", err, subScope, bridge.ErrConsumerBusy)
	_, err = c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared})
	want(t, "other subscription type", err, subScope, bridge.ErrConsumerBusy)
	_, err = c.CreateProducer(pulsar.ProducerOptions{Topic: "persistent://public/no-such-namespace/x"})
	want(t, "lookup in a missing namespace", err, topicScope, bridge.ErrTopicNotFound)

	a, err := admin.New(&config.Config{WebServiceURL: adm})
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := utils.GetTopicName(topic)
	want(t, "missing subscription", a.Subscriptions().Delete(*tn, "missing"), subScope, bridge.ErrSubscriptionNotFound)
	want(t, "existing topic", a.Topics().Create(*tn, 0), topicScope, bridge.ErrTopicExists)
	missing, _ := utils.GetTopicName(topic + "-missing")
	_, err = a.Topics().GetMetadata(*missing)
	want(t, "missing topic", err, topicScope, bridge.ErrTopicNotFound)
}

// TestErrorKeepsSentinel: an error that already carries a sentinel is
// returned as it is.
func TestErrorKeepsSentinel(t *testing.T) {
	err := fmt.Errorf("%w: lookup: %w", bridge.ErrUnavailable, errors.New("server error: TopicNotFound: x"))
	if got := mapErr(err, topicScope, "op"); got != err {
		t.Errorf("got %v, want the error unchanged", got)
	}
}

// TestBeingCreated: the broker's answer to a producer that lost the race to make a partition's
// ledger is retried; a refusal that stays (a missing topic, a busy producer name) is not.
func TestBeingCreated(t *testing.T) {
	lost := errors.New("server error: PersistenceError: org.apache.bookkeeper.mledger.ManagedLedgerException$BadVersionException: Version mismatch, actual=0, expect=-1")
	if !beingCreated(lost) || !beingCreated(fmt.Errorf("producer on t: %w", lost)) {
		t.Error("PersistenceError not retried")
	}
	for _, err := range []error{errors.New("server error: TopicNotFound: no such topic"), errors.New("server error: ProducerBusy: name in use"), errors.New("a PersistenceError in words only")} {
		if beingCreated(err) {
			t.Errorf("%v retried", err)
		}
	}
}
