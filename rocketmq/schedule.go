package rocketmq

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Delayed messages are kept as the broker keeps them (SCHEDULE_TOPIC_XXXX): one schedule
// topic per delay level, so each is FIFO by due time, and a mover per level that sends its
// head to the real topic and queue when due. Until then no protocol sees the message in its
// real topic. A delivery time (TIMER_*) takes the largest level not longer than what is left
// and is scheduled again with the remainder when it comes out (1 s precision, as the timer).

// scheduleTopic is the local name of a level's schedule topic: the '.' is outside RocketMQ's
// topic alphabet, so no RocketMQ topic can clash with it (and the topic list leaves it out).
func scheduleTopic(level int) string { return "rocketmq.schedule-" + strconv.Itoa(level) }

// scheduleSubscription is the movers' subscription: Exclusive, so one gateway on the backend
// moves a level at a time and another takes over when it goes.
const scheduleSubscription = "rocketmq-schedule-mover"

// Properties of a schedule entry, removed when it is moved.
const (
	propRealTopic = propPrefix + "schedule.topic"    // RocketMQ topic the message goes to
	propRealQueue = propPrefix + "schedule.queue"    // its queue
	propTimerOut  = propPrefix + "schedule.timer-at" // ms: a delivery time's final due time
	// propDeliverAt (ms) is the entry's due time for this hop.
)

// levelFor is the level a delay of d goes on: the largest not longer than d (level 1 for less).
func levelFor(d time.Duration) int {
	l := 1
	for i, ld := range delayLevels {
		if ld <= d {
			l = i + 1
		}
	}
	return l
}

// scheduled is a delayed message to be sent to its schedule topic.
type scheduled struct {
	level int       // 1..18
	due   time.Time // this hop's due time
	timer time.Time // a delivery time's final due time (zero for delay levels)
}

// planDelay is where a message with these properties waits: ok false when it is due now.
// A DELAY level wins over TIMER_* properties, as on the broker.
func planDelay(props map[string]string, now time.Time) (s scheduled, ok bool) {
	at, _ := deliverAt(props, now)
	if at.IsZero() {
		return s, false
	}
	if v, isLevel := props[mcDelay]; isLevel {
		n, _ := strconv.Atoi(v)
		s.level = min(n, len(delayLevels))
		s.due = at
		return s, true
	}
	// The timer's precision is 1 s: the time rounded down to its second.
	at = at.Truncate(time.Second)
	if !at.After(now) {
		return s, false
	}
	return nextHop(at, now), true
}

