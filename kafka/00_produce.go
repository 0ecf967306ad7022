package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
)

// Produce v3-v11: v3 is the first with record batch v2, which is all we
// decode; v12 (KIP-890 transactions) is not offered. acks=0 gets no
// answer; acks=1 and acks=all are answered once the backend has the
// records durable, which is the strongest it can say.
func init() { register(0, 3, 11, handleProduce) }

const minProduceWait = 5 * time.Second

// pendingPartition is a partition answer waiting for its batches.
type pendingPartition struct {
	rp      *kmsg.ProduceResponseTopicPartition
	results []<-chan sendResult
}

func handleProduce(h *Handler, r *request) (kmsg.Response, error) {
	arrived := time.Now()
	req := r.kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	txnID := ""
	if req.TransactionID != nil {
		txnID = *req.TransactionID
	}
	if txnID != "" && !r.allowed(authz.Write, authz.TransactionalID, txnID) {
		return produceRefused(req, resp, kerr.TransactionalIDAuthorizationFailed.Code), nil
	}

	// Records are checked and decoded first, in any order: pipelined
	// requests decode side by side (a 1 MiB batch took 1-11 ms), and only
	// the hand-off to the backend below waits for this connection's turn.
	var prepared []preparedPartition
	// Sized up front: prepared keeps pointers into it.
	resp.Topics = make([]kmsg.ProduceResponseTopic, 0, len(req.Topics))
	for _, t := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		internal := isInternal(t.Topic)
		denied := !internal && !r.allowedTopic(authz.Write, t.Topic)
		var info topicInfo
		var ok bool
		var err error
		if !internal && !denied {
			info, ok, err = h.lookupForWrite(r.ctx, t.Topic, r.mayCreate(t.Topic))
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.BaseOffset = -1
			rp.LogAppendTime = -1
			rp.LogStartOffset = -1
			switch {
			case denied:
				rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case internal:
				// Kafka's ReplicaManager: "Cannot append to internal topic".
				rp.ErrorCode = kerr.InvalidTopicException.Code
				rp.ErrorMessage = kmsg.StringPtr("Cannot append to internal topic " + t.Topic)
			case err != nil:
				rp.ErrorCode = errorCode(err)
			case !ok || p.Partition < 0 || int(p.Partition) >= info.partitions:
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
		if internal || denied || err != nil || !ok {
			continue
		}
		for i, p := range t.Partitions {
			rp := &resp.Topics[len(resp.Topics)-1].Partitions[i]
			if rp.ErrorCode != 0 {
				continue
			}
			prepared = append(prepared, preparedPartition{rp: rp, partition: info.partition(p.Partition), records: p.Records})
		}
	}
	// Partitions are prepared side by side: a first write to each of
	// 10,000 partitions opens 10,000 backend producers (a Pulsar round trip
	// each). Transactional ones stay in order (txnWriteAllowed).
	eachParallel(len(prepared), txnID == "", func(i int) {
		h.preparePartition(r.ctx, txnID, r.actingAs(), &prepared[i])
	})
	// Hand records to the backend in this connection's request order: an
	// idempotent producer pipelines batches and expects them in sequence.
	select {
	case <-r.produceTurn:
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	}
	// A producer id new on a partition saves a record there before its
	// first batch (idemscan.go): those of all partitions are made known at
	// once, then sent in order below, as before.
	eachParallel(len(prepared), true, func(i int) {
		pp := &prepared[i]
		if pp.rp.ErrorCode != 0 || len(pp.batches) == 0 || pp.batches[0].ProducerID < 0 {
			return
		}
		if err := h.pids.recover(r.ctx, pp.partition, &pp.batches[0]); err != nil {
			pp.recoverErr = err
		}
	})
	pending := make([]pendingPartition, 0, len(prepared))
	for i := range prepared {
		pending = append(pending, h.sendPartition(r.ctx, &prepared[i]))
	}
	close(r.produceDone)

	if req.Acks == 0 {
		for _, pp := range prepared {
			if pp.rp.ErrorCode == 0 {
				n, size := pp.size()
				h.opts.Metrics.Produced(n, size, time.Time{}) // handed off, not known durable
			}
		}
		return nil, nil
	}
	// Not r.ctx: records handed off become durable even if the client
	// leaves, and a draining gateway still answers them.
	// The timeout is Kafka's wait for replicas; the backend's own write is
	// part of the append here, so a tiny timeout still gets minProduceWait.
	timeout := max(time.Duration(req.TimeoutMillis)*time.Millisecond, minProduceWait)
	wait, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), timeout)
	defer cancel()
	for _, pp := range pending {
		if pp.rp.ErrorCode != 0 {
			continue
		}
		for _, ch := range pp.results {
			select {
			case res := <-ch:
				if res.err != nil {
					pp.rp.ErrorCode = errorCode(res.err)
				} else if pp.rp.BaseOffset < 0 {
					pp.rp.BaseOffset = res.base
				}
			case <-wait.Done():
				pp.rp.ErrorCode = kerr.RequestTimedOut.Code
			}
			if pp.rp.ErrorCode != 0 {
				pp.rp.BaseOffset = -1
				break
			}
		}
	}
	for i := range prepared {
		if prepared[i].rp.ErrorCode == 0 {
			n, size := prepared[i].size()
			h.opts.Metrics.Produced(n, size, arrived)
		}
	}
	return resp, nil
}

