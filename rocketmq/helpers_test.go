package rocketmq

import (
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/pulsartest"
)

func init() { rlog.SetLogLevel("fatal") }

var seq atomic.Int64

// unique is a name no other test (or earlier run on a shared Pulsar) uses.
func unique(s string) string {
	return s + "-" + strconv.FormatInt(time.Now().UnixNano()/1e6%1e9, 36) + strconv.FormatInt(seq.Add(1), 36)
}

// eachBackend runs f on the embedded store and, when PULSAR_URL and PULSAR_ADMIN_URL are
// set, on a real Pulsar.
func eachBackend(t *testing.T, f func(t *testing.T, b bridge.Backend)) {
	t.Helper()
	for _, kind := range []string{"embedded", "pulsar"} {
		t.Run(kind, func(t *testing.T) {
			if kind == "pulsar" && (os.Getenv("PULSAR_URL") == "" || os.Getenv("PULSAR_ADMIN_URL") == "") {
				t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset: run `integration/pulsar/standalone.sh start` and export what it prints")
			}
			f(t, openBackend(t, kind))
		})
	}
}

func openBackend(t *testing.T, kind string) bridge.Backend {
	t.Helper()
	var b bridge.Backend
	var err error
	if kind == "pulsar" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		opts, _ := pulsartest.Options("PULSAR_")
		opts.Logger, opts.SkipIndexProbe = zap.NewNop(), true
		b, err = pulsarbackend.Open(ctx, opts)
	} else {
		b, err = embedded.Open(embedded.Options{InMemory: true})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// serve starts a handler on b over a real socket and returns its address.
func serve(t *testing.T, b bridge.Backend, set func(*Options)) (string, *Handler) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Advertised: ln.Addr().String(), AutoCreateTopics: true,
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Named("rocketmq")}
	if set != nil {
		set(&opts)
	}
	h, err := New(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				h.HandleConn(ctx, nc)
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
		h.Close()
	})
	return ln.Addr().String(), h
}

func newProducer(t *testing.T, addr string, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	opts = append([]producer.Option{producer.WithNameServer([]string{addr}), producer.WithRetry(1),
		producer.WithGroupName(unique("pg")), producer.WithInstanceName(unique("p")),
		producer.WithSendMsgTimeout(10 * time.Second)}, opts...)
	p, err := rocketmq.NewProducer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return p
}

// gotMsg is a copy of what a consumer got, taken in its callback: the client may still
// touch its MessageExt after the callback returned.
type gotMsg struct {
	Topic          string
	Body           []byte
	MsgId          string
	ReconsumeTimes int32
	Queue          struct{ QueueId int }
	props          map[string]string
}

func (m *gotMsg) GetProperty(k string) string { return m.props[k] }
func (m *gotMsg) GetTags() string             { return m.props[primitive.PropertyTags] }
func (m *gotMsg) GetKeys() string             { return m.props[primitive.PropertyKeys] }

func copyMsg(m *primitive.MessageExt) *gotMsg {
	g := &gotMsg{Topic: m.Topic, Body: append([]byte(nil), m.Body...), MsgId: m.MsgId,
		ReconsumeTimes: m.ReconsumeTimes, props: m.GetProperties()}
	if m.Queue != nil {
		g.Queue.QueueId = m.Queue.QueueId
	}
	return g
}

// received collects what a push consumer got.
type received struct {
	mu   sync.Mutex
	msgs []*gotMsg
	ch   chan struct{}
}

func (r *received) add(ms ...*primitive.MessageExt) {
	r.mu.Lock()
	for _, m := range ms {
		r.msgs = append(r.msgs, copyMsg(m))
	}
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *received) all() []*gotMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*gotMsg(nil), r.msgs...)
}

// waitFor waits until n messages arrived.
func (r *received) waitFor(t *testing.T, n int, within time.Duration) []*gotMsg {
	t.Helper()
	deadline := time.After(within)
	for r.count() < n {
		select {
		case <-r.ch:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("received %d messages of %d within %v", r.count(), n, within)
		}
	}
	return r.all()
}

// pushConsumer starts a clustering push consumer of topic with a tag expression, consuming
// from the first offset, whose received messages the returned value collects. stop shuts it
// down (also at the test's end).
func pushConsumer(t *testing.T, addr, group, instance, topic, expr string, handle func(*primitive.MessageExt) consumer.ConsumeResult, opts ...consumer.Option) (*received, func()) {
	t.Helper()
	return pushConsumerOf(t, addr, group, instance, topic, consumer.MessageSelector{Type: consumer.TAG, Expression: expr}, handle, opts...)
}

// pushConsumerOf is pushConsumer with any selector (SQL92).
func pushConsumerOf(t *testing.T, addr, group, instance, topic string, sel consumer.MessageSelector, handle func(*primitive.MessageExt) consumer.ConsumeResult, opts ...consumer.Option) (*received, func()) {
	t.Helper()
	opts = append([]consumer.Option{consumer.WithNameServer([]string{addr}), consumer.WithGroupName(group),
		consumer.WithInstance(instance), consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithConsumerModel(consumer.Clustering)}, opts...)
	c, err := rocketmq.NewPushConsumer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	r := &received{ch: make(chan struct{}, 1)}
	err = c.Subscribe(topic, sel,
		func(ctx context.Context, ms ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, m := range ms {
				if handle != nil {
					if res := handle(m); res != consumer.ConsumeSuccess {
						return res, nil
					}
				}
				r.add(m)
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { c.Shutdown() }) }
	t.Cleanup(stop)
	return r, stop
}

// oneQueueTopic makes a topic of one queue named after prefix and a native producer on that
// queue, closed when the test ends.
func oneQueueTopic(t *testing.T, ctx context.Context, b bridge.Backend, prefix string) (string, bridge.Producer) {
	t.Helper()
	topic := unique(prefix)
	full := "persistent://public/default/" + topic
	if err := b.Admin().CreateTopic(ctx, full, 1); err != nil {
		t.Fatal(err)
	}
	p, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: bridge.PartitionName(full, 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return topic, p
}
