package mqtt

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Reserved properties: what MQTT says that Pulsar has no field for.
const (
	propPrefix        = "mqtt."
	propTopic         = propPrefix + "topic"
	propQos           = propPrefix + "qos"
	propRetain        = propPrefix + "retain"
	propContentType   = propPrefix + "content-type"
	propResponseTopic = propPrefix + "response-topic"
	propCorrelation   = propPrefix + "correlation-data" // base64
	propPayloadFormat = propPrefix + "payload-format"
	// propExpires is when an MQTT 5 message expires (Unix ms): absolute,
	// so the interval left is known however long it waited.
	propExpires = propPrefix + "expires"
	// propClient is the publisher's client id, for no-local subscriptions.
	propClient = propPrefix + "client"
)

// outMessage is an inbound PUBLISH as the backend stores it.
func outMessage(pk *packets.Packet) *bridge.OutMessage {
	p := make(map[string]string, len(pk.Properties.User)+4)
	for _, u := range pk.Properties.User {
		p[u.Key] = u.Val // user keys first: ours overwrite a clash
	}
	p[propTopic] = pk.TopicName
	if pk.Origin != "" {
		p[propClient] = pk.Origin
	}
	p[propQos] = strconv.Itoa(int(pk.FixedHeader.Qos))
	if pk.FixedHeader.Retain {
		p[propRetain] = "1"
	}
	pr := &pk.Properties
	if pr.ContentType != "" {
		p[propContentType] = pr.ContentType
	}
	if pr.ResponseTopic != "" {
		p[propResponseTopic] = pr.ResponseTopic
	}
	if len(pr.CorrelationData) > 0 {
		p[propCorrelation] = base64.StdEncoding.EncodeToString(pr.CorrelationData)
	}
	if pr.PayloadFormatFlag {
		p[propPayloadFormat] = strconv.Itoa(int(pr.PayloadFormat))
	}
	now := time.Now()
	if pr.MessageExpiryInterval > 0 {
		p[propExpires] = strconv.FormatInt(now.Add(time.Duration(pr.MessageExpiryInterval)*time.Second).UnixMilli(), 10)
	}
	payload := pk.Payload
	if payload == nil {
		payload = []byte{}
	}
	return &bridge.OutMessage{Value: payload, Properties: p, EventTime: now}
}

// expiryLeft is the whole seconds (rounded up) a message has left before it
// expires; expired once it has none. Messages without expiry have 0, false.
func expiryLeft(m *bridge.Message, now time.Time) (left uint32, expired bool) {
	v, ok := m.Properties[propExpires]
	if !ok {
		return 0, false // most messages: no ParseInt error to allocate
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false
	}
	d := time.UnixMilli(ms).Sub(now)
	if d <= 0 {
		return 0, true
	}
	return uint32((d + time.Second - 1) / time.Second), false
}

// messageQos is the QoS a message was published with; messages from other
// protocols count as QoS 1 (durable, at least once).
func messageQos(m *bridge.Message) byte {
	switch m.Properties[propQos] {
	case "0":
		return 0
	case "2":
		return 2
	}
	return 1
}

// publishPacket is a backend message as a PUBLISH to a client of version v.
func publishPacket(m *bridge.Message, topic string, qos byte, v byte) packets.Packet {
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos},
		TopicName:   topic,
		Payload:     m.Value,
		Created:     time.Now().Unix(),
	}
	if v < 5 {
		return pk
	}
	pr := &pk.Properties
	for k, val := range m.Properties {
		if !strings.HasPrefix(k, propPrefix) && k != bridge.TxnRecordProperty {
			pr.User = append(pr.User, packets.UserProperty{Key: k, Val: val})
		}
	}
	pr.ContentType = m.Properties[propContentType]
	pr.ResponseTopic = m.Properties[propResponseTopic]
	if c, ok := m.Properties[propCorrelation]; ok {
		pr.CorrelationData, _ = base64.StdEncoding.DecodeString(c)
	}
	if f, ok := m.Properties[propPayloadFormat]; ok {
		n, _ := strconv.Atoi(f)
		pr.PayloadFormat, pr.PayloadFormatFlag = byte(n), true
	}
	return pk
}

// mqttTopic is the MQTT topic a backend message goes out on: its Pulsar
// name decoded (partition suffix dropped), which is exact for every topic
// an MQTT client published to.
func mqttTopic(m *bridge.Message) string {
	name := m.Topic
	if t, err := bridge.ParseTopic(name); err == nil {
		if base, _, ok := t.PartitionIndex(); ok {
			t = base
		}
		name = t.Local
	}
	return DecodeTopic(name)
}
