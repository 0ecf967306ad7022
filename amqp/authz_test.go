package amqp

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
)

// aclRules: alice may use vhost "/", read and write orders.eu, create and read queues under orders.
// (but not orders.secret: a deny beats the allow), use server-named queues, and create,
// read and write exchanges under ex. (but not write ex.ro); from 10.9.9.9 only, read
// hosted. bob may do anything to topics but has no vhost rule. carol is a super user.
const aclRules = `
acls:
  - {principal: "User:alice", resource: vhost, name: "/", operations: [describe]}
  - {principal: "User:alice", resource: topic, name: orders.eu, operations: [read, write]}
  - {principal: "User:alice", resource: topic, name: "orders.", pattern: prefixed, operations: [create, read]}
  - {principal: "User:alice", resource: topic, name: orders.secret, operations: [all], permission: deny}
  - {principal: "User:alice", resource: topic, name: "amq.gen-", pattern: prefixed, operations: [all]}
  - {principal: "User:alice", resource: exchange, name: "ex.", pattern: prefixed, operations: [create, read, write]}
  - {principal: "User:alice", resource: exchange, name: ex.ro, operations: [write], permission: deny}
  - {principal: "User:alice", resource: topic, name: hosted, operations: [read], host: 10.9.9.9}
  - {principal: "User:bob", resource: topic, name: "*", operations: [all]}
`

// authzGateway serves AMQP with aclRules, carol a super user.
func authzGateway(t *testing.T) *gateway {
	t.Helper()
	path := filepath.Join(t.TempDir(), "acls.yaml")
	must(t, os.WriteFile(path, []byte(aclRules), 0o600))
	a, err := authz.New(authz.Options{File: path, SuperUsers: []string{"carol"}})
	must(t, err)
	t.Cleanup(a.Close)
	return startGateway(t, "", func(o *Options) { o.Authz = a })
}

// refusedWith checks err is a channel's 403 with RabbitMQ's text.
func refusedWith(t *testing.T, what string, err error, text string) {
	t.Helper()
	e, ok := err.(*amqp091.Error)
	if !ok || e.Code != 403 || e.Reason != "ACCESS_REFUSED - "+text {
		t.Errorf("%s: %v, want 403 ACCESS_REFUSED - %s", what, err, text)
	}
}

// closedWith waits for the channel's close (after an asynchronous publish).
func closedWith(t *testing.T, what string, closed <-chan *amqp091.Error, text string) {
	t.Helper()
	select {
	case e := <-closed:
		if e == nil {
			t.Errorf("%s: channel closed without an error", what)
			return
		}
		refusedWith(t, what, e, text)
	case <-time.After(5 * time.Second):
		t.Errorf("%s: no channel.close", what)
	}
}

// openVhost plays a handshake as user up to connection.open of vhost and returns the
// server's answer: connection.open-ok, or connection.close.
func openVhost(t *testing.T, g *gateway, user, vhost string) wire.Method {
	t.Helper()
	addr := strings.TrimPrefix(g.url, "amqp://guest:guest@")
	nc, err := net.Dial("tcp", addr[:strings.Index(addr, "/")])
	must(t, err)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	r, w := wire.NewReader(nc), wire.NewWriter(nc)
	send := func(m wire.Method) {
		must(t, w.WriteMethod(0, m))
		must(t, w.Flush())
	}
	read := func() wire.Method {
		f, err := r.ReadFrame()
		must(t, err)
		m, err := wire.DecodeMethod(f.Payload)
		must(t, err)
		return m
	}
	_, err = io.WriteString(nc, wire.ProtocolHeader)
	must(t, err)
	read() // start
	send(&wire.ConnectionStartOk{ClientProperties: wire.Table{}, Mechanism: "PLAIN", Response: "\x00" + user + "\x00pw", Locale: "en_US"})
	read() // tune
	r.SetFrameMax(131072)
	w.SetFrameMax(131072)
	send(&wire.ConnectionTuneOk{ChannelMax: 16, FrameMax: 131072})
	send(&wire.ConnectionOpen{VirtualHost: vhost})
	m := read()
	if _, ok := m.(*wire.ConnectionClose); ok {
		send(&wire.ConnectionCloseOk{})
	}
	return m
}