// nextHop is the schedule step for a delivery time at, seen at now.
func nextHop(at, now time.Time) scheduled {
	left := at.Sub(now)
	l := levelFor(left)
	return scheduled{level: l, due: minTime(now.Add(delayLevels[l-1]), at), timer: at}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// scheduleEntry turns a message for topic's queue into its schedule entry.
func scheduleEntry(out *bridge.OutMessage, topic string, queue int, s scheduled) {
	out.Properties[propRealTopic] = topic
	out.Properties[propRealQueue] = strconv.Itoa(queue)
	out.Properties[propDeliverAt] = strconv.FormatInt(s.due.UnixMilli(), 10)
	if !s.timer.IsZero() {
		out.Properties[propTimerOut] = strconv.FormatInt(s.timer.UnixMilli(), 10)
		out.Properties[propPrefix+"TIMER_ENQUEUE_MS"] = strconv.FormatInt(time.Now().UnixMilli(), 10)
	} else {
		// A delay level wins; the broker drops the timer properties then.
		out.Properties[propPrefix+mcDelay] = strconv.Itoa(s.level)
		for _, k := range []string{mcTimerDeliverMS, mcTimerDelaySec, mcTimerDelayMS} {
			delete(out.Properties, propPrefix+k)
		}
	}
}

// scheduleReady makes level's schedule topic exist before a send to it and wakes this
// gateway's mover for it. Schedule topics are made on first use, so a gateway whose clients
// never delay adds no topics that other protocols would list.
func (h *Handler) scheduleReady(ctx context.Context, level int) error {
	if h.movers.ready[level-1].Load() {
		return nil
	}
	if err := h.ensureSchedule(ctx, h.pulsarTopic(scheduleTopic(level))); err != nil {
		return err
	}
	h.movers.ready[level-1].Store(true)
	select {
	case h.movers.kick[level-1] <- struct{}{}:
	default:
	}
	return nil
}

// produceSync is produce waiting for the result.
func (h *Handler) produceSync(ctx context.Context, part string, msgs []bridge.OutMessage) error {
	done := make(chan error, 1)
	h.produce(ctx, part, msgs, func(_ bridge.SendResult, err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// movers runs one mover per level until Close.
type movers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ready  [len(delayLevels)]atomic.Bool   // the level's topic is known to exist
	kick   [len(delayLevels)]chan struct{} // wakes a mover waiting for its topic
}

// scheduleLook is how often a mover whose topic does not exist yet looks again (another
// gateway may make it).
const scheduleLook = 10 * time.Second

// scheduleBusyLook is how often a gateway tries for a level another gateway moves: every
// gateway tries each level in use, so this bounds the subscribe attempts the backend sees.
const scheduleBusyLook = 5 * time.Second

func (h *Handler) startMovers() {
	ctx, cancel := context.WithCancel(context.Background())
	h.movers.cancel = cancel
	for l := 1; l <= len(delayLevels); l++ {
		h.movers.kick[l-1] = make(chan struct{}, 1)
		h.movers.wg.Add(1)
		go func() {
			defer h.movers.wg.Done()
			h.moveLevel(ctx, l)
		}()
	}
}

func (h *Handler) stopMovers() {
	if h.movers.cancel != nil {
		h.movers.cancel()
	}
	h.movers.wg.Wait()
}

// moveLevel owns level's schedule topic while it can: another gateway holding the Exclusive
// subscription makes it try again later; an error closes the consumer so the unacknowledged
// head comes again.
func (h *Handler) moveLevel(ctx context.Context, level int) {
	full := h.pulsarTopic(scheduleTopic(level))
	for ctx.Err() == nil {
		_, err := h.admin.Topic(ctx, full)
		if errors.Is(err, bridge.ErrTopicNotFound) {
			select {
			case <-ctx.Done():
			case <-h.movers.kick[level-1]:
			case <-time.After(scheduleLook):
			}
			continue
		}
		var c bridge.Consumer
		if err == nil {
			c, err = h.b.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{full}, Subscription: scheduleSubscription,
				Type: bridge.Exclusive, InitialPosition: bridge.Earliest, ReceiverQueueSize: 8})
		}
		if err == nil {
			err = h.moveFrom(ctx, c, level)
			c.Close()
		}
		if ctx.Err() != nil {
			return
		}
		h.log.Debug("schedule mover", zap.Int("level", level), zap.Error(err))
		// Another gateway moving this level is the normal case with many gateways: look
		// again less often (a takeover comes that much later when it goes).
		wait := 2 * time.Second
		if errors.Is(err, bridge.ErrConsumerBusy) {
			wait = scheduleBusyLook
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

func (h *Handler) ensureSchedule(ctx context.Context, full string) error {
	_, err := h.admin.Topic(ctx, full)
	if errors.Is(err, bridge.ErrTopicNotFound) {
		err = h.admin.CreateTopic(ctx, full, 0)
		if errors.Is(err, bridge.ErrTopicExists) {
			err = nil
		}
	}
	return err
}

// moveFrom moves c's messages, head first, each when due.
func (h *Handler) moveFrom(ctx context.Context, c bridge.Consumer, level int) error {
	for {
		m, err := c.Receive(ctx)
		if err != nil {
			return err
		}
		ms, _ := strconv.ParseInt(m.Properties[propDeliverAt], 10, 64)
		if d := time.Until(time.UnixMilli(ms)); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		if err := h.move(ctx, m); err != nil {
			return err
		}
		if f := h.o.afterMove; f != nil && !f(ctx) {
			return errors.New("move left unacknowledged")
		}
		if err := c.Ack(m.ID); err != nil {
			return err
		}
	}
}

// move sends a due schedule entry on: to its real topic and queue with the properties the
// broker leaves, or, for a delivery time still ahead, to the next hop's level.
func (h *Handler) move(ctx context.Context, m *bridge.Message) error {
	out := bridge.OutMessage{Key: m.Key, Value: m.Value, EventTime: m.EventTime, Properties: make(map[string]string, len(m.Properties)+3)}
	for k, v := range m.Properties {
		out.Properties[k] = v
	}
	topic := out.Properties[propRealTopic]
	queue, _ := strconv.Atoi(out.Properties[propRealQueue])
	now := time.Now()
	if v, ok := out.Properties[propTimerOut]; ok {
		ms, _ := strconv.ParseInt(v, 10, 64)
		if at := time.UnixMilli(ms); at.Sub(now) >= time.Second/2 {
			s := nextHop(at, now)
			out.Properties[propDeliverAt] = strconv.FormatInt(s.due.UnixMilli(), 10)
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := h.scheduleReady(sctx, s.level); err != nil {
				return err
			}
			return h.produceSync(sctx, h.pulsarTopic(scheduleTopic(s.level)), []bridge.OutMessage{out})
		}
		out.Properties[propPrefix+"TIMER_OUT_MS"] = v
		out.Properties[propPrefix+"TIMER_DEQUEUE_MS"] = strconv.FormatInt(now.UnixMilli(), 10)
	}
	delete(out.Properties, propRealTopic)
	delete(out.Properties, propRealQueue)
	delete(out.Properties, propTimerOut)
	delete(out.Properties, propDeliverAt)
	out.Properties[propPrefix+mcRealTopic] = topic
	out.Properties[propPrefix+mcRealQID] = strconv.Itoa(queue)
	if validTopic(topic) != "" {
		// Not written by this handler (another protocol wrote to the schedule topic):
		// nowhere to move it.
		h.log.Warn("schedule entry without a valid real topic dropped", zap.String("topic", topic))
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := h.sendTopic(sctx, topic, sendHeader{defaultQueueNums: queue + 1})
	if errors.Is(err, bridge.ErrTopicNotFound) {
		// Deleted while the message waited: the broker's store takes it all the same.
		info, err = h.ensureTopic(sctx, topic, queue+1)
	}
	if err != nil {
		return err
	}
	if queue >= queueCount(info) {
		queue = 0
	}
	part := partition(info.Name, info.Partitions, queue)
	done := make(chan error, 1)
	h.produce(sctx, part, []bridge.OutMessage{out}, func(res bridge.SendResult, err error) {
		if err == nil {
			h.ranges.observe(part, res.Index+1)
		}
		done <- err
	})
	select {
	case err = <-done:
	case <-sctx.Done():
		err = sctx.Err()
	}
	return err
}
