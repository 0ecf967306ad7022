package rocketmq

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// offsetTable is the bridge state table of consumer offsets, shared by every gateway: key
// group NUL topic NUL queue, value the next offset to consume (decimal).
const offsetTable = "rocketmq-offsets"

func offsetKey(group, topic string, queue int) string {
	return group + "\x00" + topic + "\x00" + strconv.Itoa(queue)
}

// commitOffset stores a group's offset of a queue; an offset already stored is not written
// again (the Java push consumer commits with every pull, the Go one every 5 s for every queue).
func (h *Handler) commitOffset(group, topic string, queue int, off int64) error {
	key, v := offsetKey(group, topic, queue), strconv.FormatInt(off, 10)
	if old, ok := h.offsets.Get(key); ok && string(old) == v {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.offsets.Put(ctx, key, []byte(v)); err != nil {
		return err
	}
	h.mirror.Note(subscriptionPrefix+group, topic, queue, off)
	return nil
}

// PullSysFlag bits.
const (
	pullCommitOffset = 1
	pullSuspend      = 2
	pullSubscription = 4
)

// Per pull at most this many bytes of bodies (maxTransferBytesOnMessageInMemory).
const maxPullBytes = 256 << 10

func (c *conn) queueOf(req *remoting.Command) (topic string, queue int, info bridge.TopicInfo, ok bool) {
	topic = req.ExtFields["topic"]
	q, qok := extInt(req, "queueId")
	if topic == "" || !qok {
		c.missing(req, map[bool]string{true: "queueId", false: "topic"}[topic != ""])
		return "", 0, info, false
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	info, err := c.h.cachedTopic(ctx, topic)
	if err != nil {
		if errors.Is(err, bridge.ErrTopicNotFound) {
			c.errorReply(req, remoting.ResTopicNotExist, "topic["+topic+"] not exist, apply first please! https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.")
		} else {
			c.errorReply(req, remoting.ResSystemError, err.Error())
		}
		return "", 0, info, false
	}
	if q < 0 || int(q) >= queueCount(info) {
		c.errorReply(req, remoting.ResSystemError, "queueId["+strconv.Itoa(int(q))+"] is illegal, topic:["+topic+"] topicConfig.readQueueNums:["+strconv.Itoa(queueCount(info))+"]")
		return "", 0, info, false
	}
	return topic, int(q), info, true
}

func (c *conn) queryOffset(req *remoting.Command) {
	group := req.ExtFields["consumerGroup"]
	topic, queue, info, ok := c.queueOf(req)
	if !ok {
		return
	}
	if v, ok := c.h.offsets.Get(offsetKey(group, topic, queue)); ok {
		res := req.NewResponse(remoting.ResSuccess, "")
		res.ExtFields = map[string]string{"offset": string(v)}
		c.reply(req, res)
		return
	}
	// No committed offset: the real broker answers 0 while the queue's first message is
	// still in its memory (a young queue) and QUERY_NOT_FOUND after; the backend keeps every
	// message at hand, so a queue that still starts at 0 is young here.
	ctx, cancel := c.opCtx()
	defer cancel()
	rng, err := c.h.admin.IndexRange(ctx, partition(info.Name, info.Partitions, queue))
	if err != nil {
		c.errorReply(req, remoting.ResSystemError, err.Error())
		return
	}
	if rng.First != 0 {
		c.errorReply(req, remoting.ResQueryNotFound, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first")
		return
	}
	res := req.NewResponse(remoting.ResSuccess, "")
	res.ExtFields = map[string]string{"offset": "0"}
	c.reply(req, res)
}

func (c *conn) updateOffset(req *remoting.Command) {
	group := req.ExtFields["consumerGroup"]
	off, ok := extInt(req, "commitOffset")
	if group == "" || !ok {
		c.missing(req, "commitOffset")
		return
	}
	topic, queue, _, ok := c.queueOf(req)
	if !ok {
		return
	}
	if err := c.h.commitOffset(group, topic, queue, off); err != nil {
		c.errorReply(req, remoting.ResSystemError, err.Error())
		return
	}
	c.reply(req, req.NewResponse(remoting.ResSuccess, ""))
}

// offsetQuery is GET_MAX_OFFSET, GET_MIN_OFFSET and SEARCH_OFFSET_BY_TIMESTAMP.
func (c *conn) offsetQuery(req *remoting.Command) {
	_, queue, info, ok := c.queueOf(req)
	if !ok {
		return
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	part := partition(info.Name, info.Partitions, queue)
	var off int64
	var err error
	switch req.Code {
	case remoting.ReqSearchOffsetByTimestamp:
		ts, tok := extInt(req, "timestamp")
		if !tok {
			c.missing(req, "timestamp")
			return
		}
		off, err = c.h.admin.IndexAtTime(ctx, part, time.UnixMilli(ts))
	default:
		var rng bridge.IndexRange
		rng, err = c.h.admin.IndexRange(ctx, part)
		off = rng.Next
		if req.Code == remoting.ReqGetMinOffset {
			off = rng.First
		}
	}
	if err != nil {
		c.errorReply(req, remoting.ResSystemError, err.Error())
		return
	}
	res := req.NewResponse(remoting.ResSuccess, "")
	res.ExtFields = map[string]string{"offset": strconv.FormatInt(off, 10)}
	c.reply(req, res)
}

// pullRequest is what a PULL_MESSAGE asks for.
type pullRequest struct {
	req      *remoting.Command
	group    string
	topic    string
	queue    int
	part     string
	offset   int64
	max      int
	suspend  time.Duration // zero: answer at once
	sub      subscription
	received time.Time
}

func (c *conn) pull(req *remoting.Command) {
	p := pullRequest{req: req, group: req.ExtFields["consumerGroup"], received: time.Now()}
	var ok bool
	if p.offset, ok = extInt(req, "queueOffset"); !ok {
		c.missing(req, "queueOffset")
		return
	}
	n, _ := extInt(req, "maxMsgNums")
	p.max = int(min(max(n, 1), 32))
	sysFlag, _ := extInt(req, "sysFlag")
	if sysFlag&pullSuspend != 0 {
		t, _ := extInt(req, "suspendTimeoutMillis")
		p.suspend = time.Duration(min(max(t, 0), 60000)) * time.Millisecond
	}
	if c.pulls.Add(1) > maxHeldPulls {
		c.pulls.Add(-1)
		c.errorReply(req, remoting.ResSystemBusy, "[PCBUSY_CLEAN_QUEUE]broker busy, too many pulls held on this connection")
		return
	}
	c.async(func() {
		defer c.pulls.Add(-1)
		var info bridge.TopicInfo
		if p.topic, p.queue, info, ok = c.queueOf(req); !ok {
			return
		}
		p.part = partition(info.Name, info.Partitions, p.queue)
		if sysFlag&pullCommitOffset != 0 && p.group != "" {
			if co, ok := extInt(req, "commitOffset"); ok && co >= 0 {
				if err := c.h.commitOffset(p.group, p.topic, p.queue, co); err != nil {
					c.h.log.Debug("pull: commit offset", zap.Error(err))
				}
			}
		}
		if sysFlag&pullSubscription != 0 {
			// The pull's own subscription (lite pull consumers). A SQL92 expression is
			// compiled for the pull; one that does not compile is refused. (The real broker
			// then runs the pull with no filter at all, as its assert is off: everything
			// would be delivered.)
			p.sub = newSubscription(req.ExtFields["expressionType"], req.ExtFields["subscription"])
			if p.sub.err != nil || p.sub.typ != exprTag && p.sub.expr == "" {
				c.errorReply(req, remoting.ResSubscriptionParseFailed, "parse the consumer's subscription failed")
				return
			}
		} else {
			sub, ok := c.h.subs.get(p.group, p.topic)
			if !ok {
				c.errorReply(req, remoting.ResSubscriptionNotExist, "the consumer's subscription not exist")
				return
			}
			if sub.err != nil {
				c.errorReply(req, remoting.ResFilterDataNotExist, "The broker's consumer filter data is not exist!Your expression may be wrong!")
				return
			}
			p.sub = sub
		}
		c.servePull(&p)
	})
}

// pullAnswer is a PULL_MESSAGE response.
func (c *conn) pullAnswer(p *pullRequest, code int32, status string, next int64, rng bridge.IndexRange, body []byte) {
	res := p.req.NewResponse(code, status)
	res.ExtFields = map[string]string{
		"suggestWhichBrokerId": "0",
		"nextBeginOffset":      strconv.FormatInt(next, 10),
		"minOffset":            strconv.FormatInt(rng.First, 10),
		"maxOffset":            strconv.FormatInt(rng.Next, 10),
		"topicSysFlag":         "0",
		"groupSysFlag":         "0",
	}
	res.Body = body
	c.reply(p.req, res)
}

// servePull answers a pull from the queue's messages at p.offset: those that match its
// filter, up to its count and maxPullBytes; at the end of the queue it holds the pull (long
// polling) until a message arrives or the suspend timeout passes.
func (c *conn) servePull(p *pullRequest) {
	// The queue's extent from the cache while it is fresh and the offset inside it (a
	// consumer reading on); else from the backend (an admin call, 8-25 ms on Pulsar).
	rng, fresh := c.h.ranges.get(p.part)
	if !fresh || p.offset < rng.First || p.offset > rng.Next || (p.offset == rng.Next && p.suspend == 0) {
		ctx, cancel := c.opCtx()
		var err error
		rng, err = c.h.admin.IndexRange(ctx, p.part)
		cancel()
		if err != nil {
			c.errorReply(p.req, remoting.ResSystemError, err.Error())
			return
		}
		c.h.ranges.set(p.part, rng)
	}
	switch {
	case p.offset < rng.First:
		c.pullAnswer(p, remoting.ResPullOffsetMoved, "OFFSET_TOO_SMALL", rng.First, rng, nil)
		return
	case p.offset > rng.Next:
		c.pullAnswer(p, remoting.ResPullOffsetMoved, "OFFSET_OVERFLOW_BADLY", rng.Next, rng, nil)
		return
	case p.offset == rng.Next && p.suspend == 0:
		c.pullAnswer(p, remoting.ResPullNotFound, "OFFSET_OVERFLOW_ONE", p.offset, rng, nil)
		return
	}
	cur, release, err := c.cursor(p.part, p.offset)
	if err != nil {
		c.errorReply(p.req, remoting.ResSystemError, err.Error())
		return
	}
	defer release()
	deadline := p.received.Add(p.suspend)
	var (
		body    []byte
		count   int
		next    = p.offset
		skipped bool
	)
	for count < p.max && len(body) < maxPullBytes {
		// Wait only for the first message past the known end, and only while the pull may be held.
		var wait time.Duration
		switch {
		case next < rng.Next:
			wait = 10 * time.Second
		case count == 0 && !skipped:
			wait = time.Until(deadline)
		default:
			// Past the known end with something to answer: only what the reader
			// already holds.
			wait = 2 * time.Millisecond
		}
		if wait <= 0 {
			break
		}
		rctx, rcancel := context.WithTimeout(c.ctx, wait)
		m, err := cur.next(rctx)
		rcancel()
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				c.errorReply(p.req, remoting.ResSystemError, err.Error())
				return
			}
			break
		}
		if m.Index >= rng.Next {
			rng.Next = m.Index + 1
			c.h.ranges.observe(p.part, rng.Next)
		}
		next = m.Index + 1
		if m.Properties[bridge.TxnMarkerProperty] != "" || !p.sub.match(m) {
			skipped = true
			continue
		}
		body = c.h.appendRecord(body, p.topic, p.queue, m)
		count++
	}
	switch {
	case count > 0:
		c.h.o.Metrics.Delivered(count, len(body))
		c.pullAnswer(p, remoting.ResSuccess, "FOUND", next, rng, body)
	case skipped:
		c.pullAnswer(p, remoting.ResPullRetryImmediately, "NO_MATCHED_MESSAGE", next, rng, nil)
	default:
		status := "OFFSET_OVERFLOW_ONE"
		if rng.Next == 0 {
			status = "NO_MESSAGE_IN_QUEUE"
		}
		c.pullAnswer(p, remoting.ResPullNotFound, status, next, rng, nil)
	}
}

// appendRecord appends m as a stored record of topic's queue.
func (h *Handler) appendRecord(b []byte, topic string, queue int, m *bridge.Message) []byte {
	props, flag, reconsume, born := fromStore(m)
	if born == "" {
		born = "0.0.0.0:0"
	}
	return appendStored(b, &storedRecord{
		queueID:        int32(queue),
		flag:           flag,
		queueOffset:    m.Index,
		physicalOffset: physicalOffset(topic, queue, m.Index),
		bornTimestamp:  bornTime(m).UnixMilli(),
		bornHost:       hostBytes(born),
		storeTimestamp: m.PublishTime.UnixMilli(),
		storeHost:      h.storeHost,
		reconsumeTimes: reconsume,
		body:           m.Value,
		topic:          topic,
		properties:     props,
	})
}

// cursor is a reader of one queue kept between pulls, so a consumer reading on does not
// open a reader per pull.
type cursor struct {
	r      bridge.Reader
	pos    int64 // index of the next message next returns
	peeked *bridge.Message
	busy   bool
	used   time.Time // last released
}

// cursorIdle is how long a cursor stays open unused: a queue rebalanced to another member
// is not pulled here any more.
const cursorIdle = 2 * time.Minute

func (cu *cursor) next(ctx context.Context) (*bridge.Message, error) {
	if m := cu.peeked; m != nil {
		cu.peeked = nil
		cu.pos = m.Index + 1
		return m, nil
	}
	m, err := cu.r.Next(ctx)
	if err != nil {
		return nil, err
	}
	cu.pos = m.Index + 1
	return m, nil
}

func (cu *cursor) unread(m *bridge.Message) {
	cu.peeked = m
	cu.pos = m.Index
}

// maxCursors bounds the readers one connection keeps open.
const maxCursors = 1024

// cursor returns a reader of part positioned at offset and what to call when done with it.
func (c *conn) cursor(part string, offset int64) (*cursor, func(), error) {
	c.mu.Lock()
	var idle []*cursor
	if now := time.Now(); now.Sub(c.swept) > cursorIdle/2 {
		c.swept = now
		for k, cu := range c.cursors {
			if !cu.busy && now.Sub(cu.used) > cursorIdle {
				idle = append(idle, cu)
				delete(c.cursors, k)
			}
		}
	}
	cu := c.cursors[part]
	keep := true
	switch {
	case cu != nil && !cu.busy:
		cu.busy = true
	case cu != nil || len(c.cursors) >= maxCursors:
		cu, keep = nil, false // a second pull of one queue at once, or too many: a reader of its own
	}
	c.mu.Unlock()
	for _, i := range idle {
		i.r.Close()
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	if cu == nil {
		r, err := c.h.b.CreateReader(ctx, bridge.ReaderOptions{Topic: part, Start: bridge.StartAtIndex(offset)})
		if err != nil {
			return nil, nil, err
		}
		cu = &cursor{r: r, pos: offset, busy: true}
		if keep {
			c.mu.Lock()
			if c.cursors[part] == nil && c.ctx.Err() == nil {
				c.cursors[part] = cu
			} else {
				keep = false
			}
			c.mu.Unlock()
		}
	} else if cu.pos != offset {
		cu.peeked = nil
		if err := cu.r.Seek(ctx, bridge.StartAtIndex(offset)); err != nil {
			c.mu.Lock()
			delete(c.cursors, part)
			c.mu.Unlock()
			cu.r.Close()
			return nil, nil, err
		}
		cu.pos = offset
	}
	release := func() {
		if !keep {
			cu.r.Close()
			return
		}
		c.mu.Lock()
		cu.busy, cu.used = false, time.Now()
		c.mu.Unlock()
	}
	return cu, release, nil
}

func (c *conn) closeCursors() {
	c.mu.Lock()
	cs := c.cursors
	c.cursors = map[string]*cursor{}
	c.mu.Unlock()
	for _, cu := range cs {
		cu.r.Close()
	}
}

// readAt reads the message at index of a partition, for send-back and VIEW_MESSAGE_BY_ID.
func (h *Handler) readAt(ctx context.Context, part string, index int64) (*bridge.Message, error) {
	r, err := h.b.CreateReader(ctx, bridge.ReaderOptions{Topic: part, Start: bridge.StartAtIndex(index), ReceiverQueueSize: 1})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := r.Next(rctx)
	if err != nil {
		return nil, err
	}
	if m.Index != index {
		return nil, errNoMessage
	}
	return m, nil
}

var errNoMessage = errors.New("no message at that offset")

// rangeCache keeps queues' extents a short while: a pull of a consumer reading on needs no
// admin call. Messages read or written here move a cached end on at once; a stale end is
// harmless to a held pull (it waits on the reader, which returns what exists).
type rangeCache struct {
	mu sync.Mutex
	m  map[string]cachedRange
}

type cachedRange struct {
	rng bridge.IndexRange
	at  time.Time
}

const rangeCacheTTL = 2 * time.Second

func (rc *rangeCache) get(part string) (bridge.IndexRange, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	cr, ok := rc.m[part]
	return cr.rng, ok && time.Since(cr.at) < rangeCacheTTL
}

func (rc *rangeCache) set(part string, rng bridge.IndexRange) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.m == nil || len(rc.m) > 100000 {
		rc.m = map[string]cachedRange{}
	}
	rc.m[part] = cachedRange{rng: rng, at: time.Now()}
}

// observe moves a cached end on to next, without making the entry fresher.
func (rc *rangeCache) observe(part string, next int64) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if cr, ok := rc.m[part]; ok && cr.rng.Next < next {
		cr.rng.Next = next
		rc.m[part] = cr
	}
}
