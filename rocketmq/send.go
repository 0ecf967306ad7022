package rocketmq

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// sendHeader is SendMessageRequestHeader, from its long (SEND_MESSAGE) or one-letter
// (SEND_MESSAGE_V2, SEND_BATCH_MESSAGE) field names.
type sendHeader struct {
	topic             string
	queueID           int
	sysFlag           int32
	bornTimestamp     int64
	flag              int32
	properties        string
	reconsumeTimes    int32
	maxReconsumeTimes int32
	defaultQueueNums  int
	hasMaxReconsume   bool
	missing           string
}

var sendFieldsV1 = [...]string{"topic", "queueId", "sysFlag", "bornTimestamp", "flag", "properties", "reconsumeTimes", "maxReconsumeTimes", "defaultTopicQueueNums"}
var sendFieldsV2 = [...]string{"b", "e", "f", "g", "h", "i", "j", "l", "d"}

func parseSendHeader(req *remoting.Command) sendHeader {
	names := sendFieldsV1
	if req.Code != remoting.ReqSendMessage {
		names = sendFieldsV2
	}
	var h sendHeader
	get := func(i int, required bool) int64 {
		n, ok := extInt(req, names[i])
		if !ok && required && h.missing == "" {
			h.missing = sendFieldsV1[i]
		}
		return n
	}
	var ok bool
	if h.topic, ok = req.ExtFields[names[0]]; !ok {
		h.missing = "topic"
	}
	h.queueID = int(get(1, true))
	h.sysFlag = int32(get(2, true))
	h.bornTimestamp = get(3, true)
	h.flag = int32(get(4, true))
	h.properties = req.ExtFields[names[5]]
	h.reconsumeTimes = int32(get(6, false))
	var m int64
	m, h.hasMaxReconsume = extInt(req, names[7])
	h.maxReconsumeTimes = int32(m)
	h.defaultQueueNums = int(get(8, false))
	return h
}

// delayLevels are the broker's messageDelayLevel (1s 5s 10s 30s 1m 2m ... 2h).
var delayLevels = [...]time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 6 * time.Minute,
	7 * time.Minute, 8 * time.Minute, 9 * time.Minute, 10 * time.Minute, 20 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour}

// timerMaxDelay is the broker's timerMaxDelaySec (3 days).
const timerMaxDelay = 3 * 24 * time.Hour

// deliverAt is when a message with these properties may be delivered (zero: now), or an
// error remark for a delivery time past the timer's reach.
func deliverAt(props map[string]string, now time.Time) (time.Time, string) {
	if v, ok := props[mcDelay]; ok {
		n, _ := strconv.Atoi(v)
		if n <= 0 {
			return time.Time{}, ""
		}
		n = min(n, len(delayLevels))
		return now.Add(delayLevels[n-1]), ""
	}
	var at time.Time
	if v, ok := props[mcTimerDeliverMS]; ok {
		n, _ := strconv.ParseInt(v, 10, 64)
		at = time.UnixMilli(n)
	} else if v, ok := props[mcTimerDelaySec]; ok {
		n, _ := strconv.ParseInt(v, 10, 64)
		at = now.Add(time.Duration(n) * time.Second)
	} else if v, ok := props[mcTimerDelayMS]; ok {
		n, _ := strconv.ParseInt(v, 10, 64)
		at = now.Add(time.Duration(n) * time.Millisecond)
	} else {
		return time.Time{}, ""
	}
	if at.Sub(now) > timerMaxDelay {
		return time.Time{}, "timer message illegal: the delay is over the max delay " + strconv.Itoa(int(timerMaxDelay/time.Second)) + "s"
	}
	if !at.After(now) {
		return time.Time{}, ""
	}
	return at, ""
}

