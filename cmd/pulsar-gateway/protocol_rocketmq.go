package main

import (
	"context"

	"github.com/pulsar-gateway/pulsar-gateway/handlers"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq"
)

// The RocketMQ remoting handler (package rocketmq): name server and broker on
// rocketmq.addr, advertising rocketmq.advertised_addr as the broker. It is an
// io.Closer, closed after its connections drained.
func init() {
	protocols = append(protocols, "rocketmq")
	protocolFactories["rocketmq"] = func(d protocolDeps) (handlers.ConnHandler, error) {
		return rocketmq.New(context.Background(), d.Backend, rocketmq.Options{
			Advertised:       d.Config.RocketMQ.Advertised(d.Addr),
			Namespace:        d.Config.Tenant + "/" + d.Config.Namespace,
			AutoCreateTopics: d.Config.RocketMQ.AutoCreateTopics,
			Logger:           d.Logger,
			Metrics:          d.Flow,
		})
	}
}
