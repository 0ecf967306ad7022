package main

// Cross-protocol scenarios: only in gateway mode (-gateway), where one gateway process serves
// RocketMQ beside Kafka, MQTT and AMQP on one store, and (on -backend pulsar) beside native
// Pulsar clients. Names follow DESIGN.md's names across protocols: RocketMQ topic T is the
// Pulsar topic T (its queues the partitions), the Kafka topic T, the MQTT topic T (no '/' in
// these names, so no mapping applies) and the AMQP queue T. User properties are Kafka headers,
// Pulsar properties, MQTT 5 user properties and AMQP headers, each exact; the tag and the keys
// must be there too under some property (their names are the handler's choice: logged).

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/eclipse/paho.golang/paho"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

func crossScenarios() []scenario {
	return []scenario{
		{name: "cross/rocketmq-to-kafka", gateway: true, run: crossToKafka},
		{name: "cross/kafka-to-rocketmq", gateway: true, run: crossFromKafka},
		{name: "cross/rocketmq-to-mqtt", gateway: true, run: crossToMQTT},
		{name: "cross/mqtt-to-rocketmq", gateway: true, run: crossFromMQTT},
		{name: "cross/rocketmq-to-amqp", gateway: true, run: crossToAMQP},
		{name: "cross/amqp-to-rocketmq", gateway: true, run: crossFromAMQP},
		{name: "cross/rocketmq-to-pulsar", gateway: true, pulsar: true, run: crossToPulsar},
		{name: "cross/pulsar-to-rocketmq", gateway: true, pulsar: true, run: crossFromPulsar},
	}
}

// crossSend sends n messages with the Go RocketMQ producer (sync) and returns them.
func crossSend(ctx context.Context, e *env, topic string, n int) ([]*outMsg, error) {
	p, err := newProducer(e, topic+"-p")
	if err != nil {
		return nil, err
	}
	defer p.Shutdown()
	var sent []*outMsg
	for i := 0; i < n; i++ {
		o := newOut(topic, "x", i, "TagX")
		o.body = append(o.body, 0, 1, 0xfe, 0xff) // bytes, not only text
		if _, err := sendSync(ctx, p, o); err != nil {
			return nil, err
		}
		sent = append(sent, o)
	}
	return sent, nil
}

// sameProps checks a foreign message's payload and properties against o: payload exact, every
// user property exact, and the tag and the keys present as some property's value.
func sameProps(o *outMsg, payload []byte, props map[string]string, l *logger) []string {
	var p []string
	if string(payload) != string(o.body) {
		p = append(p, fmt.Sprintf("%s: payload %q, sent %q", o.id, payload, o.body))
	}
	for k, v := range o.props {
		if props[k] != v {
			p = append(p, fmt.Sprintf("%s: property %s=%q, sent %q", o.id, k, props[k], v))
		}
	}
	var tagAs, keysAs []string
	for k, v := range props {
		if v == o.tag {
			tagAs = append(tagAs, k)
		}
		if v == strings.Join(o.keys, " ") {
			keysAs = append(keysAs, k)
		}
	}
	if len(tagAs) == 0 {
		p = append(p, fmt.Sprintf("%s: tag %q in no property (%s)", o.id, o.tag, fmtMap(props)))
	}
	if len(keysAs) == 0 {
		p = append(p, fmt.Sprintf("%s: keys %q in no property (%s)", o.id, strings.Join(o.keys, " "), fmtMap(props)))
	}
	l.Printf("%s: tag as %v, keys as %v", o.id, tagAs, keysAs)
	return p
}

// foreign is a message another protocol sent, to compare a RocketMQ delivery with.
func foreignOut(topic string, i int) *outMsg {
	o := newOut(topic, "f", i, "")
	o.keys = nil
	o.body = append(o.body, 0, 1, 0xfe, 0xff)
	return o
}

// receiveRocketMQ consumes topic with a Go push consumer until every foreign message arrived:
// payload and user properties exact.
func receiveRocketMQ(ctx context.Context, e *env, topic string, sent []*outMsg, l *logger) error {
	c := newCollector(l)
	pc, err := pushConsumer(e, topic+"-g", topic, all, c, "c")
	if err != nil {
		return err
	}
	defer pc.Shutdown()
	if missing := c.waitIDs(ctx, ids(sent)); len(missing) > 0 {
		return fmt.Errorf("not delivered to the RocketMQ consumer: %v", missing)
	}
	var pr []string
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range sent {
		m := c.seen[o.id][0].msg
		if string(m.Body) != string(o.body) {
			pr = append(pr, fmt.Sprintf("%s: body %q, sent %q", o.id, m.Body, o.body))
		}
		got := userProps(m.GetProperties())
		for k, v := range o.props {
			if got[k] != v {
				pr = append(pr, fmt.Sprintf("%s: property %s=%q, sent %q (all: %s)", o.id, k, got[k], v, fmtMap(got)))
			}
		}
	}
	return problems(pr)
}

