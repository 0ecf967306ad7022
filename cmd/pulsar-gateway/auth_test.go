package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// With auth.password_file alone, every protocol requires a login of one
// of its users: Kafka (SASL/PLAIN), MQTT, AMQP and the schema registry
// each take alice and refuse a wrong password and an anonymous client
// with their own answer.
func TestRunOnePasswordFileForEveryProtocol(t *testing.T) {
	pw := passwordFile(t, "alice", "s3cret")
	logs, _ := startRun(t, append(portZeroArgs(t), "--auth-password-file", pw, "--log-level", "debug"))
	addrs := listeningAddrs(t, logs.String, 5)

	kafka := func(opts ...kgo.Opt) error {
		cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(addrs["kafka"]))...)
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return cl.Ping(ctx)
	}
	if err := kafka(kgo.SASL(plain.Auth{User: "alice", Pass: "s3cret"}.AsMechanism())); err != nil {
		t.Errorf("Kafka as alice: %v", err)
	}
	if err := kafka(kgo.SASL(plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism())); err == nil {
		t.Error("Kafka took a wrong password")
	}
	if err := kafka(); err == nil {
		t.Error("Kafka took a client without SASL")
	}

	mqtt := func(user, pass string) error {
		o := paho.NewClientOptions().AddBroker("tcp://" + addrs["mqtt"]).SetClientID(fmt.Sprintf("auth-%s-%d", user, time.Now().UnixNano())).
			SetConnectRetry(false).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
		if user != "" {
			o.SetUsername(user).SetPassword(pass)
		}
		c := paho.NewClient(o)
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if tok.Error() == nil {
			c.Disconnect(0)
		}
		return tok.Error()
	}
	if err := mqtt("alice", "s3cret"); err != nil {
		t.Errorf("MQTT as alice: %v", err)
	}
	if err := mqtt("alice", "wrong"); !errors.Is(err, packets.ErrorRefusedNotAuthorised) {
		t.Errorf("MQTT with a wrong password: %v, want a refused CONNACK", err)
	}
	if err := mqtt("", ""); !errors.Is(err, packets.ErrorRefusedNotAuthorised) {
		t.Errorf("MQTT anonymous: %v, want a refused CONNACK", err)
	}

	c, err := amqp091.Dial("amqp://alice:s3cret@" + addrs["amqp"] + "/")
	if err != nil {
		t.Errorf("AMQP as alice: %v", err)
	} else {
		c.Close()
	}
	for _, login := range []string{"alice:wrong", "guest:guest"} {
		_, err := amqp091.Dial("amqp://" + login + "@" + addrs["amqp"] + "/")
		if e := (*amqp091.Error)(nil); !errors.As(err, &e) || e.Code != 403 {
			t.Errorf("AMQP as %s: %v, want 403 ACCESS_REFUSED", login, err)
		}
	}

	get := func(user, pass string) int {
		req, _ := http.NewRequest("GET", "http://"+addrs["schema_registry"]+"/subjects", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("alice", "s3cret"); got != 200 {
		t.Errorf("schema registry as alice: %d", got)
	}
	if got := get("alice", "wrong"); got != 401 {
		t.Errorf("schema registry with a wrong password: %d, want 401", got)
	}
	if got := get("", ""); got != 401 {
		t.Errorf("schema registry anonymous: %d, want 401", got)
	}

	// A user added to the file logs in at once, without a restart; a
	// removed one no longer does.
	mosquittoPasswd(t, "-b", pw, "bob", "b0b")
	mosquittoPasswd(t, "-D", pw, "alice")
	if err := kafka(kgo.SASL(plain.Auth{User: "bob", Pass: "b0b"}.AsMechanism())); err != nil {
		t.Errorf("Kafka as bob, added to the file: %v", err)
	}
	if err := mqtt("bob", "b0b"); err != nil {
		t.Errorf("MQTT as bob, added to the file: %v", err)
	}
	if got := get("bob", "b0b"); got != 200 {
		t.Errorf("schema registry as bob, added to the file: %d", got)
	}
	if _, err := amqp091.Dial("amqp://alice:s3cret@" + addrs["amqp"] + "/"); !isAccessRefused(err) {
		t.Errorf("AMQP as alice, removed from the file: %v, want 403", err)
	}
	noSecretsLogged(t, logs.String, "s3cret", "b0b")
}
