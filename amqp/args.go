package amqp

import (
	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// maxPriority is RabbitMQ's MAX_SUPPORTED_PRIORITY: x-max-priority above it is refused.
const maxPriority = 255

// checkQueueArgs validates the queue arguments that take effect here, as RabbitMQ's
// declare_args() does: a bad value is 406 "invalid arg" and nothing is declared.
func checkQueueArgs(m wire.Method, name, vhost string, args wire.Table) error {
	bad := func(arg string, why string, v any) error {
		return wire.NewError(wire.PreconditionFailed, "invalid arg '%s' for queue '%s' in vhost '%s': {%s,%v}", arg, name, vhost, why, v).WithMethod(m)
	}
	intArg := func(arg string) (int64, bool, error) {
		v, ok := args[arg]
		if !ok {
			return 0, false, nil
		}
		n, isInt := asInt(v)
		if !isInt {
			return 0, false, bad(arg, "unacceptable_type", v)
		}
		return n, true, nil
	}
	for _, arg := range []string{"x-max-length", "x-max-length-bytes", "x-message-ttl", "x-max-priority"} {
		n, ok, err := intArg(arg)
		if err != nil {
			return err
		}
		if ok && n < 0 {
			return bad(arg, "value_negative", n)
		}
		if ok && arg == "x-max-priority" && n > maxPriority {
			return bad(arg, "max_value_exceeded", n)
		}
	}
	if n, ok, err := intArg("x-expires"); err != nil {
		return err
	} else if ok && n <= 0 {
		return bad("x-expires", "value_zero", n)
	}
	if v, ok := args["x-single-active-consumer"]; ok {
		sac, isBool := v.(bool)
		if !isBool {
			return bad("x-single-active-consumer", "unacceptable_type", v)
		}
		if sac && dropsHead(args) {
			// drop-head trims through short-lived consumers, which on the Failover
			// subscription could take the active consumer's place.
			return wire.NewError(wire.PreconditionFailed, "x-single-active-consumer with x-max-length or x-max-length-bytes and x-overflow drop-head is not supported by this gateway (queue '%s' in vhost '%s')", name, vhost).WithMethod(m)
		}
	}
	if v, ok := args["x-overflow"]; ok {
		switch v {
		case "drop-head", "reject-publish", "reject-publish-dlx":
		default:
			return bad("x-overflow", "invalid_overflow", v)
		}
	}
	return nil
}

// limited: the queue has a length limit (x-max-length or x-max-length-bytes).
func (p policy) limited() bool { return p.maxLen >= 0 || p.maxBytes >= 0 }

// rejects: a full queue refuses new messages rather than dropping its head.
func (p policy) rejects() bool {
	return p.overflow == "reject-publish" || p.overflow == "reject-publish-dlx"
}

// parseLimits reads the length, overflow, expiry and priority arguments into p.
func (p *policy) parseLimits(args wire.Table) {
	p.maxLen, p.maxBytes = -1, -1
	if n, ok := asInt(args["x-max-length"]); ok && n >= 0 {
		p.maxLen = n
	}
	if n, ok := asInt(args["x-max-length-bytes"]); ok && n >= 0 {
		p.maxBytes = n
	}
	p.overflow, _ = args["x-overflow"].(string)
	if p.overflow == "" {
		p.overflow = "drop-head"
	}
	if n, ok := asInt(args["x-max-priority"]); ok && n > 0 {
		p.maxPriority = uint8(min(n, maxPriority))
	}
	if n, ok := asInt(args["x-expires"]); ok && n > 0 {
		p.expires = n
	}
}

// dropsHead: the arguments limit the queue's length and drop its head when full.
func dropsHead(args wire.Table) bool {
	var p policy
	p.parseLimits(args)
	return p.limited() && !p.rejects()
}
