package rocketmq

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// A RocketMQ message's properties travel as one string, "k\x01v\x02k\x01v" (MessageDecoder's
// NAME_VALUE_SEPARATOR and PROPERTY_SEPARATOR). In the store they become Pulsar properties:
//   - RocketMQ's own properties (MessageConst's reserved names: TAGS, KEYS, UNIQ_KEY, DELAY,
//     RETRY_TOPIC, ...) under the reserved prefix "rocketmq.", as mqtt/ and amqp/ keep theirs,
//     so other protocols do not take them for the user's;
//   - the user's properties as they are, so Kafka headers, MQTT 5 user properties and AMQP
//     headers show them;
//   - fields of the stored record that are no property (the user flag, the born host, the
//     reconsume count) under "rocketmq." in lower case.
//
// KEYS is also the Pulsar message key, so a Kafka consumer sees it as the record key.
const (
	propPrefix         = "rocketmq."
	propFlag           = propPrefix + "flag"
	propBornHost       = propPrefix + "born-host"
	propReconsumeTimes = propPrefix + "reconsume-times"
	propDeliverAt      = propPrefix + "deliver-at" // ms: a schedule entry's due time (ignored on messages of real topics, as written by older versions)
)

const (
	nameValueSep = '\x01'
	propertySep  = '\x02'
)

// RocketMQ property names (MessageConst) the handler reads or writes.
const (
	mcTags            = "TAGS"
	mcKeys            = "KEYS"
	mcUniqKey         = "UNIQ_KEY"
	mcDelay           = "DELAY"
	mcRetryTopic      = "RETRY_TOPIC"
	mcRealTopic       = "REAL_TOPIC"
	mcRealQID         = "REAL_QID"
	mcOriginMsgID     = "ORIGIN_MESSAGE_ID"
	mcMaxReconsume    = "MAX_RECONSUME_TIMES"
	mcWait            = "WAIT"
	mcTimerDeliverMS  = "TIMER_DELIVER_MS"
	mcTimerDelaySec   = "TIMER_DELAY_SEC"
	mcTimerDelayMS    = "TIMER_DELAY_MS"
	mcTranMsg         = "TRAN_MSG"
	mcDLQOriginTopic  = "DLQ_ORIGIN_TOPIC"
	mcDLQOriginMsgID  = "DLQ_ORIGIN_MESSAGE_ID"
	mcShardingKey     = "__SHARDINGKEY"
	mcConsumeStart    = "CONSUME_START_TIME"
	mcReconsumeTimeMC = "RECONSUME_TIME"
)

// systemNames are MessageConst's reserved property names (STRING_HASH_SET, 5.1.4): these are
// RocketMQ's, not the user's.
var systemNames = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`TRACE_ON MSG_REGION KEYS TAGS WAIT DELAY RETRY_TOPIC REAL_TOPIC
		REAL_QID TRAN_MSG PGROUP MIN_OFFSET MAX_OFFSET BUYER_ID ORIGIN_MESSAGE_ID TRANSFER_FLAG
		CORRECTION_FLAG MQ2_FLAG RECONSUME_TIME UNIQ_KEY MAX_RECONSUME_TIMES CONSUME_START_TIME
		POP_CK POP_CK_OFFSET 1ST_POP_TIME TRAN_PREPARED_QUEUE_OFFSET DUP_INFO EXTEND_UNIQ_INFO
		INSTANCE_ID CORRELATION_ID REPLY_TO_CLIENT TTL ARRIVE_TIME PUSH_REPLY_TIME CLUSTER
		MSG_TYPE TRANSACTION_CHECK_TIMES CHECK_IMMUNITY_TIME_IN_SECONDS SHARDING_KEY
		__SHARDINGKEY TIMER_DELIVER_MS TIMER_DELAY_SEC TIMER_DELAY_MS TIMER_OUT_MS
		TIMER_ENQUEUE_MS TIMER_DEQUEUE_MS TIMER_ROLL_TIMES TIMER_DEL_UNIQKEY TIMER_DELAY_LEVEL
		BORNHOST BORNTIMESTAMP DLQ_ORIGIN_TOPIC DLQ_ORIGIN_MESSAGE_ID INNER_BASE INNER_MULTI_DISPATCH
		INNER_MULTI_QUEUE_OFFSET INNER_NUM TRACE_CONTEXT STARTDELIVERTIME`) {
		systemNames[n] = true
	}
}

