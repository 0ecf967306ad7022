// Package rocketmq serves RocketMQ's remoting protocol on the bridge: the gateway is the name
// server and the one broker, on one port, for RocketMQ 4.x/5.x clients in remoting mode (the
// Java client, rocketmq-client-go). A RocketMQ topic is the Pulsar topic of the same name in
// the configured namespace, its queues that topic's partitions, a queue offset a message's
// index; consumer offsets and group members live in bridge state tables that every gateway
// on the backend shares. /work/shared/notes/rocketmq.md (docs) has the protocol facts.
package rocketmq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/producercache"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/submirror"
	"github.com/pulsar-gateway/pulsar-gateway/metrics"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// Options configure a Handler.
type Options struct {
	// Advertised is the broker address route answers give (host:port).
	Advertised string
	// Namespace holds the topics ("tenant/ns"); empty: public/default.
	Namespace string
	// AutoCreateTopics creates topics producers send to (autoCreateTopicEnable).
	AutoCreateTopics bool
	Logger           *zap.Logger
	Metrics          *metrics.Flow
	// MemberExpiry drops a group member not heard from this long (the broker's
	// channel expiry, 120 s); zero is that.
	MemberExpiry time.Duration

	// afterMove, when set (tests), runs after a schedule move's send is durable and before
	// its ack; false leaves the entry unacknowledged (a crash between the two).
	afterMove func(ctx context.Context) bool
}

// Names of the brokers and cluster the gateway says it is.
const (
	brokerName  = "pulsar-gateway"
	clusterName = "DefaultCluster"
)

// Handler serves RocketMQ connections. It is a handlers.ConnHandler and an io.Closer.
type Handler struct {
	b         bridge.Backend
	admin     bridge.Admin
	o         Options
	log       *zap.Logger
	producers *producercache.Cache
	offsets   bridge.StateTable
	locks     bridge.StateTable
	members   *memberTable
	mirror    *submirror.Mirror
	storeHost []byte

	mu     sync.Mutex
	conns  map[*conn]struct{}
	topics map[uint16]string // topic hash → name, for VIEW_MESSAGE_BY_ID
	tcache topicCache
	ranges rangeCache
	subs   subscriptions
	movers movers

	closeOnce sync.Once
}

// New makes a Handler on b.
func New(ctx context.Context, b bridge.Backend, o Options) (*Handler, error) {
	if o.Namespace == "" {
		o.Namespace = bridge.DefaultNamespace
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.MemberExpiry <= 0 {
		o.MemberExpiry = 120 * time.Second
	}
	h := &Handler{b: b, admin: b.Admin(), o: o, log: o.Logger, storeHost: hostBytes(o.Advertised),
		conns: map[*conn]struct{}{}, topics: map[uint16]string{}}
	var err error
	if h.offsets, err = b.State(ctx, offsetTable); err != nil {
		return nil, fmt.Errorf("rocketmq: offsets: %w", err)
	}
	if h.locks, err = b.State(ctx, lockTable); err != nil {
		return nil, fmt.Errorf("rocketmq: locks: %w", err)
	}
	mt, err := b.State(ctx, memberTableName)
	if err != nil {
		return nil, fmt.Errorf("rocketmq: members: %w", err)
	}
	h.members = newMemberTable(mt, o.MemberExpiry, h.notifyGroup)
	h.producers = producercache.New(b, producercache.Options{})
	h.mirror = newOffsetMirror(h)
	h.startMovers()
	return h, nil
}

// Close stops what the handler runs; call it after its connections ended.
func (h *Handler) Close() error {
	h.closeOnce.Do(func() {
		h.members.close()
		h.mirror.Close()
		h.stopMovers()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.producers.Close(ctx)
	})
	return nil
}

// pulsarTopic is the Pulsar topic of a RocketMQ topic.
func (h *Handler) pulsarTopic(topic string) string {
	return "persistent://" + h.o.Namespace + "/" + topic
}

// partition is the Pulsar name of a queue: the partition, or the topic itself when it is not
// partitioned (its one queue).
func partition(full string, partitions, queue int) string {
	if partitions == 0 {
		return full
	}
	return bridge.PartitionName(full, queue)
}

// queueCount is how many queues a topic has: its partitions, 1 when not partitioned.
func queueCount(info bridge.TopicInfo) int { return max(info.Partitions, 1) }

func (h *Handler) remember(topic string) {
	hs := topicHash(topic)
	h.mu.Lock()
	if len(h.topics) > 100000 {
		clear(h.topics)
	}
	if _, ok := h.topics[hs]; !ok {
		h.topics[hs] = topic
	}
	h.mu.Unlock()
}

// conn is one client connection. Requests are read in order; answers may go out in another
// order (a held pull answers later), each whole under wmu.
type conn struct {
	h      *Handler
	nc     net.Conn
	remote string
	ctx    context.Context
	cancel context.CancelFunc

	wmu sync.Mutex
	w   *remoting.Writer

	opaque atomic.Int32 // of the requests the gateway sends the client

	mu       sync.Mutex
	clients  map[string]map[string]bool // clientID → consumer groups, registered on this connection
	cursors  map[string]*cursor
	swept    time.Time // when idle cursors were last closed
	inflight sync.WaitGroup
	pulls    atomic.Int32 // pulls being served or held
}

// maxHeldPulls bounds the pulls one connection may have held at once (a consumer holds one
// per queue it owns).
const maxHeldPulls = 1024

// HandleConn serves one connection until it closes or ctx ends.
func (h *Handler) HandleConn(ctx context.Context, nc net.Conn) error {
	c := &conn{h: h, nc: nc, remote: nc.RemoteAddr().String(), w: remoting.NewWriter(nc),
		clients: map[string]map[string]bool{}, cursors: map[string]*cursor{}}
	c.ctx, c.cancel = context.WithCancel(ctx)
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Now()) })
	defer func() {
		stop()
		c.cancel()
		c.inflight.Wait()
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
		c.closeCursors()
		c.unregisterAll()
	}()
	r := remoting.NewReader(nc)
	for {
		cmd, err := r.ReadCommand()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		if cmd.IsResponse() {
			continue // to a NOTIFY we sent oneway: nothing waits for it
		}
		c.serve(cmd)
	}
}

