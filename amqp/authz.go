package amqp

import (
	"net"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Authorization: RabbitMQ's permissions (configure, write, read per vhost) as the gateway's
// one rule set (package authz, Kafka's ACLs). Queue q is the topic resource q, exchange x
// the exchange resource x, vhost v the vhost resource v:
//
//	connection.open v                  DESCRIBE vhost v (else connection.close 530)
//	queue.declare q                    CREATE topic q (also when q exists, and on a
//	                                   server-named queue's generated name); passive: DESCRIBE
//	  new, with x-dead-letter-exchange READ topic q and WRITE on the dead-letter exchange
//	queue.delete q                     DELETE topic q
//	queue.purge q                      READ topic q
//	queue.bind / unbind q, x           WRITE topic q, READ exchange x
//	exchange.declare x                 CREATE exchange x; passive: DESCRIBE
//	  new, with alternate-exchange a   READ exchange x and WRITE on exchange a
//	exchange.delete x                  DELETE exchange x
//	exchange.bind / unbind d, s        WRITE exchange d, READ exchange s
//	basic.publish x                    WRITE exchange x; to the default exchange "" WRITE
//	                                   topic routing_key (the queue it names)
//	basic.consume / basic.get q        READ topic q
//
// WRITE "on an exchange" is, for the default exchange "", WRITE on the topic its key names;
// a dead-letter or alternate exchange "" without a fixed key could route to any queue, so it
// takes WRITE on every topic. Direct reply-to (amq.rabbitmq.reply-to: its declare, consume
// and the replies published to reply names) needs no rule, as in RabbitMQ, where it is
// open to every user of the vhost. Every denial on a channel is channel.close 403
// ACCESS_REFUSED with RabbitMQ's text ("read access to queue 'q' in vhost '/' refused for
// user 'alice'"); the connection and its other channels go on. A nil Options.Authz
// checks nothing.

// authorize sets who the connection's checks are about: the logged-in user from the
// client's address.
func (c *conn) authorize(user string) {
	c.user = user
	host, _, err := net.SplitHostPort(c.nc.RemoteAddr().String())
	if err != nil {
		host = c.nc.RemoteAddr().String()
	}
	c.who = authz.Who{Principal: authz.Principal(user), Host: host}
}

// allowed asks the rule set; nil (authorization off) allows everything.
func (c *conn) allowed(op authz.Op, res authz.Resource, name string) bool {
	return c.s.opts.Authz.Allowed(c.who, op, res, name)
}

// vhostAllowed: connection.open of vhost needs DESCRIBE on it.
func (c *conn) vhostAllowed(m wire.Method, vhost string) error {
	if c.allowed(authz.Describe, authz.VHost, vhost) {
		return nil
	}
	// rabbit_access_control:check_vhost_access, a not_allowed (530) connection error.
	return wire.NewError(wire.NotAllowed, "access to vhost '%s' refused for user '%s'", vhost, c.user).WithMethod(m)
}

// permit checks op on a queue (authz.Topic) or an exchange, and returns the channel error
// RabbitMQ sends when it is refused.
func (ch *channel) permit(m wire.Method, op authz.Op, res authz.Resource, name string) error {
	if ch.c.allowed(op, res, name) {
		return nil
	}
	return ch.accessRefused(m, op, res, name)
}

// accessRefused is rabbit_access_control:check_resource_access's error: "~s access to ~ts
// refused for user '~ts'", the permission being configure, write or read. DESCRIBE (passive
// declares, which RabbitMQ does not check) says describe.
func (ch *channel) accessRefused(m wire.Method, op authz.Op, res authz.Resource, name string) error {
	kind := "queue"
	if res == authz.Exchange {
		kind = "exchange"
		if name == "" {
			name = "amq.default" // as RabbitMQ names the default exchange here
		}
	}
	return wire.NewError(wire.AccessRefused, "%s access to %s '%s' in vhost '%s' refused for user '%s'",
		permissionWord(op), kind, name, ch.c.vhost, ch.c.user).WithMethod(m)
}

func permissionWord(op authz.Op) string {
	switch op {
	case authz.Create, authz.Delete:
		return "configure"
	case authz.Write:
		return "write"
	case authz.Read:
		return "read"
	}
	return "describe"
}

// permitPublish checks a publish to exchange with key: WRITE on the exchange, or for the
// default exchange WRITE on the queue the key names (a reply name of direct reply-to needs
// none). A refusal names the exchange, amq.default for the default one, as RabbitMQ's.
func (ch *channel) permitPublish(m wire.Method, exchange, key string) error {
	if exchange != "" {
		return ch.permit(m, authz.Write, authz.Exchange, exchange)
	}
	if isReplyTo(key) || ch.c.allowed(authz.Write, authz.Topic, key) {
		return nil
	}
	return ch.accessRefused(m, authz.Write, authz.Exchange, "")
}

// permitRouteVia checks WRITE through an exchange a declared queue dead-letters to or a
// declared exchange falls back to (RabbitMQ's check_write_permitted on the DLX or the
// alternate exchange): the exchange itself, or for the default exchange the queue key
// names; with no fixed key (hasKey false) the messages' own keys could name any queue, so
// every topic.
func (ch *channel) permitRouteVia(m wire.Method, exchange, key string, hasKey bool) error {
	switch {
	case exchange != "":
		return ch.permit(m, authz.Write, authz.Exchange, exchange)
	case hasKey:
		if ch.c.allowed(authz.Write, authz.Topic, key) {
			return nil
		}
	case ch.c.s.opts.Authz.AllowedPrefix(ch.c.who, authz.Write, authz.Topic, ""):
		return nil
	}
	return ch.accessRefused(m, authz.Write, authz.Exchange, "")
}

// actingAs is the principal the connection's producers and consumers act for in the
// store (bridge.ActingAs): the logged-in user; ANONYMOUS when logins are off, since the
// user a client names is then unchecked.
func (c *conn) actingAs() string {
	user := c.user
	if c.s.opts.Authenticate == nil && c.s.opts.CertUser == nil {
		user = "ANONYMOUS"
	}
	return bridge.ActingAs(c.s.opts.Backend, user)
}