// Without a vhost rule connection.open is refused as RabbitMQ refuses it: connection.close
// 530 NOT_ALLOWED, "access to vhost '/' refused for user 'bob'". A rule for the vhost lets
// the user in; a super user needs none.
func TestAuthzVhost(t *testing.T) {
	g := authzGateway(t)
	m := openVhost(t, g, "bob", "/")
	cl, ok := m.(*wire.ConnectionClose)
	if !ok || cl.ReplyCode != 530 || cl.ReplyText != "NOT_ALLOWED - access to vhost '/' refused for user 'bob'" {
		t.Fatalf("bob's connection.open: %+v, want connection.close 530", m)
	}
	if id, _ := (&wire.ConnectionOpen{}).ID(); cl.ClassID != id {
		t.Errorf("connection.close names class %d, want connection.open's", cl.ClassID)
	}
	if _, err := amqp091.Dial(withLogin(g, "bob", "pw")); err == nil {
		t.Error("amqp091 as bob: connected")
	}
	for _, user := range []string{"alice", "carol"} {
		if m := openVhost(t, g, user, "/"); m.Name() != (&wire.ConnectionOpenOk{}).Name() {
			t.Errorf("%s's connection.open: %+v, want open-ok", user, m)
		}
	}
	// A vhost of its own is a resource of its own: alice has no rule for it.
	if m, ok := openVhost(t, g, "alice", "other").(*wire.ConnectionClose); !ok || m.ReplyCode != 530 ||
		!strings.Contains(m.ReplyText, "access to vhost 'other' refused for user 'alice'") {
		t.Errorf("alice's connection.open of vhost other: %+v, want 530", m)
	}
}

