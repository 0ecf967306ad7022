package mqtt

import (
	"context"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/txnindex"
)

// A record a Kafka transaction wrote reaches an MQTT subscriber only once
// its transaction committed, as a Kafka read_committed consumer gets it:
// the subscription waits at it (later messages keep their order behind it),
// and a record of an aborted transaction is acknowledged unseen. What
// became of the transaction is read from the partition (package txnindex).

// kafkaTxnRecheck is how often a subscription waiting at an open
// transaction looks again.
const kafkaTxnRecheck = 50 * time.Millisecond

// kafkaTxnOutcome waits until m's transaction ended; Pending means ctx
// ended first. Before it waits it calls flush, so that the client is not
// kept from what was delivered before m.
func (s *Server) kafkaTxnOutcome(ctx context.Context, m *bridge.Message, flush func()) txnindex.Outcome {
	pid, err := strconv.ParseInt(m.Properties[bridge.TxnRecordProperty], 10, 64)
	if err != nil {
		return txnindex.Committed // not the gateway's mark: an ordinary record
	}
	ix := s.txns.Get(m.Topic)
	for {
		if o := ix.OutcomeOf(pid, m.Index); o != txnindex.Pending {
			return o
		}
		rng, err := s.backend.Admin().IndexRange(ctx, m.Topic)
		if err == nil {
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err = ix.Advance(actx, rng.Next)
			cancel()
		}
		if err != nil && ctx.Err() == nil {
			s.log.Debug("reading a partition's Kafka transactions", zap.String("topic", m.Topic), zap.Error(err))
		}
		if o := ix.OutcomeOf(pid, m.Index); o != txnindex.Pending {
			return o
		}
		if flush != nil {
			flush()
			flush = nil
		}
		select {
		case <-ctx.Done():
			return txnindex.Pending
		case <-time.After(kafkaTxnRecheck):
		}
	}
}