// parseProperties decodes a properties string. Pairs without a separator are skipped, as
// MessageDecoder.string2messageProperties does.
func parseProperties(s string, f func(k, v string)) {
	for s != "" {
		var pair string
		if i := strings.IndexByte(s, propertySep); i >= 0 {
			pair, s = s[:i], s[i+1:]
		} else {
			pair, s = s, ""
		}
		k, v, ok := strings.Cut(pair, string(nameValueSep))
		if ok && k != "" {
			f(k, v)
		}
	}
}

// propertiesMap is parseProperties into a map.
func propertiesMap(s string) map[string]string {
	m := map[string]string{}
	parseProperties(s, func(k, v string) { m[k] = v })
	return m
}

// appendProperty appends one pair, with a separator before it unless b is empty.
func appendProperty(b []byte, k, v string) []byte {
	if len(b) > 0 {
		b = append(b, propertySep)
	}
	b = append(b, k...)
	b = append(b, nameValueSep)
	return append(b, v...)
}

// fitsProperty says whether a key and value can travel in the properties string.
func fitsProperty(k, v string) bool {
	return k != "" && !strings.ContainsAny(k, "\x01\x02") && !strings.ContainsAny(v, "\x01\x02") && utf8.ValidString(k)
}

// toStore turns a sent message's properties (the client's) into the stored message's.
func toStore(props map[string]string, out *bridge.OutMessage) {
	if out.Properties == nil {
		out.Properties = make(map[string]string, len(props))
	}
	for k, v := range props {
		if systemNames[k] {
			out.Properties[propPrefix+k] = v
		} else {
			out.Properties[k] = v
		}
	}
	if keys, ok := props[mcKeys]; ok && keys != "" {
		out.Key = []byte(keys)
	}
}

// fromStore is the properties string a stored message is delivered with: RocketMQ's own
// properties back under their names, the others as user properties; what does not fit the
// wire and the bridge's internal markers are left out. It also returns the record fields
// kept in properties.
func fromStore(m *bridge.Message) (props []byte, flag, reconsume int32, bornHost string) {
	for k, v := range m.Properties {
		if rest, ok := strings.CutPrefix(k, propPrefix); ok {
			switch k {
			case propFlag:
				n, _ := strconv.ParseInt(v, 10, 32)
				flag = int32(n)
				continue
			case propReconsumeTimes:
				n, _ := strconv.ParseInt(v, 10, 32)
				reconsume = int32(n)
				continue
			case propBornHost:
				bornHost = v
				continue
			case propDeliverAt:
				continue
			}
			k = rest
		} else if strings.HasPrefix(k, "__kafka_") {
			continue
		}
		if fitsProperty(k, v) {
			props = appendProperty(props, k, v)
		}
	}
	if _, ok := m.Properties[propPrefix+mcKeys]; !ok && len(m.Key) > 0 && fitsProperty(mcKeys, string(m.Key)) && utf8.Valid(m.Key) {
		props = appendProperty(props, mcKeys, string(m.Key))
	}
	return props, flag, reconsume, bornHost
}

// propertyOf is a stored message's property as fromStore delivers it (what the broker's
// SQL92 filter evaluates: the stored message's properties, RocketMQ's own and the user's).
func propertyOf(m *bridge.Message, name string) (string, bool) {
	if strings.HasPrefix(name, "__kafka_") {
		return "", false
	}
	v, ok := "", false
	if systemNames[name] {
		v, ok = m.Properties[propPrefix+name]
	}
	if !ok {
		// A user property, or one of RocketMQ's names set by another protocol's client (a
		// Kafka header TAGS), which fromStore delivers as it is.
		v, ok = m.Properties[name]
	}
	if ok && !fitsProperty(name, v) {
		return "", false
	}
	if !ok && name == mcKeys && len(m.Key) > 0 && fitsProperty(mcKeys, string(m.Key)) && utf8.Valid(m.Key) {
		return string(m.Key), true
	}
	return v, ok
}

// tagOf is a stored message's tag, "" without one.
func tagOf(m *bridge.Message) string { return m.Properties[propPrefix+mcTags] }

// bornTime is when the client made the message: the event time, else the publish time.
func bornTime(m *bridge.Message) time.Time {
	if !m.EventTime.IsZero() {
		return m.EventTime
	}
	return m.PublishTime
}
