package kafka

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/txnindex"
)

// Transaction markers go into each partition of a transaction through the
// partition's producer, after the transaction's records (the client has
// them acknowledged before it ends the transaction), and take an offset
// each, as Kafka's control records do. A backend that keeps record batches
// whole stores the control batch itself; on Pulsar the marker is a message
// whose batch tag says what it is (txnindex.ControlTag) and
// whose property tells native consumers (bridge.TxnMarkerProperty).

// writeMarkers writes a job's markers to all its partitions at once.
func (h *Handler) writeMarkers(ctx context.Context, j *txnJob) error {
	var g errgroup.Group
	for _, p := range j.Parts {
		g.Go(func() error {
			pp, err := h.producers.get(ctx, p.Name, "") // markers are the gateway's
			if err != nil {
				return err
			}
			res := <-pp.sendControl(ctx, j.ProducerID, j.Epoch, j.Commit)
			return res.err
		})
	}
	return g.Wait()
}

// sendControl stores one marker.
func (pp *partitionProducer) sendControl(ctx context.Context, pid int64, epoch int16, commit bool) <-chan sendResult {
	if pp.raw {
		return pp.sendRawBytes(ctx, appendControlBatch(nil, 0, pid, epoch, commit, time.Now().UnixMilli()), 1)
	}
	outcome := "abort"
	if commit {
		outcome = "commit"
	}
	// No key: the tag says what a Fetch rebuilds, and the broker's admin
	// API answers with a message's key as an HTTP header.
	msg := bridge.OutMessage{Value: controlValue,
		Properties: map[string]string{bridge.TxnMarkerProperty: outcome}}
	return pp.sendBatch(ctx, []bridge.OutMessage{msg}, txnindex.ControlTagOf(pid, epoch, commit), nil)
}