func (c *conn) send(req *remoting.Command) {
	h := parseSendHeader(req)
	if h.missing != "" {
		c.missing(req, h.missing)
		return
	}
	if msg := validTopic(h.topic); msg != "" {
		c.errorReply(req, remoting.ResSystemError, msg)
		return
	}
	if h.topic == autoCreateTopicKey {
		c.errorReply(req, remoting.ResNoPermission, "Sending message to topic["+h.topic+"] is forbidden.")
		return
	}
	props := propertiesMap(h.properties)
	// Transactional half messages need the broker's transaction service, which the gateway
	// has not: refused as a broker with rejectTransactionMessage, rather than stored as
	// ordinary messages that consumers would see before the commit (and after a rollback).
	if h.sysFlag&sysFlagTransactionPrepared != 0 || props[mcTranMsg] == "true" {
		c.errorReply(req, remoting.ResNoPermission, "the broker["+c.h.o.Advertised+"] sending transaction message is forbidden")
		return
	}
	if len(h.properties) > 32767 {
		c.errorReply(req, remoting.ResMessageIllegal, "the message properties length over max value, MAX: 32767")
		return
	}
	now := time.Now()
	if _, bad := deliverAt(props, now); bad != "" {
		c.errorReply(req, remoting.ResMessageIllegal, bad)
		return
	}
	delay, delayed := planDelay(props, now)
	topic := h.topic
	// A re-send to %RETRY% past the maximum goes to the dead letter topic
	// (SendMessageProcessor.handleRetryAndDLQ).
	if strings.HasPrefix(topic, retryPrefix) && h.hasMaxReconsume {
		maxRe := h.maxReconsumeTimes
		if maxRe < 0 {
			maxRe = defaultMaxReconsume
		}
		if h.reconsumeTimes > maxRe {
			topic = dlqPrefix + strings.TrimPrefix(topic, retryPrefix)
			h.queueID = 0
			delayed = false
		}
	}
	var msgs []bridge.OutMessage
	if req.Code == remoting.ReqSendBatchMessage {
		batch, err := decodeBatch(req.Body)
		if err != nil {
			c.errorReply(req, remoting.ResMessageIllegal, err.Error())
			return
		}
		for _, bm := range batch {
			mp := propertiesMap(bm.properties)
			if len(bm.body) > maxMessageSize {
				c.errorReply(req, remoting.ResMessageIllegal, errBodyTooLarge.Error())
				return
			}
			if _, bad := deliverAt(mp, now); bad != "" {
				c.errorReply(req, remoting.ResMessageIllegal, bad)
				return
			}
			// As the clients refuse them ("TimeDelayLevel is not supported for batched
			// messages"): a batch goes to one queue at once.
			if _, d := planDelay(mp, now); d {
				c.errorReply(req, remoting.ResMessageIllegal, "TimeDelayLevel is not supported for batched messages")
				return
			}
			msgs = append(msgs, c.outMessage(bm.body, mp, bm.flag, h))
		}
	} else {
		body, err := uncompress(req.Body, h.sysFlag)
		if err != nil {
			c.errorReply(req, remoting.ResMessageIllegal, err.Error())
			return
		}
		if len(body) > maxMessageSize {
			c.errorReply(req, remoting.ResMessageIllegal, errBodyTooLarge.Error())
			return
		}
		msgs = append(msgs, c.outMessage(body, props, h.flag, h))
		delayed = delayed && !strings.HasPrefix(topic, dlqPrefix)
	}

	ctx, cancel := c.opCtx()
	info, err := c.h.sendTopic(ctx, topic, h)
	cancel()
	if err != nil {
		if errors.Is(err, bridge.ErrTopicNotFound) {
			c.errorReply(req, remoting.ResTopicNotExist, "topic["+topic+"] not exist, apply first please! https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.")
		} else {
			c.errorReply(req, remoting.ResSystemError, err.Error())
		}
		return
	}
	if h.queueID < 0 || h.queueID >= queueCount(info) {
		c.errorReply(req, remoting.ResSystemError, "request queueId["+strconv.Itoa(h.queueID)+"] is illegal, topic: "+topic+" writeQueueNums: "+strconv.Itoa(queueCount(info)))
		return
	}
	part := partition(info.Name, info.Partitions, h.queueID)
	idTopic, idQueue := topic, h.queueID
	if delayed {
		// Stored on its level's schedule topic, acknowledged once that is durable; the
		// answer's queueOffset is the schedule offset, as the broker's.
		sctx, scancel := c.opCtx()
		err := c.h.scheduleReady(sctx, delay.level)
		scancel()
		if err != nil {
			c.errorReply(req, remoting.ResSystemError, err.Error())
			return
		}
		scheduleEntry(&msgs[0], topic, h.queueID, delay)
		idTopic, idQueue = scheduleTopic(delay.level), 0
		part = c.h.pulsarTopic(idTopic)
	}
	bytes := 0
	for i := range msgs {
		bytes += len(msgs[i].Value)
	}
	arrived := now
	// Not the connection's context: a oneway send is stored though its client closes at once.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(c.ctx), 30*time.Second)
	c.h.produce(sctx, part, msgs, func(res bridge.SendResult, err error) {
		scancel()
		if err != nil {
			c.h.log.Warn("send", zap.String("topic", part), zap.Error(err))
			go c.errorReply(req, remoting.ResSystemError, "store failed: "+err.Error())
			return
		}
		c.h.o.Metrics.Produced(len(msgs), bytes, arrived)
		if !delayed {
			c.h.ranges.observe(part, res.Index+int64(len(msgs)))
		}
		r := req.NewResponse(remoting.ResSuccess, "")
		ids := make([]string, len(msgs))
		for i := range msgs {
			ids[i] = offsetMsgID(c.h.storeHost, physicalOffset(idTopic, idQueue, res.Index+int64(i)))
		}
		r.ExtFields = map[string]string{
			"msgId":       strings.Join(ids, ","),
			"queueId":     strconv.Itoa(h.queueID),
			"queueOffset": strconv.FormatInt(res.Index, 10),
			"MSG_REGION":  "DefaultRegion",
			"TRACE_ON":    "true",
		}
		if len(msgs) == 1 {
			if u, ok := msgs[0].Properties[propPrefix+mcUniqKey]; ok {
				r.ExtFields["transactionId"] = u
			}
		}
		go c.reply(req, r)
	})
}