// Queues: alice publishes to orders.eu through the default exchange and consumes it; a
// refused consume, declare, get, purge, delete or publish closes only its channel with
// 403 and RabbitMQ's text, and loses nothing.
func TestAuthzQueues(t *testing.T) {
	g := authzGateway(t)
	carol := channel091(t, dialAs(t, g, "carol"))
	declare(t, carol, "secret")
	declare(t, carol, "hosted")
	publish(t, carol, "", "secret", "classified")

	alice := dialAs(t, g, "alice")
	ch := channel091(t, alice)
	declare(t, ch, "orders.eu") // create: orders. prefixed
	deliveries := consume(t, ch, "orders.eu", true)
	publish(t, ch, "", "orders.eu", "o1")
	if m := recv(t, deliveries); string(m.Body) != "o1" {
		t.Fatalf("got %q", m.Body)
	}
	if _, err := ch.QueueDeclarePassive("orders.eu", false, false, false, false, nil); err != nil {
		t.Errorf("passive declare of orders.eu (describe, implied by read): %v", err)
	}

	refusals := []struct {
		what string
		do   func(*amqp091.Channel) error
		text string
	}{
		{"consume secret", func(c *amqp091.Channel) error {
			_, err := c.Consume("secret", "", false, false, false, false, nil)
			return err
		}, "read access to queue 'secret' in vhost '/' refused for user 'alice'"},
		{"get secret", func(c *amqp091.Channel) error {
			_, _, err := c.Get("secret", false)
			return err
		}, "read access to queue 'secret' in vhost '/' refused for user 'alice'"},
		{"purge secret", func(c *amqp091.Channel) error {
			_, err := c.QueuePurge("secret", false)
			return err
		}, "read access to queue 'secret' in vhost '/' refused for user 'alice'"},
		{"delete secret", func(c *amqp091.Channel) error {
			_, err := c.QueueDelete("secret", false, false, false)
			return err
		}, "configure access to queue 'secret' in vhost '/' refused for user 'alice'"},
		{"delete orders.eu (no delete rule)", func(c *amqp091.Channel) error {
			_, err := c.QueueDelete("orders.eu", false, false, false)
			return err
		}, "configure access to queue 'orders.eu' in vhost '/' refused for user 'alice'"},
		{"declare outside orders.", func(c *amqp091.Channel) error {
			_, err := c.QueueDeclare("payments", false, false, false, false, nil)
			return err
		}, "configure access to queue 'payments' in vhost '/' refused for user 'alice'"},
		{"declare of an existing queue (configure all the same)", func(c *amqp091.Channel) error {
			_, err := c.QueueDeclare("secret", false, false, false, false, nil)
			return err
		}, "configure access to queue 'secret' in vhost '/' refused for user 'alice'"},
		{"declare orders.secret (a deny beats the prefixed allow)", func(c *amqp091.Channel) error {
			_, err := c.QueueDeclare("orders.secret", false, false, false, false, nil)
			return err
		}, "configure access to queue 'orders.secret' in vhost '/' refused for user 'alice'"},
		{"passive declare of secret", func(c *amqp091.Channel) error {
			_, err := c.QueueDeclarePassive("secret", false, false, false, false, nil)
			return err
		}, "describe access to queue 'secret' in vhost '/' refused for user 'alice'"},
		{"consume hosted (its rule is for another host)", func(c *amqp091.Channel) error {
			_, err := c.Consume("hosted", "", false, false, false, false, nil)
			return err
		}, "read access to queue 'hosted' in vhost '/' refused for user 'alice'"},
		{"declare dead-lettering to a queue alice may not write", func(c *amqp091.Channel) error {
			_, err := c.QueueDeclare("orders.dl", false, false, false, false,
				amqp091.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "secret"})
			return err
		}, "write access to exchange 'amq.default' in vhost '/' refused for user 'alice'"},
		{"declare dead-lettering by the messages' keys (could reach any queue)", func(c *amqp091.Channel) error {
			_, err := c.QueueDeclare("orders.dl", false, false, false, false, amqp091.Table{"x-dead-letter-exchange": ""})
			return err
		}, "write access to exchange 'amq.default' in vhost '/' refused for user 'alice'"},
	}
	for _, r := range refusals {
		c := channel091(t, alice)
		refusedWith(t, r.what, r.do(c), r.text)
		if alice.IsClosed() {
			t.Fatalf("%s closed the connection", r.what)
		}
		// The other channel goes on.
		publish(t, ch, "", "orders.eu", r.what)
		if m := recv(t, deliveries); string(m.Body) != r.what {
			t.Fatalf("after %s: got %q", r.what, m.Body)
		}
	}

	// A publish to a queue alice may not write: channel.close 403 naming amq.default, as
	// RabbitMQ names the default exchange; secret keeps its one message.
	c := channel091(t, alice)
	closed := c.NotifyClose(make(chan *amqp091.Error, 1))
	must(t, c.PublishWithContext(context.Background(), "", "secret", false, false, amqp091.Publishing{Body: []byte("leak")}))
	closedWith(t, "publish to secret", closed, "write access to exchange 'amq.default' in vhost '/' refused for user 'alice'")
	if q, err := carol.QueueDeclarePassive("secret", false, false, false, false, nil); err != nil || q.Messages != 1 {
		t.Errorf("secret after the refused publish: %+v %v, want its 1 message", q, err)
	}

	// Server-named queues: configure on the generated name (amq.gen-, as RabbitMQ checks).
	c = channel091(t, alice)
	q, err := c.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	if !strings.HasPrefix(q.Name, "amq.gen-") {
		t.Fatalf("server-named queue %q", q.Name)
	}
	// Dead-lettering to a queue alice may write is fine.
	_, err = c.QueueDeclare("orders.dl", false, false, false, false,
		amqp091.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "orders.eu"})
	must(t, err)

	// Direct reply-to needs no rule, as in RabbitMQ.
	replies, err := c.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	must(t, err)
	must(t, c.PublishWithContext(context.Background(), "", "orders.eu", false, false,
		amqp091.Publishing{ReplyTo: "amq.rabbitmq.reply-to", Body: []byte("ping")}))
	req := recv(t, deliveries)
	publish(t, ch, "", req.ReplyTo, "pong")
	if m := recv(t, replies); string(m.Body) != "pong" {
		t.Errorf("reply %q", m.Body)
	}
}

