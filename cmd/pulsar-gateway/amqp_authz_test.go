package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// With --auth-acl-file the AMQP listener enforces the one rule set: alice uses the queue
// her rules give her and gets a channel 403 on another; bob, with no rule for vhost "/",
// is refused at connection.open; carol, a super user, needs no rule.
func TestRunAMQPACLFile(t *testing.T) {
	pw := passwordFile(t, "alice", "a")
	mosquittoPasswd(t, "-b", pw, "bob", "b")
	mosquittoPasswd(t, "-b", pw, "carol", "c")
	acl := filepath.Join(t.TempDir(), "acls.yaml")
	if err := os.WriteFile(acl, []byte(`acls:
  - {principal: "User:alice", resource: vhost, name: "/", operations: [describe]}
  - {principal: "User:alice", resource: topic, name: orders, operations: [create, read, write]}
  - {principal: "User:bob", resource: topic, name: "*", operations: [all]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	logs, _ := startRun(t, append(portZeroArgs(t), "--amqp-password-file", pw, "--auth-open", "kafka,mqtt,schema_registry",
		"--auth-acl-file", acl, "--auth-super-users", "carol"))
	addr := listeningAddrs(t, logs.String, 5)["amqp"]
	dial := func(user, pass string) (*amqp091.Connection, error) {
		return amqp091.Dial("amqp://" + user + ":" + pass + "@" + addr + "/")
	}

	open := func(user, pass string) (*amqp091.Connection, *amqp091.Channel) {
		c, err := dial(user, pass)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		t.Cleanup(func() { c.Close() })
		ch, err := c.Channel()
		if err != nil {
			t.Fatal(err)
		}
		return c, ch
	}

	_, cch := open("carol", "c") // a super user
	if _, err := cch.QueueDeclare("secret", false, false, false, false, nil); err != nil {
		t.Fatalf("carol declares secret: %v", err)
	}
	alice, ch := open("alice", "a")
	if _, err := ch.QueueDeclare("orders", false, false, false, false, nil); err != nil {
		t.Fatalf("alice declares orders: %v", err)
	}
	if err := ch.PublishWithContext(context.Background(), "", "orders", false, false, amqp091.Publishing{Body: []byte("o1")}); err != nil {
		t.Fatal(err)
	}
	other, err := alice.Channel()
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Consume("secret", "", false, false, false, false, nil)
	if e, ok := err.(*amqp091.Error); !ok || e.Code != 403 ||
		e.Reason != "ACCESS_REFUSED - read access to queue 'secret' in vhost '/' refused for user 'alice'" {
		t.Errorf("alice consumes secret: %v, want 403", err)
	}
	d, err := ch.Consume("orders", "", true, false, false, false, nil)
	if err != nil {
		t.Fatalf("alice consumes orders after the refusal on another channel: %v", err)
	}
	select {
	case m := <-d:
		if string(m.Body) != "o1" {
			t.Errorf("got %q", m.Body)
		}
	case <-time.After(5 * time.Second):
		t.Error("no delivery from orders")
	}

	// amqp091-go reports any refusal at connection.open as its ErrVhost; the gateway sent 530.
	if c, err := dial("bob", "b"); err == nil {
		c.Close()
		t.Error("bob opened vhost / without a rule for it")
	}
}
