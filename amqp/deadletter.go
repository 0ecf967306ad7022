package amqp

import (
	"context"
	"strconv"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// policy is what a queue's arguments ask of its messages: a time to live (x-message-ttl),
// where rejected, expired or dropped ones go (x-dead-letter-exchange, -routing-key), length
// limits (args.go), priorities and the queue's own expiry.
type policy struct {
	queue    string
	ttl      time.Duration // 0: none
	hasTTL   bool
	dlx      string
	hasDLX   bool
	dlKey    string
	hasDLKey bool

	maxLen, maxBytes int64  // x-max-length, x-max-length-bytes; -1: none
	overflow         string // x-overflow: drop-head, reject-publish, reject-publish-dlx
	maxPriority      uint8  // x-max-priority; 0: not a priority queue
	expires          int64  // x-expires in ms; 0: never
	sac              bool   // x-single-active-consumer (sac.go)
}

func policyOf(name string, q queueRec) policy {
	p := policy{queue: name}
	args := decodeArgs(q.Args)
	p.parseLimits(args)
	if n, ok := asInt(args["x-message-ttl"]); ok && n >= 0 {
		p.ttl, p.hasTTL = time.Duration(n)*time.Millisecond, true
	}
	p.dlx, p.hasDLX = args["x-dead-letter-exchange"].(string)
	p.dlKey, p.hasDLKey = args["x-dead-letter-routing-key"].(string)
	p.sac, _ = args["x-single-active-consumer"].(bool)
	return p
}

// expired: the queue's TTL or the message's expiration (milliseconds, the lower wins) has
// passed since it was published. Expired messages are never delivered (RabbitMQ checks at
// the head of the queue; here at delivery, with the same effect for consumers).
func (p policy) expired(m *bridge.Message, now time.Time) bool {
	ttl, has := p.ttl, p.hasTTL
	if s := m.Properties[propPrefix+"expiration"]; s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			if d := time.Duration(n) * time.Millisecond; !has || d < ttl {
				ttl, has = d, true
			}
		}
	}
	return has && !m.PublishTime.IsZero() && now.Sub(m.PublishTime) >= ttl
}

// discard removes a message from its queue for reason ("rejected", "expired", "maxlen"):
// dead-lettered when the queue has a dead-letter exchange (the ack waits until that write is
// durable, so a crash redelivers rather than loses), else just acknowledged.
func (c *conn) discard(p policy, bc bridge.Consumer, m *bridge.Message, reason string) {
	c.discardThen(p, bc, m, reason, nil)
}

// discardThen is discard, calling then (if not nil) once the message is acked or nacked.
func (c *conn) discardThen(p policy, bc bridge.Consumer, m *bridge.Message, reason string, then func()) {
	settle := func(err error) {
		if err != nil {
			bc.Nack(m.ID) // try again later
		} else {
			bc.Ack(m.ID)
		}
		if then != nil {
			then()
		}
	}
	if !p.hasDLX {
		settle(nil)
		return
	}
	exchange, props := fromPulsar(m)
	c.deadLetter(p, exchange, string(m.Key), props, m.Value, reason, settle)
}

// deadLetter publishes a message of queue p.queue to its dead-letter exchange; done gets
// nil once every copy is durable, or at once when the exchange is missing or routes
// nowhere (RabbitMQ then drops the message), else an error.
func (c *conn) deadLetter(p policy, exchange, key string, props wire.Properties, body []byte, reason string, done func(error)) {
	origKey := key
	if p.hasDLKey {
		key = p.dlKey
	}
	addDeath(&props, p.queue, reason, exchange, origKey)
	x, ok := c.s.topo.exchange(c.vhost, p.dlx)
	var queues []string
	if ok {
		queues = c.s.topo.route(c.vhost, p.dlx, x, key, props.Headers)
	}
	// A cycle that never rejects would loop forever; RabbitMQ drops such messages. Here a
	// message dead-lettered back to the queue it expired from is dropped too.
	for i, q := range queues {
		if q == p.queue && reason == "expired" {
			queues = append(queues[:i], queues[i+1:]...)
			break
		}
	}
	if len(queues) == 0 {
		done(nil)
		return
	}
	out := toPulsar(p.dlx, key, &props, body)
	left := len(queues)
	var failed error
	one := func(err error) {
		// callbacks of different producers may run concurrently
		c.dlMu.Lock()
		if err != nil {
			failed = err
		}
		left--
		last, ferr := left == 0, failed
		c.dlMu.Unlock()
		if last {
			done(ferr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, q := range queues {
		prod, err := c.s.producer(ctx, c.topic(q), "") // dead-lettering is the broker's
		if err != nil {
			one(err)
			continue
		}
		prod.SendAsync(ctx, out, func(_ bridge.SendResult, err error) { one(err) })
	}
}

// addDeath records a dead-lettering in the x-death header, as RabbitMQ does: one entry per
// queue and reason, most recent first, with a count; x-first-death-* keep the first. The
// expiration goes, so the message does not expire again where it lands.
func addDeath(p *wire.Properties, queue, reason, exchange, key string) {
	h := wire.Table{}
	for k, v := range p.Headers {
		h[k] = v
	}
	deaths, _ := h["x-death"].([]any)
	count := int64(1)
	var rest []any
	for _, d := range deaths {
		t, ok := d.(wire.Table)
		if ok && t["queue"] == queue && t["reason"] == reason {
			if n, ok := asInt(t["count"]); ok {
				count = n + 1
			}
			continue
		}
		rest = append(rest, d)
	}
	entry := wire.Table{"queue": queue, "reason": reason, "count": count, "time": time.Now(),
		"exchange": exchange, "routing-keys": []any{key}}
	if p.Expiration != "" {
		entry["original-expiration"] = p.Expiration
		p.Expiration = ""
	}
	h["x-death"] = append([]any{entry}, rest...)
	if _, ok := h["x-first-death-queue"]; !ok {
		h["x-first-death-queue"], h["x-first-death-reason"], h["x-first-death-exchange"] = queue, reason, exchange
	}
	h["x-last-death-queue"], h["x-last-death-reason"], h["x-last-death-exchange"] = queue, reason, exchange
	p.Headers = h
}
