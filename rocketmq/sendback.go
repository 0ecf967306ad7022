package rocketmq

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// locate finds the topic and queue of a physical offset the gateway handed out: the hint's
// topics first (send-back names the original topic), then the topics this gateway has seen.
func (h *Handler) locate(ctx context.Context, phys int64, hints ...string) (topic string, queue int, index int64, info bridge.TopicInfo, err error) {
	hash, queue, index := splitPhysical(phys)
	for _, t := range hints {
		if t != "" && topicHash(t) == hash {
			if info, err = h.cachedTopic(ctx, t); err == nil {
				return t, queue, index, info, nil
			}
		}
	}
	h.mu.Lock()
	topic = h.topics[hash]
	h.mu.Unlock()
	if topic == "" {
		return "", 0, 0, info, errNoMessage
	}
	info, err = h.cachedTopic(ctx, topic)
	return topic, queue, index, info, err
}

// sendBack is CONSUMER_SEND_MSG_BACK: a message a consumer failed goes to %RETRY%group with
// its reconsume count raised and a delay (3 + count levels unless the client chose one), or
// to %DLQ%group once the count reached the maximum (or delayLevel < 0).
func (c *conn) sendBack(req *remoting.Command) {
	phys, ok := extInt(req, "offset")
	group := req.ExtFields["group"]
	if !ok || group == "" {
		c.missing(req, "offset")
		return
	}
	delayLevel, _ := extInt(req, "delayLevel")
	maxRe := int32(defaultMaxReconsume)
	if v, ok := extInt(req, "maxReconsumeTimes"); ok && v >= 0 {
		maxRe = int32(v)
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	topic, queue, index, info, err := c.h.locate(ctx, phys, req.ExtFields["originTopic"], retryPrefix+group)
	var m *bridge.Message
	if err == nil && queue < queueCount(info) {
		m, err = c.h.readAt(ctx, partition(info.Name, info.Partitions, queue), index)
	}
	if err != nil || m == nil {
		c.errorReply(req, remoting.ResSystemError, "look message by offset failed, "+strconv.FormatInt(phys, 10))
		return
	}
	_, _, reconsume, _ := fromStore(m)
	out := bridge.OutMessage{Key: m.Key, Value: m.Value, EventTime: m.EventTime, Properties: maps.Clone(m.Properties)}
	if out.Properties == nil {
		out.Properties = map[string]string{}
	}
	delete(out.Properties, propDeliverAt)
	if _, ok := out.Properties[propPrefix+mcRetryTopic]; !ok && !isRetryOrDLQ(topic) {
		out.Properties[propPrefix+mcRetryTopic] = topic
	}
	if _, ok := out.Properties[propPrefix+mcOriginMsgID]; !ok {
		if id := req.ExtFields["originMsgId"]; id != "" {
			out.Properties[propPrefix+mcOriginMsgID] = id
		}
	}
	out.Properties[propPrefix+mcWait] = "false"
	out.Properties[propReconsumeTimes] = strconv.Itoa(int(reconsume + 1))
	target := retryPrefix + group
	if reconsume >= maxRe || delayLevel < 0 {
		target = dlqPrefix + group
		delete(out.Properties, propPrefix+mcDelay)
	} else {
		if delayLevel == 0 {
			delayLevel = 3 + int64(reconsume)
		}
		level := int(min(delayLevel, int64(len(delayLevels))))
		scheduleEntry(&out, target, 0, scheduled{level: level, due: time.Now().Add(delayLevels[level-1])})
	}
	tinfo, err := c.h.sendTopic(ctx, target, sendHeader{})
	if err != nil {
		c.errorReply(req, remoting.ResSystemError, err.Error())
		return
	}
	part := partition(tinfo.Name, tinfo.Partitions, 0)
	if lv, ok := out.Properties[propPrefix+mcDelay]; ok && target != dlqPrefix+group {
		// Through the level's schedule topic, as the broker's retries.
		n, _ := strconv.Atoi(lv)
		part = c.h.pulsarTopic(scheduleTopic(n))
		if err = c.h.scheduleReady(ctx, n); err != nil {
			c.errorReply(req, remoting.ResSystemError, err.Error())
			return
		}
	}
	if err = c.h.produceSync(ctx, part, []bridge.OutMessage{out}); err != nil {
		c.errorReply(req, remoting.ResSystemError, err.Error())
		return
	}
	c.reply(req, req.NewResponse(remoting.ResSuccess, ""))
}

// viewMessage is VIEW_MESSAGE_BY_ID: the message at a physical offset, as a stored record.
func (c *conn) viewMessage(req *remoting.Command) {
	phys, ok := extInt(req, "offset")
	if !ok {
		c.missing(req, "offset")
		return
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	topic, queue, index, info, err := c.h.locate(ctx, phys)
	var m *bridge.Message
	if err == nil && queue < queueCount(info) {
		m, err = c.h.readAt(ctx, partition(info.Name, info.Partitions, queue), index)
	}
	if err != nil || m == nil {
		if err == nil || errors.Is(err, errNoMessage) || errors.Is(err, bridge.ErrTopicNotFound) || strings.Contains(err.Error(), "deadline") {
			c.errorReply(req, remoting.ResSystemError, "can not find message by the offset, "+strconv.FormatInt(phys, 10))
		} else {
			c.errorReply(req, remoting.ResSystemError, err.Error())
		}
		return
	}
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body = c.h.appendRecord(nil, topic, queue, m)
	c.reply(req, res)
}