// reply writes a response, never to a oneway request.
func (c *conn) reply(req, res *remoting.Command) {
	c.h.o.Metrics.Request(remoting.RequestCodeName(req.Code), strconv.Itoa(int(res.Code)))
	if req.IsOneway() {
		return
	}
	res.Serialize = remoting.JSON // the real broker answers JSON to both serializations
	c.write(res)
}

func (c *conn) write(cmd *remoting.Command) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if err := c.w.WriteCommand(cmd); err == nil {
		err = c.w.Flush()
		if err != nil {
			c.h.log.Debug("write", zap.Error(err))
		}
	}
}

// errorReply answers req with code and remark.
func (c *conn) errorReply(req *remoting.Command, code int32, remark string) {
	c.reply(req, req.NewResponse(code, remark))
}

// async runs f on its own goroutine, counted so that the connection's end waits for it.
// A panic there (a bug) closes the connection, not the gateway: handlers contains the
// panics of HandleConn's own goroutine only.
func (c *conn) async(f func()) {
	c.inflight.Add(1)
	go func() {
		defer c.inflight.Done()
		defer func() {
			if r := recover(); r != nil {
				c.h.log.Error("panic serving a request", zap.Any("panic", r), zap.Stack("stack"))
				c.nc.Close()
			}
		}()
		f()
	}()
}

func (c *conn) serve(req *remoting.Command) {
	switch req.Code {
	case remoting.ReqGetRouteInfoByTopic:
		c.async(func() { c.routeInfo(req) })
	case remoting.ReqGetBrokerClusterInfo:
		c.clusterInfo(req)
	case remoting.ReqGetAllTopicListFromNameserver:
		c.async(func() { c.topicList(req) })
	case remoting.ReqUpdateAndCreateTopic:
		c.async(func() { c.createTopic(req) })
	case remoting.ReqSendMessage, remoting.ReqSendMessageV2, remoting.ReqSendBatchMessage:
		c.send(req)
	case remoting.ReqHeartBeat:
		c.async(func() { c.heartbeat(req) })
	case remoting.ReqUnregisterClient:
		c.async(func() { c.unregisterClient(req) })
	case remoting.ReqGetConsumerListByGroup:
		c.consumerList(req)
	case remoting.ReqQueryConsumerOffset:
		c.async(func() { c.queryOffset(req) })
	case remoting.ReqUpdateConsumerOffset:
		c.async(func() { c.updateOffset(req) })
	case remoting.ReqGetMaxOffset, remoting.ReqGetMinOffset, remoting.ReqSearchOffsetByTimestamp:
		c.async(func() { c.offsetQuery(req) })
	case remoting.ReqPullMessage, remoting.ReqLitePullMessage:
		// The Java DefaultLitePullConsumer sends LITE_PULL_MESSAGE: the same
		// header, its subscription in the request (sysFlag 4), as the
		// broker's PullMessageProcessor serves both.
		c.pull(req)
	case remoting.ReqConsumerSendMsgBack:
		c.async(func() { c.sendBack(req) })
	case remoting.ReqViewMessageByID:
		c.async(func() { c.viewMessage(req) })
	case remoting.ReqLockBatchMQ:
		c.async(func() { c.lockBatch(req) })
	case remoting.ReqUnlockBatchMQ:
		c.async(func() { c.unlockBatch(req) })
	case remoting.ReqGetTopicConfig:
		c.async(func() { c.topicConfig(req) })
	case remoting.ReqGetTopicStatsInfo:
		c.async(func() { c.topicStats(req) })
	case remoting.ReqGetConsumeStats:
		c.async(func() { c.consumeStats(req) })
	case remoting.ReqGetConsumerConnectionList:
		c.consumerConnections(req)
	case remoting.ReqGetBrokerRuntimeInfo:
		c.brokerRuntimeInfo(req)
	case remoting.ReqCheckClientConfig:
		c.checkClientConfig(req)
	default:
		c.errorReply(req, remoting.ResRequestCodeNotSupported, " request type "+strconv.Itoa(int(req.Code))+" not supported")
	}
}

// ext reads an int ext field; ok false when missing or not a number.
func extInt(req *remoting.Command, name string) (int64, bool) {
	v, ok := req.ExtFields[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// missing answers a request that lacks a required header field, as Java's
// RemotingCommand.decodeCommandCustomHeader does.
func (c *conn) missing(req *remoting.Command, field string) {
	c.errorReply(req, remoting.ResSystemError, "org.apache.rocketmq.remoting.exception.RemotingCommandException: the custom field <"+field+"> is null")
}

// opCtx is a context for one backend operation on behalf of a request. It outlives the
// connection: a client sends its last offsets oneway and closes at once (the Go client on
// shutdown), and they must still be stored. The connection's end waits for it (inflight).
func (c *conn) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(c.ctx), 30*time.Second)
}
