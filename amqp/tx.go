package amqp

import (
	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// Transactions, with RabbitMQ's semantics (https://www.rabbitmq.com/docs/semantics): on a
// channel after tx.select, publishes are routed at once (a missing exchange still fails
// the publish) but written at tx.commit, and acks, nacks and rejects are checked at once
// (an unknown tag is still 406) but applied at tx.commit. commit-ok goes out once every
// write is durable; a write that failed makes the commit a 406 "partial tx completion", as
// RabbitMQ answers. tx.rollback drops the publishes and puts the settled deliveries back
// among the unacked ones: they are not redelivered until the channel closes or
// basic.recover. A channel is transactional or in confirm mode, never both (406).
//
// tx is touched by the connection's reader goroutine only (commands and channel close);
// settle reads it under ch.mu as well, from that same goroutine.
type tx struct {
	publishes []txPublish
	settles   []txSettle
}

type txPublish struct {
	exchange, key string
	mandatory     bool
	props         *wire.Properties
	body          []byte
	queues        []string
	direct        bool
}

type txSettle struct {
	deliveries map[uint64]*unacked
	kind       settleKind
}

func (ch *channel) txSelect(m *wire.TxSelect) error {
	ch.mu.Lock()
	confirming := ch.confirms != nil
	ch.mu.Unlock()
	if confirming {
		return wire.NewError(wire.PreconditionFailed, "cannot switch from confirm to tx mode").WithMethod(m)
	}
	if ch.tx == nil {
		ch.mu.Lock() // read by the management API's snapshot
		ch.tx = &tx{}
		ch.mu.Unlock()
	}
	return ch.send(&wire.TxSelectOk{})
}

// txCommit writes the transaction's publishes, waits until each write is durable or
// failed, applies its acks, and answers commit-ok (or 406 if a write failed).
func (ch *channel) txCommit(m *wire.TxCommit) error {
	if ch.tx == nil {
		return wire.NewError(wire.PreconditionFailed, "channel is not transactional").WithMethod(m)
	}
	t := ch.takeTx()
	writes := 0
	for _, p := range t.publishes {
		writes += max(1, len(p.queues))
	}
	results := make(chan error, writes) // never blocks a producer callback
	done := func(err error) { results <- err }
	for _, p := range t.publishes {
		_ = ch.write(p.exchange, p.key, p.mandatory, p.props, p.body, p.queues, p.direct, done) // a refusal fails the commit through done
	}
	ctx, cancel := ch.timeout()
	defer cancel()
	var failed error
wait:
	for range writes {
		select {
		case err := <-results:
			if err != nil {
				failed = err
			}
		case <-ctx.Done():
			failed = ctx.Err()
			break wait
		}
	}
	for _, s := range t.settles {
		ch.apply(s.deliveries, s.kind)
	}
	if failed != nil {
		ch.c.log.Debug("tx.commit: " + failed.Error())
		return wire.NewError(wire.PreconditionFailed, "partial tx completion").WithMethod(m)
	}
	return ch.send(&wire.TxCommitOk{})
}

// txRollback drops the uncommitted publishes and returns the uncommitted settlements to
// the unacked deliveries, under their tags.
func (ch *channel) txRollback(m *wire.TxRollback) error {
	if ch.tx == nil {
		return wire.NewError(wire.PreconditionFailed, "channel is not transactional").WithMethod(m)
	}
	ch.untakeSettles(ch.takeTx())
	return ch.send(&wire.TxRollbackOk{})
}

// takeTx empties the transaction (the channel stays transactional) and returns what it held.
func (ch *channel) takeTx() tx {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	t := *ch.tx
	*ch.tx = tx{}
	return t
}

// untakeSettles puts settled deliveries back among the unacked ones.
func (ch *channel) untakeSettles(t tx) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, s := range t.settles {
		for tag, u := range s.deliveries {
			ch.unacked[tag] = u
		}
	}
}
