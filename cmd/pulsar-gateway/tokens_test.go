package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"

	"github.com/pulsar-gateway/pulsar-gateway/jwtauth/jwttest"
)

// With auth.jwks_file alone, a JWT its key signed logs in everywhere as
// its subject: Kafka OAUTHBEARER, MQTT and AMQP with the subject as user
// and the token as password, the schema registry with a Bearer header. A
// token of another subject than the user, or an expired one, is refused.
func TestRunTokensForEveryProtocol(t *testing.T) {
	key := jwttest.NewKey(t, "k")
	jwks := jwttest.WriteJWKS(t, key)
	sign := func(sub string, exp time.Duration) string { return key.Sign(t, jwttest.Claims(sub, exp)) }
	good, expired := sign("device-7", time.Hour), sign("device-7", -time.Hour)
	logs, _ := startRun(t, append(portZeroArgs(t), "--auth-jwks-file", jwks, "--log-level", "debug"))
	addrs := listeningAddrs(t, logs.String, 5)

	kafka := func(tok string) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs["kafka"]), kgo.SASL(oauth.Auth{Token: tok}.AsMechanism()))
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return cl.Ping(ctx)
	}
	if err := kafka(good); err != nil {
		t.Errorf("Kafka with the token: %v", err)
	}
	if err := kafka(expired); err == nil {
		t.Error("Kafka took an expired token")
	}

	mqtt := func(user, pass string) error {
		c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addrs["mqtt"]).SetClientID("tok-" + user).
			SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if tok.Error() == nil {
			c.Disconnect(0)
		}
		return tok.Error()
	}
	if err := mqtt("device-7", good); err != nil {
		t.Errorf("MQTT with the token: %v", err)
	}
	for what, login := range map[string][2]string{"another user": {"device-8", good}, "an expired token": {"device-7", expired}} {
		if err := mqtt(login[0], login[1]); err == nil {
			t.Errorf("MQTT took %s", what)
		}
	}

	if c, err := amqp091.Dial("amqp://device-7:" + good + "@" + addrs["amqp"] + "/"); err != nil {
		t.Errorf("AMQP with the token: %v", err)
	} else {
		c.Close()
	}
	if _, err := amqp091.Dial("amqp://device-8:" + good + "@" + addrs["amqp"] + "/"); !isAccessRefused(err) {
		t.Errorf("AMQP with another user's token: %v, want 403", err)
	}

	get := func(header string) int {
		req, _ := http.NewRequest("GET", "http://"+addrs["schema_registry"]+"/subjects", nil)
		req.Header.Set("Authorization", header)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("Bearer " + good); got != 200 {
		t.Errorf("schema registry with a Bearer token: %d", got)
	}
	if got := get("Bearer " + expired); got != 401 {
		t.Errorf("schema registry with an expired token: %d, want 401", got)
	}
	noSecretsLogged(t, logs.String, good, expired, good[strings.LastIndex(good, ".")+1:])
}

// noSecretsLogged fails when a log line holds one of the secrets a test
// used (at debug level: the test logs everything).
func noSecretsLogged(t *testing.T, logs func() string, secrets ...string) {
	t.Helper()
	for _, line := range strings.Split(logs(), "\n") {
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("a log line holds a secret: %s", line)
			}
		}
	}
}

func isAccessRefused(err error) bool {
	e := (*amqp091.Error)(nil)
	return errors.As(err, &e) && e.Code == 403
}
