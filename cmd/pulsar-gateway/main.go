// Command pulsar-gateway serves Kafka, MQTT and AMQP 0-9-1 clients and
// stores their messages in Apache Pulsar or in an embedded local store.
// Run it with --help for its settings.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	go func() {
		<-ctx.Done()
		stop() // from now on a second signal kills at once, mid-drain
	}()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