func crossToKafka(ctx context.Context, e *env, l *logger) error {
	topic, _ := names(e, "x-to-kafka")
	sent, err := crossSend(ctx, e, topic, 4)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	got := map[string]*kgo.Record{}
	for len(got) < len(sent) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("Kafka consumer got %d of %d", len(got), len(sent))
		}
		fs.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == idProp {
					got[string(h.Value)] = r
				}
			}
		})
	}
	var pr []string
	for _, o := range sent {
		r := got[o.id]
		props := map[string]string{}
		for _, h := range r.Headers {
			props[h.Key] = string(h.Value)
		}
		pr = append(pr, sameProps(o, r.Value, props, l)...)
	}
	return problems(pr)
}

func crossFromKafka(ctx context.Context, e *env, l *logger) error {
	topic, _ := names(e, "kafka-to-x")
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka), kgo.AllowAutoTopicCreation())
	if err != nil {
		return err
	}
	defer cl.Close()
	var sent []*outMsg
	for i := 0; i < 4; i++ {
		o := foreignOut(topic, i)
		r := &kgo.Record{Topic: topic, Key: []byte(o.id), Value: o.body}
		for k, v := range o.props {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			return fmt.Errorf("Kafka produce: %w", err)
		}
		sent = append(sent, o)
	}
	return receiveRocketMQ(ctx, e, topic, sent, l)
}

func mqttClient(ctx context.Context, e *env, id string, got chan *paho.Publish) (*paho.Client, error) {
	conn, err := net.Dial("tcp", e.mqtt)
	if err != nil {
		return nil, err
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			if got != nil {
				got <- pr.Packet
			}
			return true, nil
		}}})
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		return nil, err
	}
	return c, nil
}

func crossToMQTT(ctx context.Context, e *env, l *logger) error {
	topic, _ := names(e, "x-to-mqtt")
	got := make(chan *paho.Publish, 16)
	c, err := mqttClient(ctx, e, topic+"-sub", got)
	if err != nil {
		return err
	}
	defer c.Disconnect(&paho.Disconnect{})
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}}); err != nil {
		return err
	}
	sent, err := crossSend(ctx, e, topic, 4)
	if err != nil {
		return err
	}
	byID := map[string]*paho.Publish{}
	for len(byID) < len(sent) {
		select {
		case pb := <-got:
			if pb.Properties != nil {
				byID[pb.Properties.User.Get(idProp)] = pb
			}
		case <-ctx.Done():
			return fmt.Errorf("MQTT subscriber got %d of %d", len(byID), len(sent))
		}
	}
	var pr []string
	for _, o := range sent {
		pb := byID[o.id]
		props := map[string]string{}
		for _, u := range pb.Properties.User {
			props[u.Key] = u.Value
		}
		if pb.Topic != topic {
			pr = append(pr, fmt.Sprintf("%s on MQTT topic %q", o.id, pb.Topic))
		}
		pr = append(pr, sameProps(o, pb.Payload, props, l)...)
	}
	return problems(pr)
}

func crossFromMQTT(ctx context.Context, e *env, l *logger) error {
	topic, _ := names(e, "mqtt-to-x")
	c, err := mqttClient(ctx, e, topic+"-pub", nil)
	if err != nil {
		return err
	}
	defer c.Disconnect(&paho.Disconnect{})
	var sent []*outMsg
	for i := 0; i < 4; i++ {
		o := foreignOut(topic, i)
		pb := &paho.Publish{Topic: topic, QoS: 1, Payload: o.body, Properties: &paho.PublishProperties{}}
		for k, v := range o.props {
			pb.Properties.User.Add(k, v)
		}
		if _, err := c.Publish(ctx, pb); err != nil {
			return fmt.Errorf("MQTT publish: %w", err)
		}
		sent = append(sent, o)
	}
	return receiveRocketMQ(ctx, e, topic, sent, l)
}

func amqpChannel(e *env) (*amqp.Connection, *amqp.Channel, error) {
	conn, err := amqp.Dial("amqp://guest:guest@" + e.amqp + "/")
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, ch, nil
}

