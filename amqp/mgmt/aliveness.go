package mgmt

import (
	"context"
	"errors"
	"net"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// alivenessQueue is the queue RabbitMQ's aliveness test uses.
const alivenessQueue = "aliveness-test"

// aliveness runs RabbitMQ's aliveness test through this gateway's AMQP handler, as the
// requesting user: declare the queue aliveness-test in vhost, publish a message to it and
// get it back. The connection is an in-process pipe, so the whole path (login,
// authorization, topology state, backend) is tested, and no listener address is needed.
func (h *Handler) alivenessCheck(ctx context.Context, vhost, user, password string) error {
	cfg := amqp091.Config{Vhost: vhost, Heartbeat: 0, Locale: "en_US",
		SASL: []amqp091.Authentication{&amqp091.PlainAuth{Username: user, Password: password}},
		Dial: func(string, string) (net.Conn, error) {
			client, server := net.Pipe()
			go h.s.HandleConn(ctx, server)
			return client, nil
		}}
	conn, err := amqp091.DialConfig("amqp://aliveness/", cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if _, err := ch.QueueDeclare(alivenessQueue, false, false, false, false, nil); err != nil {
		return err
	}
	if err := ch.PublishWithContext(ctx, "", alivenessQueue, false, false, amqp091.Publishing{Body: []byte("test_message")}); err != nil {
		return err
	}
	for {
		msg, ok, err := ch.Get(alivenessQueue, true)
		if err != nil {
			return err
		}
		if ok && string(msg.Body) == "test_message" {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("aliveness-test: the message did not come back")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
