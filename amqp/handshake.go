package amqp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/tlsident"
)

// Version is what connection.start reports as the server's version.
var Version = "0.1.0"

// capabilities are the RabbitMQ extensions implemented here, and only those: pika refuses
// confirm_delivery unless both publisher_confirms and basic.nack are offered.
var capabilities = wire.Table{
	"publisher_confirms":           true,
	"basic.nack":                   true,
	"exchange_exchange_bindings":   true,
	"consumer_cancel_notify":       true,
	"authentication_failure_close": true,
	"per_consumer_qos":             true,
	"connection.blocked":           true,
	"direct_reply_to":              true,
}

// handshake runs the connection's opening: protocol header, start/start-ok (login),
// tune/tune-ok, open/open-ok. Until tune the frame limit is the spec's 4096.
func (c *conn) handshake() error {
	c.nc.SetDeadline(time.Now().Add(10 * time.Second)) // RabbitMQ's handshake_timeout
	defer c.nc.SetDeadline(time.Time{})
	if err := c.r.ReadProtocolHeader(); err != nil {
		if errors.Is(err, wire.ErrProtocolHeader) {
			c.w.WriteProtocolHeader()
			c.w.Flush()
		}
		return err
	}
	err := c.send(0, &wire.ConnectionStart{VersionMajor: 0, VersionMinor: 9,
		ServerProperties: wire.Table{
			"product":      "pulsar-gateway",
			"version":      Version,
			"platform":     "Go",
			"cluster_name": "pulsar-gateway",
			"copyright":    "the pulsar-gateway authors",
			"information":  "AMQP 0-9-1 on Apache Pulsar",
			"capabilities": capabilities,
		},
		Mechanisms: c.mechanisms(), Locales: "en_US"})
	if err != nil {
		return err
	}
	var so *wire.ConnectionStartOk
	if err := c.expect(&so); err != nil {
		return err
	}
	c.clientProps, c.mechanism = so.ClientProperties, so.Mechanism
	if caps, ok := so.ClientProperties["capabilities"].(wire.Table); ok {
		c.caps = caps
	}
	user, ok := c.login(so.Mechanism, so.Response)
	if !ok {
		c.log.Info("login refused", zap.String("user", user), zap.String("mechanism", so.Mechanism))
		// As RabbitMQ: connection.close only to a client that asked for it, then its close-ok;
		// any other client sees the socket close, as the spec says.
		if c.capable("authentication_failure_close") {
			c.closeConn(wire.NewError(wire.AccessRefused, "Login was refused using authentication mechanism %s. For details see the broker logfile.", so.Mechanism))
			c.awaitCloseOk()
		}
		return fmt.Errorf("amqp: login of %q refused", user)
	}
	c.authorize(user)

	hb := uint16(max(c.s.opts.Heartbeat/time.Second, 0))
	if err := c.send(0, &wire.ConnectionTune{ChannelMax: c.s.opts.ChannelMax, FrameMax: c.s.opts.FrameMax, Heartbeat: hb}); err != nil {
		return err
	}
	var to *wire.ConnectionTuneOk
	if err := c.expect(&to); err != nil {
		return err
	}
	if to.FrameMax != 0 && (to.FrameMax < wire.FrameMinSize || to.FrameMax > c.s.opts.FrameMax) ||
		to.FrameMax == 0 {
		return wire.NewError(wire.NotAllowed, "frame_max=%d outside %d..%d", to.FrameMax, wire.FrameMinSize, c.s.opts.FrameMax).WithMethod(to)
	}
	if to.ChannelMax > c.s.opts.ChannelMax {
		return wire.NewError(wire.NotAllowed, "channel_max=%d above %d", to.ChannelMax, c.s.opts.ChannelMax).WithMethod(to)
	}
	c.channelMax = c.s.opts.ChannelMax
	if to.ChannelMax != 0 {
		c.channelMax = to.ChannelMax
	}
	c.heartbeat = time.Duration(to.Heartbeat) * time.Second
	c.frameMax = to.FrameMax
	c.r.SetFrameMax(to.FrameMax)
	c.wmu.Lock()
	c.w.SetFrameMax(to.FrameMax)
	c.wmu.Unlock()

	var op *wire.ConnectionOpen
	if err := c.expect(&op); err != nil {
		return err
	}
	vhost := op.VirtualHost
	if vhost == "" {
		vhost = "/"
	}
	if err := c.vhostAllowed(op, vhost); err != nil {
		c.log.Info("vhost access refused", zap.String("user", user), zap.String("vhost", vhost))
		return err
	}
	ns, ok := c.s.namespace(op.VirtualHost)
	if !ok {
		return wire.NewError(wire.NotAllowed, "vhost '%s' not found", op.VirtualHost).WithMethod(op)
	}
	if op.VirtualHost != "/" && op.VirtualHost != "" {
		// A namespace the backend does not know (Pulsar) is a vhost that does not exist.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := c.s.opts.Backend.Admin().ListTopics(ctx, ns)
		cancel()
		if err != nil {
			return wire.NewError(wire.NotAllowed, "vhost '%s' not found: %v", op.VirtualHost, err).WithMethod(op)
		}
	}
	c.vhost, c.namespace = op.VirtualHost, ns
	if c.vhost == "" {
		c.vhost = "/"
	}
	c.vcounts = c.s.vhostCounts(c.vhost)
	c.log = c.log.With(zap.String("user", user), zap.String("vhost", c.vhost))
	// Listed before open-ok goes out: a client whose Dial returned finds itself in the
	// management API's connections at once (a test saw it missing now and then).
	c.s.mu.Lock()
	c.s.conns[c] = true
	c.s.mu.Unlock()
	return c.send(0, &wire.ConnectionOpenOk{})
}

