package amqp

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// How an AMQP message rides in Pulsar (DESIGN.md, "Key, headers and time"):
//
//   - routing key → the message key, so Kafka and Pulsar consumers see it;
//   - the exchange and each basic property → a property under the reserved prefix "amqp."
//     (amqp.exchange, amqp.content-type, amqp.delivery-mode, amqp.timestamp in Unix seconds…);
//   - a header whose value is a string → a plain property of the same name, as Kafka headers
//     and MQTT user properties are, so every protocol reads it;
//   - any other header (numbers, booleans, tables, byte arrays) → "amqp.h.<name>", its value
//     the base64 of a one-entry field table, so its AMQP type survives the round trip.
//
// Reading back, plain properties become string headers, so what Kafka or MQTT wrote shows
// up as AMQP headers. The timestamp is also the Pulsar event time.
const (
	propPrefix   = "amqp."
	typedHeader  = "amqp.h."
	propExchange = "amqp.exchange"
)

func toPulsar(exchange, routingKey string, p *wire.Properties, body []byte) *bridge.OutMessage {
	m := &bridge.OutMessage{Key: []byte(routingKey), Value: body, Properties: map[string]string{}}
	set := func(k, v string) {
		if v != "" {
			m.Properties[propPrefix+k] = v
		}
	}
	set("exchange", exchange)
	set("content-type", p.ContentType)
	set("content-encoding", p.ContentEncoding)
	if p.DeliveryMode != 0 {
		set("delivery-mode", strconv.Itoa(int(p.DeliveryMode)))
	}
	if p.Flags&wire.FlagPriority != 0 || p.Priority != 0 {
		set("priority", strconv.Itoa(int(p.Priority)))
	}
	set("correlation-id", p.CorrelationID)
	set("reply-to", p.ReplyTo)
	set("expiration", p.Expiration)
	set("message-id", p.MessageID)
	if !p.Timestamp.IsZero() {
		set("timestamp", strconv.FormatInt(p.Timestamp.Unix(), 10))
		m.EventTime = p.Timestamp
	}
	set("type", p.Type)
	set("user-id", p.UserID)
	set("app-id", p.AppID)
	for k, v := range p.Headers {
		if s, ok := v.(string); ok && !strings.HasPrefix(k, propPrefix) {
			m.Properties[k] = s
			continue
		}
		if b, err := wire.AppendTable(nil, wire.Table{k: v}); err == nil {
			m.Properties[typedHeader+k] = base64.StdEncoding.EncodeToString(b)
		}
	}
	return m
}

// fromPulsar rebuilds the exchange and properties of a stored message.
func fromPulsar(m *bridge.Message) (exchange string, p wire.Properties) {
	get := func(k string) string { return m.Properties[propPrefix+k] }
	num := func(k string) uint8 {
		n, _ := strconv.Atoi(get(k))
		return uint8(n)
	}
	exchange = get("exchange")
	p.ContentType = get("content-type")
	p.ContentEncoding = get("content-encoding")
	p.DeliveryMode = num("delivery-mode")
	if get("priority") != "" {
		p.Priority = num("priority")
		p.Flags |= wire.FlagPriority
	}
	p.CorrelationID = get("correlation-id")
	p.ReplyTo = get("reply-to")
	p.Expiration = get("expiration")
	p.MessageID = get("message-id")
	if s := get("timestamp"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			p.Timestamp = time.Unix(n, 0)
		}
	}
	p.Type = get("type")
	p.UserID = get("user-id")
	p.AppID = get("app-id")
	for k, v := range m.Properties {
		switch {
		case strings.HasPrefix(k, typedHeader):
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				continue
			}
			if t, err := wire.DecodeTable(b); err == nil {
				name := k[len(typedHeader):]
				if val, ok := t[name]; ok {
					setHeader(&p, name, val)
				}
			}
		case strings.HasPrefix(k, propPrefix):
		default:
			setHeader(&p, k, v)
		}
	}
	return exchange, p
}

func setHeader(p *wire.Properties, k string, v any) {
	if p.Headers == nil {
		p.Headers = wire.Table{}
	}
	p.Headers[k] = v
}
