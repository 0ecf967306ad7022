package main

import (
	"fmt"
	"os"

	"github.com/pulsar-gateway/pulsar-gateway/integration/rocketmq/gatewayproc"
)

// startGateway runs the gateway binary with RocketMQ, Kafka, MQTT and AMQP on free ports on
// backend, and returns what the scenarios talk to and how to stop it.
func startGateway(bin, backend string, extra []string, prefix string) (*env, func(), error) {
	g, err := gatewayproc.Start(bin, backend, []string{"rocketmq", "kafka", "mqtt", "amqp"}, extra)
	if err != nil {
		return nil, nil, err
	}
	e := &env{prefix: prefix, gateway: true, namesrv: []string{g.Addrs["rocketmq"]},
		kafka: g.Addrs["kafka"], mqtt: g.Addrs["mqtt"], amqp: g.Addrs["amqp"]}
	if backend == "pulsar" {
		e.pulsarURL, e.pulsarAdmin = os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
	}
	fmt.Printf("suite: gateway %s on %s: %v\n", bin, backend, g.Addrs)
	return e, g.Stop, nil
}
