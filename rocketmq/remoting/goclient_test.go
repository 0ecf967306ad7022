package remoting_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/admin"
	rmqerrors "github.com/apache/rocketmq-client-go/v2/errors"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// nameServer is a TCP listener that hands each request it reads to the test, which answers
// it (or not) through respond.
type nameServer struct {
	addr     string
	requests chan *remoting.Command
	respond  chan *remoting.Command
	errs     chan error
}

func startNameServer(t *testing.T) *nameServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &nameServer{addr: ln.Addr().String(), requests: make(chan *remoting.Command),
		respond: make(chan *remoting.Command), errs: make(chan error, 8)}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r, w := remoting.NewReader(conn), remoting.NewWriter(conn)
				for {
					req, err := r.ReadCommand()
					if err != nil {
						if !errors.Is(err, net.ErrClosed) && err.Error() != "EOF" {
							s.errs <- err
						}
						return
					}
					select {
					case s.requests <- req:
					case <-done:
						return
					}
					select {
					case res := <-s.respond:
						if err := w.WriteCommand(res); err != nil {
							s.errs <- err
							return
						}
						if err := w.Flush(); err != nil {
							return
						}
					case <-done:
						return
					}
				}
			}()
		}
	}()
	return s
}

// next returns the next request the server read.
func (s *nameServer) next(t *testing.T) *remoting.Command {
	t.Helper()
	select {
	case req := <-s.requests:
		return req
	case err := <-s.errs:
		t.Fatalf("name server: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no request from the client")
	}
	return nil
}

// result waits for the client call running in the background.
func result[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("the client hangs after the response")
	}
	var zero T
	return zero
}

type fetched struct {
	queues []*primitive.MessageQueue
	err    error
}

// rocketmq-client-go/v2's admin, pointed at a listener speaking this codec as its name
// server: its route lookup decodes, and what the codec writes back reaches the caller as
// the client's own error or result.
func TestGoClientRouteLookup(t *testing.T) {
	rlog.SetLogLevel("fatal")
	ns := startNameServer(t)
	a, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{ns.addr})))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	fetch := func(topic string) <-chan fetched {
		ch := make(chan fetched, 1)
		go func() {
			q, err := a.FetchPublishMessageQueues(context.Background(), topic)
			ch <- fetched{q, err}
		}()
		return ch
	}

	// TOPIC_NOT_EXIST: the client's ErrTopicNotExist.
	got := fetch("TopicTest")
	req := ns.next(t)
	if req.Code != remoting.ReqGetRouteInfoByTopic || req.ExtFields["topic"] != "TopicTest" || req.IsResponse() || req.IsOneway() {
		t.Fatalf("first request: %v %q, want GET_ROUTEINFO_BY_TOPIC for TopicTest", req, req.ExtFields)
	}
	if req.Language != remoting.Go || req.Serialize != remoting.JSON {
		t.Fatalf("request language %v serialization %v, want GO in JSON", req.Language, req.Serialize)
	}
	ns.respond <- req.NewResponse(remoting.ResTopicNotExist, "No topic route info in name server for the topic: TopicTest")
	if r := result(t, got); !errors.Is(r.err, rmqerrors.ErrTopicNotExist) {
		t.Fatalf("client got %v, %v; want ErrTopicNotExist", r.queues, r.err)
	}

	// Another error code: the client shows it with the remark.
	got = fetch("Other")
	req = ns.next(t)
	ns.respond <- req.NewResponse(remoting.ResSystemError, "the gateway's own words")
	if r := result(t, got); r.err == nil || !strings.Contains(r.err.Error(), "CODE: 1  DESC: the gateway's own words") {
		t.Fatalf("client got %v, %v; want the code and remark", r.queues, r.err)
	}

	// SUCCESS with a route in the body, as a Java name server writes it (fastjson: the
	// broker ids unquoted): the client's queues.
	got = fetch("Routed")
	req = ns.next(t)
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body = []byte(`{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"gw","cluster":"DefaultCluster"}],` +
		`"filterServerTable":{},"queueDatas":[{"brokerName":"gw","perm":6,"readQueueNums":3,"topicSysFlag":0,"writeQueueNums":3}]}`)
	ns.respond <- res
	r := result(t, got)
	if r.err != nil || len(r.queues) != 3 || r.queues[2].BrokerName != "gw" || r.queues[2].QueueId != 2 || r.queues[2].Topic != "Routed" {
		t.Fatalf("client got %v, %v; want 3 queues of broker gw", r.queues, r.err)
	}
}