// Exchanges: declare, bind (write on the destination, read on the source), publish (write)
// and delete (configure), each checked; a refusal closes the channel with 403.
func TestAuthzExchanges(t *testing.T) {
	g := authzGateway(t)
	carol := channel091(t, dialAs(t, g, "carol"))
	must(t, carol.ExchangeDeclare("admin.x", "direct", false, false, false, false, nil))
	must(t, carol.ExchangeDeclare("ex.ro", "direct", false, false, false, false, nil))
	declare(t, carol, "secret")

	alice := dialAs(t, g, "alice")
	ch := channel091(t, alice)
	declare(t, ch, "orders.eu")
	must(t, ch.ExchangeDeclare("ex.a", "direct", false, false, false, false, nil))
	must(t, ch.ExchangeDeclare("ex.b", "fanout", false, false, false, false, nil))
	must(t, ch.ExchangeDeclarePassive("ex.a", "direct", false, false, false, false, nil))
	must(t, ch.QueueBind("orders.eu", "k", "ex.a", false, nil))
	must(t, ch.ExchangeBind("ex.a", "k", "ex.b", false, nil)) // ex.b -> ex.a
	deliveries := consume(t, ch, "orders.eu", true)
	publish(t, ch, "ex.b", "k", "via ex.b")
	if m := recv(t, deliveries); string(m.Body) != "via ex.b" {
		t.Fatalf("got %q", m.Body)
	}
	must(t, ch.QueueUnbind("orders.eu", "k", "ex.a", nil))
	must(t, ch.QueueBind("orders.eu", "k", "ex.a", false, nil))
	must(t, ch.ExchangeDeclare("ex.ae", "fanout", false, false, false, false, amqp091.Table{"alternate-exchange": "ex.a"}))

	refusals := []struct {
		what string
		do   func(*amqp091.Channel) error
		text string
	}{
		{"declare outside ex.", func(c *amqp091.Channel) error {
			return c.ExchangeDeclare("other", "direct", false, false, false, false, nil)
		}, "configure access to exchange 'other' in vhost '/' refused for user 'alice'"},
		{"passive declare of admin.x", func(c *amqp091.Channel) error {
			return c.ExchangeDeclarePassive("admin.x", "direct", false, false, false, false, nil)
		}, "describe access to exchange 'admin.x' in vhost '/' refused for user 'alice'"},
		{"delete ex.a (no delete rule)", func(c *amqp091.Channel) error {
			return c.ExchangeDelete("ex.a", false, false)
		}, "configure access to exchange 'ex.a' in vhost '/' refused for user 'alice'"},
		{"bind secret (write on the queue)", func(c *amqp091.Channel) error {
			return c.QueueBind("secret", "k", "ex.a", false, nil)
		}, "write access to queue 'secret' in vhost '/' refused for user 'alice'"},
		{"bind from admin.x (read on the exchange)", func(c *amqp091.Channel) error {
			return c.QueueBind("orders.eu", "k", "admin.x", false, nil)
		}, "read access to exchange 'admin.x' in vhost '/' refused for user 'alice'"},
		{"unbind from admin.x", func(c *amqp091.Channel) error {
			return c.QueueUnbind("orders.eu", "k", "admin.x", nil)
		}, "read access to exchange 'admin.x' in vhost '/' refused for user 'alice'"},
		{"exchange bind into ex.ro (a deny of write beats the prefixed allow)", func(c *amqp091.Channel) error {
			return c.ExchangeBind("ex.ro", "k", "ex.a", false, nil)
		}, "write access to exchange 'ex.ro' in vhost '/' refused for user 'alice'"},
		{"exchange bind from admin.x", func(c *amqp091.Channel) error {
			return c.ExchangeBind("ex.a", "k", "admin.x", false, nil)
		}, "read access to exchange 'admin.x' in vhost '/' refused for user 'alice'"},
		{"declare with an alternate exchange alice may not write", func(c *amqp091.Channel) error {
			return c.ExchangeDeclare("ex.ae2", "fanout", false, false, false, false, amqp091.Table{"alternate-exchange": "admin.x"})
		}, "write access to exchange 'admin.x' in vhost '/' refused for user 'alice'"},
	}
	for _, r := range refusals {
		refusedWith(t, r.what, r.do(channel091(t, alice)), r.text)
	}
	for _, x := range []string{"admin.x", "ex.ro"} {
		c := channel091(t, alice)
		closed := c.NotifyClose(make(chan *amqp091.Error, 1))
		must(t, c.PublishWithContext(context.Background(), x, "k", false, false, amqp091.Publishing{Body: []byte("no")}))
		closedWith(t, "publish to "+x, closed, "write access to exchange '"+x+"' in vhost '/' refused for user '"+"alice"+"'")
	}
	if alice.IsClosed() {
		t.Fatal("a refusal closed the connection")
	}
	publish(t, ch, "ex.a", "k", "still")
	if m := recv(t, deliveries); string(m.Body) != "still" {
		t.Fatalf("got %q", m.Body)
	}
}