// expect reads the next method of channel 0 into *m, which must be of its type.
func (c *conn) expect(m any) error {
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			return err
		}
		if f.Type == wire.FrameHeartbeat {
			continue
		}
		if f.Type != wire.FrameMethod || f.Channel != 0 {
			return wire.NewError(wire.UnexpectedFrame, "frame type %d on channel %d during the handshake", f.Type, f.Channel)
		}
		got, err := wire.DecodeMethod(f.Payload)
		if err != nil {
			return err
		}
		ok := false
		switch p := m.(type) {
		case **wire.ConnectionStartOk:
			*p, ok = got.(*wire.ConnectionStartOk)
		case **wire.ConnectionTuneOk:
			*p, ok = got.(*wire.ConnectionTuneOk)
		case **wire.ConnectionOpen:
			*p, ok = got.(*wire.ConnectionOpen)
		}
		if !ok {
			if _, closing := got.(*wire.ConnectionClose); closing {
				c.send(0, &wire.ConnectionCloseOk{})
				return fmt.Errorf("amqp: client closed during the handshake")
			}
			return wire.NewError(wire.CommandInvalid, "unexpected %s during the handshake", got.Name()).WithMethod(got)
		}
		return nil
	}
}

// mechanisms are what connection.start offers.
func (c *conn) mechanisms() string {
	switch {
	case c.s.opts.CertUser == nil:
		return "PLAIN AMQPLAIN"
	case c.s.opts.Authenticate == nil:
		return "EXTERNAL" // a password would be checked against nothing
	}
	return "EXTERNAL PLAIN AMQPLAIN"
}

// login checks EXTERNAL (the TLS client certificate), PLAIN ("\0user\0password") or
// AMQPLAIN (table entries LOGIN and PASSWORD without the table's length). Without
// Options.Authenticate or CertUser any login is accepted.
func (c *conn) login(mechanism, response string) (string, bool) {
	if !strings.Contains(" "+c.mechanisms()+" ", " "+mechanism+" ") {
		return "", false
	}
	var user, pass string
	switch mechanism {
	case "EXTERNAL":
		cert, err := tlsident.PeerCertificate(c.ctx, c.nc)
		if err != nil || cert == nil {
			return "", false
		}
		user = c.s.opts.CertUser(cert)
		return user, user != "" && (c.s.opts.KnownUser == nil || c.s.opts.KnownUser(user))
	case "PLAIN":
		parts := strings.Split(response, "\x00")
		if len(parts) != 3 {
			return "", false
		}
		user, pass = parts[1], parts[2]
	case "AMQPLAIN":
		b := binary.BigEndian.AppendUint32(nil, uint32(len(response)))
		t, err := wire.DecodeTable(append(b, response...))
		if err != nil {
			return "", false
		}
		user, _ = t["LOGIN"].(string)
		pass, _ = t["PASSWORD"].(string)
	default:
		return "", false
	}
	if c.s.opts.Authenticate == nil {
		return user, c.s.opts.CertUser == nil
	}
	return user, c.s.opts.Authenticate(user, pass)
}