// defaultMaxReconsume is the clients' default maxReconsumeTimes.
const defaultMaxReconsume = 16

// outMessage is a sent message as the store keeps it.
func (c *conn) outMessage(body []byte, props map[string]string, flag int32, h sendHeader) bridge.OutMessage {
	out := bridge.OutMessage{Value: body, Properties: make(map[string]string, len(props)+3)}
	if h.bornTimestamp > 0 {
		out.EventTime = time.UnixMilli(h.bornTimestamp)
	}
	toStore(props, &out)
	if flag != 0 {
		out.Properties[propFlag] = strconv.Itoa(int(flag))
	}
	if h.reconsumeTimes > 0 {
		out.Properties[propReconsumeTimes] = strconv.Itoa(int(h.reconsumeTimes))
	}
	out.Properties[propBornHost] = c.remote
	return out
}

// sendTopic is the topic a send goes to, created when allowed: %RETRY% and %DLQ% topics with
// one queue, others with the queues the producer asks for (at most 8, TBW102's).
func (h *Handler) sendTopic(ctx context.Context, topic string, sh sendHeader) (bridge.TopicInfo, error) {
	info, err := h.cachedTopic(ctx, topic)
	if !errors.Is(err, bridge.ErrTopicNotFound) {
		return info, err
	}
	n := 1
	if !isRetryOrDLQ(topic) {
		if !h.o.AutoCreateTopics {
			return info, err
		}
		n = min(max(sh.defaultQueueNums, 1), 8)
	}
	info, err = h.ensureTopic(ctx, topic, n)
	if err == nil {
		h.cacheTopic(topic, info)
	}
	return info, err
}

// topicCache keeps topic descriptions for a while, so sends and pulls do not ask the backend
// each time; a partition count change shows within topicCacheTTL.
type topicCache struct {
	mu sync.Mutex
	m  map[string]cachedTopic
}

type cachedTopic struct {
	info bridge.TopicInfo
	at   time.Time
}

const topicCacheTTL = 30 * time.Second

func (h *Handler) cachedTopic(ctx context.Context, topic string) (bridge.TopicInfo, error) {
	h.tcache.mu.Lock()
	ct, ok := h.tcache.m[topic]
	h.tcache.mu.Unlock()
	if ok && time.Since(ct.at) < topicCacheTTL {
		return ct.info, nil
	}
	info, err := h.topicInfo(ctx, topic)
	if err == nil {
		h.cacheTopic(topic, info)
	}
	return info, err
}

func (h *Handler) cacheTopic(topic string, info bridge.TopicInfo) {
	h.tcache.mu.Lock()
	if h.tcache.m == nil {
		h.tcache.m = map[string]cachedTopic{}
	}
	if len(h.tcache.m) > 10000 {
		clear(h.tcache.m)
	}
	h.tcache.m[topic] = cachedTopic{info: info, at: time.Now()}
	h.tcache.mu.Unlock()
}

// produce sends msgs to one partition back to back (consecutive indexes) and calls cb once,
// with the first message's result, when all are durable or one failed.
func (h *Handler) produce(ctx context.Context, part string, msgs []bridge.OutMessage, cb bridge.SendCallback) {
	o := bridge.ProducerOptions{Topic: part}
	if len(msgs) == 1 {
		h.producers.SendAsync(ctx, o, &msgs[0], cb)
		return
	}
	lease, err := h.producers.Acquire(ctx, o)
	if err != nil {
		cb(bridge.SendResult{}, err)
		return
	}
	defer lease.Release()
	lease.Lock()
	defer lease.Unlock()
	if bp, ok := lease.Producer().(bridge.BatchProducer); ok {
		bp.SendBatch(ctx, msgs, cb)
		return
	}
	bridge.SendEach(ctx, lease.Producer(), msgs, cb)
}