// A super user may do everything, with no rule at all.
func TestAuthzSuperUser(t *testing.T) {
	g := authzGateway(t)
	ch := channel091(t, dialAs(t, g, "carol"))
	declare(t, ch, "anything")
	must(t, ch.ExchangeDeclare("x", "topic", false, false, false, false, nil))
	must(t, ch.QueueBind("anything", "#", "x", false, nil))
	d := consume(t, ch, "anything", true)
	publish(t, ch, "x", "a.b", "m")
	recv(t, d)
	_, err := ch.QueuePurge("anything", false)
	must(t, err)
	must(t, ch.ExchangeDelete("x", false, false))
	_, err = ch.QueueDelete("anything", false, false, false)
	must(t, err)
}

func dialAs(t *testing.T, g *gateway, user string) *amqp091.Connection {
	t.Helper()
	c, err := amqp091.Dial(withLogin(g, user, "pw"))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// RabbitMQ's own permission triple (rabbitmq_permissions in the rule file,
// as `rabbitmqctl set_permissions -p / dave "^dave-" ".*" "^dave-"` sets
// it): dave configures and reads queues named dave-*, writes anywhere.
func TestAuthzRabbitMQPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acls.yaml")
	must(t, os.WriteFile(path, []byte(`rabbitmq_permissions:
  - {user: dave, vhost: /, configure: "^dave-", write: ".*", read: "^dave-"}
`), 0o600))
	a, err := authz.New(authz.Options{File: path})
	must(t, err)
	t.Cleanup(a.Close)
	g := startGateway(t, "", func(o *Options) { o.Authz = a })
	c := dialAs(t, g, "dave")
	ch := channel091(t, c)
	declare(t, ch, "dave-q")
	d := consume(t, ch, "dave-q", true)
	publish(t, ch, "", "dave-q", "m")
	recv(t, d)
	other := channel091(t, c)
	_, err = other.QueueDeclare("erin-q", false, false, false, false, nil)
	refusedWith(t, "dave declares erin-q", err, "configure access to queue 'erin-q' in vhost '/' refused for user 'dave'")
	// Another vhost: no permissions there.
	if m, ok := openVhost(t, g, "dave", "other").(*wire.ConnectionClose); !ok || m.ReplyCode != 530 {
		t.Fatalf("dave opens vhost other: %#v, want connection.close 530", m)
	}
}
