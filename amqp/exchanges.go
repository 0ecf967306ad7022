package amqp

import (
	"bytes"
	"errors"
	"strings"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

var exchangeTypes = map[string]bool{"direct": true, "fanout": true, "topic": true, "headers": true}

func (ch *channel) exchangeDeclare(m *wire.ExchangeDeclare) error {
	c := ch.c
	name := m.Exchange
	if name == "" {
		return wire.NewError(wire.AccessRefused, "operation not permitted on the default exchange").WithMethod(m)
	}
	op := authz.Create // RabbitMQ: configure, existing or not
	if m.Passive {
		op = authz.Describe
	}
	if err := ch.permit(m, op, authz.Exchange, name); err != nil {
		return err
	}
	x, exists := c.s.topo.exchange(c.vhost, name)
	if m.Passive {
		if !exists {
			return wire.NewError(wire.NotFound, "no exchange '%s' in vhost '%s'", name, c.vhost).WithMethod(m)
		}
		return ch.reply(m.NoWait, &wire.ExchangeDeclareOk{})
	}
	if !exchangeTypes[m.Type] {
		// RabbitMQ: rabbit_exchange:check_type, a command-invalid connection error.
		return wire.NewError(wire.CommandInvalid, "unknown exchange type '%s'", m.Type).WithMethod(m)
	}
	want := exchangeRec{Type: m.Type, Durable: m.Durable, AutoDelete: m.AutoDelete, Internal: m.Internal, Args: encodeArgs(m.Arguments)}
	if exists {
		if x.Type != want.Type || x.Durable != want.Durable || x.AutoDelete != want.AutoDelete || x.Internal != want.Internal ||
			!bytes.Equal(knownArgs(x.Args, "alternate-exchange"), knownArgs(want.Args, "alternate-exchange")) {
			return wire.NewError(wire.PreconditionFailed, "inequivalent arg 'type' for exchange '%s' in vhost '%s': received '%s' but current is '%s'",
				name, c.vhost, m.Type, x.Type).WithMethod(m)
		}
		return ch.reply(m.NoWait, &wire.ExchangeDeclareOk{})
	}
	if strings.HasPrefix(name, "amq.") {
		return wire.NewError(wire.AccessRefused, "exchange name '%s' contains reserved prefix 'amq.*'", name).WithMethod(m)
	}
	if ae, ok := m.Arguments["alternate-exchange"].(string); ok {
		// A new exchange falling back somewhere: read it, write there (RabbitMQ's check).
		if err := ch.permit(m, authz.Read, authz.Exchange, name); err != nil {
			return err
		}
		if err := ch.permitRouteVia(m, ae, "", false); err != nil {
			return err
		}
	}
	ctx, cancel := ch.timeout()
	defer cancel()
	if err := c.s.topo.putExchange(ctx, c.vhost, name, want); err != nil {
		return internal(m, err)
	}
	return ch.reply(m.NoWait, &wire.ExchangeDeclareOk{})
}

func (ch *channel) exchangeDelete(m *wire.ExchangeDelete) error {
	c := ch.c
	name := m.Exchange
	if name != "" {
		if err := ch.permit(m, authz.Delete, authz.Exchange, name); err != nil {
			return err
		}
	}
	if _, pre := predeclared[name]; pre || strings.HasPrefix(name, "amq.") {
		return wire.NewError(wire.AccessRefused, "operation not permitted on exchange '%s'", name).WithMethod(m)
	}
	if _, ok := c.s.topo.exchange(c.vhost, name); !ok {
		return ch.reply(m.NoWait, &wire.ExchangeDeleteOk{}) // RabbitMQ: deleting a missing exchange is fine
	}
	if m.IfUnused && len(c.s.topo.bindingsFrom(c.vhost, name)) > 0 {
		return wire.NewError(wire.PreconditionFailed, "exchange '%s' in vhost '%s' in use", name, c.vhost).WithMethod(m)
	}
	ctx, cancel := ch.timeout()
	defer cancel()
	if err := c.s.topo.deleteExchange(ctx, c.vhost, name); err != nil {
		return internal(m, err)
	}
	return ch.reply(m.NoWait, &wire.ExchangeDeleteOk{})
}

// knownArgs keeps the arguments RabbitMQ compares on redeclare, re-encoded so that the
// comparison does not depend on unknown ones.
func knownArgs(enc []byte, names ...string) []byte {
	t := decodeArgs(enc)
	k := wire.Table{}
	for _, n := range names {
		if v, ok := t[n]; ok {
			if i, isInt := asInt(v); isInt {
				v = i // integer widths compare by value
			}
			k[n] = v
		}
	}
	return encodeArgs(k)
}

// internal wraps a backend failure as a connection error, as RabbitMQ's internal errors are.
func internal(m wire.Method, err error) error {
	if errors.Is(err, bridge.ErrForbidden) {
		// The store refused the client's own principal (act_as_clients):
		// RabbitMQ's refusal, on the channel.
		return wire.NewError(wire.AccessRefused, "access refused by the store: %v", err).WithMethod(m)
	}
	return wire.NewError(wire.InternalError, "%v", err).WithMethod(m)
}

// exchangeBind binds exchange to exchange (RabbitMQ's extension): messages routed by the
// source through this binding are routed again by the destination.
func (ch *channel) exchangeBind(m wire.Method, dest, source, key string, args wire.Table, bind, noWait bool) error {
	c := ch.c
	// As RabbitMQ's binding_action: write on the destination, then the default exchange,
	// then read on the source.
	if dest != "" {
		if err := ch.permit(m, authz.Write, authz.Exchange, dest); err != nil {
			return err
		}
	}
	if dest == "" || source == "" {
		return wire.NewError(wire.AccessRefused, "operation not permitted on the default exchange").WithMethod(m)
	}
	if err := ch.permit(m, authz.Read, authz.Exchange, source); err != nil {
		return err
	}
	for _, name := range []string{source, dest} {
		if _, ok := c.s.topo.exchange(c.vhost, name); !ok {
			return wire.NewError(wire.NotFound, "no exchange '%s' in vhost '%s'", name, c.vhost).WithMethod(m)
		}
	}
	ctx, cancel := ch.timeout()
	defer cancel()
	b := bindingRec{Exchange: source, Queue: dest, ToExchange: true, Key: key, Args: encodeArgs(args)}
	if bind {
		if err := c.s.topo.bind(ctx, c.vhost, b); err != nil {
			return internal(m, err)
		}
		return ch.reply(noWait, &wire.ExchangeBindOk{})
	}
	if err := c.s.topo.unbind(ctx, c.vhost, b); err != nil {
		return internal(m, err)
	}
	return ch.reply(noWait, &wire.ExchangeUnbindOk{})
}
