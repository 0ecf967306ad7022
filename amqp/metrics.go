package amqp

import (
	"context"
	"errors"
	"strconv"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/metrics"
)

// countRequest counts a client's method by its outcome: 200, or the reply
// code of the channel or connection error it caused.
func (s *Server) countRequest(m wire.Method, err error) {
	if s.opts.Metrics == nil {
		return
	}
	code := "200"
	var we *wire.Error
	if errors.As(err, &we) {
		code = strconv.Itoa(int(we.Code))
	} else if err != nil {
		code = "connection_closed"
	}
	s.opts.Metrics.Request(m.Name(), code)
}

// QueueFamilies are the gauges SampleQueues fills.
var QueueFamilies = []metrics.Family{
	{Name: "amqp_queue_messages_ready", Help: "Messages of an AMQP queue ready for delivery: its backlog in the backend less the deliveries this gateway's consumers hold (RabbitMQ's messages_ready).", Labels: []string{"vhost", "queue"}},
	{Name: "amqp_queue_messages_unacked", Help: "Deliveries of an AMQP queue this gateway's consumers hold unacknowledged (RabbitMQ's messages_unacknowledged; sum over gateways).", Labels: []string{"vhost", "queue"}},
	{Name: "amqp_queue_consumers", Help: "Consumers of an AMQP queue, on every gateway (RabbitMQ's consumers).", Labels: []string{"vhost", "queue"}},
}

// Queues describes every vhost's queues with their counts.
func (s *Server) Queues(ctx context.Context) ([]QueueInfo, error) {
	var out []QueueInfo
	for _, vq := range s.QueueNames("") {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if q, ok := s.Queue(ctx, vq[0], vq[1]); ok { // else deleted meanwhile
			out = append(out, q)
		}
	}
	return out, nil
}

// SampleQueues puts every queue's counts, as the management API's
// /api/queues shows them.
func (s *Server) SampleQueues(ctx context.Context, put metrics.Put) error {
	queues, err := s.Queues(ctx)
	if err != nil {
		return err
	}
	for _, q := range queues {
		put(0, float64(q.Ready), q.VHost, q.Name)
		put(1, float64(q.Unacked), q.VHost, q.Name)
		put(2, float64(q.Consumers), q.VHost, q.Name)
	}
	return nil
}

// ProducerTopics calls f with the topic (or partition) of every producer
// this gateway keeps open for its clients.
func (s *Server) ProducerTopics(f func(topic string)) { s.producers.Topics(f) }