func crossToAMQP(ctx context.Context, e *env, l *logger) error {
	topic, _ := names(e, "x-to-amqp")
	conn, ch, err := amqpChannel(e)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := ch.QueueDeclare(topic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("AMQP queue.declare: %w", err)
	}
	sent, err := crossSend(ctx, e, topic, 4)
	if err != nil {
		return err
	}
	deliveries, err := ch.ConsumeWithContext(ctx, topic, "", false, false, false, false, nil)
	if err != nil {
		return err
	}
	byID := map[string]amqp.Delivery{}
	for len(byID) < len(sent) {
		select {
		case d := <-deliveries:
			id, _ := d.Headers[idProp].(string)
			byID[id] = d
			d.Ack(false)
		case <-ctx.Done():
			return fmt.Errorf("AMQP consumer got %d of %d", len(byID), len(sent))
		}
	}
	var pr []string
	for _, o := range sent {
		d := byID[o.id]
		props := map[string]string{}
		for k, v := range d.Headers {
			props[k] = fmt.Sprint(v)
		}
		pr = append(pr, sameProps(o, d.Body, props, l)...)
	}
	return problems(pr)
}

func crossFromAMQP(ctx context.Context, e *env, l *logger) error {
	topic, _ := names(e, "amqp-to-x")
	conn, ch, err := amqpChannel(e)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := ch.QueueDeclare(topic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("AMQP queue.declare: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		return err
	}
	var sent []*outMsg
	for i := 0; i < 4; i++ {
		o := foreignOut(topic, i)
		h := amqp.Table{}
		for k, v := range o.props {
			h[k] = v
		}
		conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", topic, true, false,
			amqp.Publishing{Body: o.body, Headers: h, DeliveryMode: amqp.Persistent})
		if err != nil {
			return fmt.Errorf("AMQP publish: %w", err)
		}
		if ok, err := conf.WaitContext(ctx); err != nil || !ok {
			return fmt.Errorf("AMQP publish not confirmed: %v", err)
		}
		sent = append(sent, o)
	}
	return receiveRocketMQ(ctx, e, topic, sent, l)
}

func pulsarTopic(topic string) string { return "persistent://public/default/" + topic }

func crossToPulsar(ctx context.Context, e *env, l *logger) error {
	topic, _ := names(e, "x-to-pulsar")
	sent, err := crossSend(ctx, e, topic, 4)
	if err != nil {
		return err
	}
	cl, err := pulsar.NewClient(pulsar.ClientOptions{URL: e.pulsarURL})
	if err != nil {
		return err
	}
	defer cl.Close()
	cons, err := cl.Subscribe(pulsar.ConsumerOptions{Topic: pulsarTopic(topic), SubscriptionName: "suite",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		return fmt.Errorf("Pulsar subscribe: %w", err)
	}
	defer cons.Close()
	byID := map[string]pulsar.Message{}
	for len(byID) < len(sent) {
		m, err := cons.Receive(ctx)
		if err != nil {
			return fmt.Errorf("Pulsar consumer got %d of %d: %w", len(byID), len(sent), err)
		}
		byID[m.Properties()[idProp]] = m
		cons.Ack(m)
	}
	var pr []string
	for _, o := range sent {
		m := byID[o.id]
		pr = append(pr, sameProps(o, m.Payload(), m.Properties(), l)...)
	}
	return problems(pr)
}

func crossFromPulsar(ctx context.Context, e *env, l *logger) error {
	topic, _ := names(e, "pulsar-to-x")
	// The RocketMQ producer creates the topic (a partitioned one, its queues), then Pulsar writes.
	if _, err := crossSend(ctx, e, topic, 1); err != nil {
		return err
	}
	cl, err := pulsar.NewClient(pulsar.ClientOptions{URL: e.pulsarURL})
	if err != nil {
		return err
	}
	defer cl.Close()
	prod, err := cl.CreateProducer(pulsar.ProducerOptions{Topic: pulsarTopic(topic)})
	if err != nil {
		return fmt.Errorf("Pulsar producer: %w", err)
	}
	defer prod.Close()
	var sent []*outMsg
	for i := 0; i < 4; i++ {
		o := foreignOut(topic, i)
		if _, err := prod.Send(ctx, &pulsar.ProducerMessage{Payload: o.body, Properties: o.props, EventTime: time.Now()}); err != nil {
			return fmt.Errorf("Pulsar send: %w", err)
		}
		sent = append(sent, o)
	}
	return receiveRocketMQ(ctx, e, topic, sent, l)
}
