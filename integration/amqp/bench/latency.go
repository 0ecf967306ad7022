package main

import (
	"context"
	"fmt"
	"os"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/integration/benchout"
)

// runLatency publishes persistent messages with confirms (-window in flight)
// at a steady -rate for -secs to one durable queue with one acking consumer,
// and returns the percentiles of publish-to-delivery (the body carries its
// send time).
func runLatency(t *target, round int) (map[string]float64, error) {
	conn, err := amqp091.Dial(t.url)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf("bench-lat-%d-%d", os.Getpid(), round)
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		return nil, err
	}
	defer ch.QueueDelete(q, false, false, false)
	cconn, err := amqp091.Dial(t.url)
	if err != nil {
		return nil, err
	}
	defer cconn.Close()
	cch, err := cconn.Channel()
	if err != nil {
		return nil, err
	}
	if err := cch.Qos(*prefetch, 0, false); err != nil {
		return nil, err
	}
	d, err := cch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		return nil, err
	}
	n := *latRate * *latSecs
	lat := make([]time.Duration, 0, n)
	cdone := make(chan error, 1)
	go func() {
		for len(lat) < n {
			m, ok := <-d
			if !ok {
				cdone <- fmt.Errorf("deliveries closed after %d", len(lat))
				return
			}
			lat = append(lat, benchout.Latency(m.Body))
			if err := m.Ack(false); err != nil {
				cdone <- err
				return
			}
		}
		cdone <- nil
	}()

	pch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	defer pch.Close()
	if err := pch.Confirm(false); err != nil {
		return nil, err
	}
	confirms := pch.NotifyPublish(make(chan amqp091.Confirmation, *window+1))
	sem := make(chan struct{}, *window)
	pdone := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			c, ok := <-confirms
			if !ok {
				pdone <- fmt.Errorf("channel closed after %d confirms", i)
				return
			}
			if !c.Ack {
				pdone <- fmt.Errorf("nack %d", c.DeliveryTag)
				return
			}
			<-sem
		}
		pdone <- nil
	}()
	bodies := benchout.Letters(n * *size)
	ctx := context.Background()
	err = benchout.Paced(n, *latRate, func(i int) error {
		sem <- struct{}{}
		body := bodies[i**size : (i+1)**size]
		benchout.Stamp(body)
		return pch.PublishWithContext(ctx, "", q, false, false, amqp091.Publishing{DeliveryMode: 2, Body: body})
	}, nil)
	if err != nil {
		return nil, err
	}
	if err := waitAll([]<-chan error{pdone, cdone}, 2*time.Minute); err != nil {
		return nil, err
	}
	p50, p99, p999 := benchout.Percentiles(lat)
	return map[string]float64{"p50 ms": p50, "p99 ms": p99, "p99.9 ms": p999}, nil
}