// produceRefused answers every partition of a Produce with one error.
func produceRefused(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse, code int16) *kmsg.ProduceResponse {
	for _, t := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition, rp.ErrorCode, rp.BaseOffset = p.Partition, code, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// lookupForWrite describes a topic, creating it when auto-creation is on
// and the principal may create it.
func (h *Handler) lookupForWrite(ctx context.Context, name string, mayCreate bool) (topicInfo, bool, error) {
	info, ok, err := h.topics.get(ctx, name)
	if err != nil || ok || h.opts.DisableAutoCreate || !mayCreate || !validTopic(name) {
		return info, ok, err
	}
	info, err = h.topics.create(ctx, name, h.opts.DefaultPartitions)
	return info, err == nil, err
}

// preparedPartition is one partition's batches, checked and ready to send.
type preparedPartition struct {
	rp         *kmsg.ProduceResponseTopicPartition
	partition  string
	records    []byte
	batches    []recordbatch.Batch
	sends      []func() <-chan sendResult // one per batch
	recoverErr error                      // of its first batch's producer state
}

// size is the records and bytes of its batches.
func (pp *preparedPartition) size() (records, bytes int) {
	for i := range pp.batches {
		records += pp.batches[i].NumRecords
		bytes += len(pp.batches[i].Raw)
	}
	return records, bytes
}

// preparePartition checks and decodes one partition's batches. Errors are
// set on rp at once, so a bad batch sends nothing.
func (h *Handler) preparePartition(ctx context.Context, txnID, principal string, pp *preparedPartition) {
	rp, partition := pp.rp, pp.partition
	batches, err := recordbatch.Split(pp.records)
	if err != nil {
		rp.ErrorCode = kerr.CorruptMessage.Code
		return
	}
	prod, err := h.producers.get(ctx, partition, principal)
	if err != nil {
		rp.ErrorCode = errorCode(err)
		return
	}
	sends := make([]func() <-chan sendResult, len(batches))
	var storeTxn *bridge.TxnID
	for i := range batches {
		b := &batches[i]
		if b.Transactional() != (txnID != "") {
			rp.ErrorCode = kerr.InvalidRecord.Code
			return
		}
		if i == 0 && txnID != "" {
			if rp.ErrorCode, storeTxn = h.txnWriteAllowed(ctx, txnID, partition, b); rp.ErrorCode != 0 {
				return
			}
		}
		if sends[i], err = prod.prepare(ctx, b, storeTxn); err != nil {
			rp.ErrorCode = kerr.CorruptMessage.Code
			return
		}
		if txnID != "" {
			send, pid, epoch := sends[i], b.ProducerID, b.ProducerEpoch
			sends[i] = func() <-chan sendResult { return h.txnBusy.track(txnID, pid, epoch, send) }
		}
	}
	pp.batches, pp.sends = batches, sends
}

// sendPartition hands a prepared partition's batches to the backend, after
// the idempotent producer checks, which need the connection's order.
func (h *Handler) sendPartition(ctx context.Context, prep *preparedPartition) pendingPartition {
	pp := pendingPartition{rp: prep.rp}
	if prep.rp.ErrorCode != 0 {
		return pp
	}
	partition := prep.partition
	for i := range prep.batches {
		b := &prep.batches[i]
		if b.ProducerID < 0 {
			pp.results = append(pp.results, prep.sends[i]())
			continue
		}
		if i == 0 && prep.recoverErr != nil {
			pp.rp.ErrorCode = errorCode(prep.recoverErr)
			return pp
		}
		if err := h.pids.recover(ctx, partition, b); err != nil {
			pp.rp.ErrorCode = errorCode(err)
			return pp
		}
		entry, dup, err := h.pids.check(partition, b)
		if err != nil {
			pp.rp.ErrorCode = errorCode(err)
			return pp
		}
		if dup {
			pp.results = append(pp.results, waitEntry(entry))
			continue
		}
		sent := prep.sends[i]()
		done := make(chan sendResult, 1)
		go func(pid int64) {
			res := <-sent
			h.pids.complete(partition, pid, entry, res)
			done <- res
		}(b.ProducerID)
		pp.results = append(pp.results, done)
	}
	return pp
}

// waitEntry answers a duplicate batch with the outcome of the original.
func waitEntry(e *seqBatch) <-chan sendResult {
	ch := make(chan sendResult, 1)
	go func() {
		<-e.done
		ch <- e.result
	}()
	return ch
}
