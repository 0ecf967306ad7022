package kafka

import (
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Kafka transactions (KIP-98, KIP-447) as a deterministic state machine,
// one per transactional id, driven by the same kind of log as consumer
// groups (grouplog.go): the transaction coordinator's logs are keyed by
// transactional id, so every gateway holds the same transaction, and one
// begun through a gateway can be ended through another. The data and the
// data goes into the partitions themselves. Where the store has
// transactions of its own (bridge.Transactions: Pulsar's coordinator), each
// Kafka transaction that writes records is one of the store's, which hides
// its records from every reader until it commits (StoreTxn); elsewhere the
// commit/abort markers go into the partitions, as on Kafka (txnmarkers.go),
// and readers work out what is committed from them (txnindex).
// docs/transactions.md says why and what each costs.
//
// A command that ends a transaction (EndTxn, a timeout, an InitProducerId
// that finds one open) answers its sender with a job: write the markers,
// apply the transaction's offsets, then append "complete". Until then the
// id answers CONCURRENT_TRANSACTIONS, and a retry hands out the job again,
// so a gateway dying half-way leaves nothing stuck.

type txnPhase int8

const (
	txnEmpty txnPhase = iota
	txnOngoing
	txnPrepareCommit
	txnPrepareAbort
	txnCompleteCommit
	txnCompleteAbort
)

// String is the state as kafka-transactions.sh prints it.
func (p txnPhase) String() string {
	return [...]string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort"}[p]
}

// Kafka's transaction.max.timeout.ms default.
const maxTxnTimeoutMs = 15 * 60 * 1000

// txnState is a transactional id's state; exported fields are its snapshot.
type txnState struct {
	ProducerID int64
	Epoch      int16
	Phase      txnPhase
	TimeoutMs  int32
	Started    int64 // ms, when the transaction began (first partition or group)
	Updated    int64 // ms, of the last change
	// Alive is when (ms) a gateway last said it was still writing the
	// transaction's records: the timeout counts from it when later than
	// Started, so a transaction whose records the store takes long to
	// write (Pulsar's transaction buffer) is not aborted under a producer
	// that is waiting for them (txnbusy.go).
	Alive   int64 `json:",omitempty"`
	Parts   []txnPart
	Groups  []string
	Offsets map[string][]txnOffset // group -> offsets to commit with it
	// StoreTxn is the store's transaction holding the records, once a
	// partition was added (bridge.Transactions); nil with markers.
	StoreTxn *bridge.TxnID `json:",omitempty"`
}

// txnPart is a partition in a transaction.
type txnPart struct {
	Topic     string
	Partition int32
	Name      string // the backend's partition
}

type txnOffset struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    string
}

// txnCmd is a transaction coordinator command.
type txnCmd struct {
	Op         string // init, add-partitions, add-offsets, offsets, end, complete, timeout, alive
	ProducerID int64
	Epoch      int16
	NewPID     int64 // a fresh id the sender drew, for init
	TimeoutMs  int32
	Parts      []txnPart
	Group      string
	Offsets    []txnOffset
	Commit     bool
	StoreTxn   *bridge.TxnID // add-partitions: a store transaction the sender began, for a transaction without one
}

// txnAnswer is a command's answer to its sender.
type txnAnswer struct {
	Code       int16
	ProducerID int64
	Epoch      int16
	Job        *txnJob       // markers for the sender to write, then "complete"
	StoreTxn   *bridge.TxnID // add-partitions: the store transaction the records go in
}

// txnJob ends a prepared transaction.
type txnJob struct {
	ProducerID int64
	Epoch      int16
	Commit     bool
	Parts      []txnPart
	Offsets    map[string][]txnOffset
	StoreTxn   *bridge.TxnID // ended in the store instead of by markers
}

// mark changes whenever a snapshot is due.
func (t *txnState) mark() int64 {
	if t == nil {
		return -1
	}
	n := len(t.Parts) + len(t.Groups)
	for _, offs := range t.Offsets {
		n += len(offs)
	}
	if t.StoreTxn != nil {
		n++
	}
	return int64(t.Phase)<<32 | int64(uint16(t.Epoch))<<16 | int64(n)
}

func (t *txnState) job() *txnJob {
	return &txnJob{ProducerID: t.ProducerID, Epoch: t.Epoch, Commit: t.Phase == txnPrepareCommit,
		Parts: slices.Clone(t.Parts), Offsets: t.Offsets, StoreTxn: t.StoreTxn}
}

// check is the producer check of every command but init.
func (t *txnState) check(cmd *txnCmd) int16 {
	switch {
	case t.ProducerID != cmd.ProducerID:
		return kerr.InvalidProducerIDMapping.Code
	case cmd.Epoch < t.Epoch:
		return kerr.ProducerFenced.Code
	case cmd.Epoch > t.Epoch:
		return kerr.InvalidProducerEpoch.Code
	}
	return 0
}

// begin starts a transaction at now if none is open.
func (t *txnState) begin(now int64) {
	if t.Phase != txnOngoing {
		t.Phase, t.Started, t.Alive = txnOngoing, now, 0
		t.Parts, t.Groups, t.Offsets, t.StoreTxn = nil, nil, nil, nil
	}
}

func (g *group) applyTxn(cmd *txnCmd) txnAnswer {
	if g.Txn == nil {
		g.Txn = &txnState{ProducerID: -1, Epoch: -1}
	}
	t, now := g.Txn, g.Now
	prepared := t.Phase == txnPrepareCommit || t.Phase == txnPrepareAbort
	switch cmd.Op {
	case "init":
		switch {
		case prepared:
			return txnAnswer{Code: kerr.ConcurrentTransactions.Code, Job: t.job()}
		case t.Phase == txnOngoing:
			// The previous producer's transaction is aborted, and it is
			// fenced: its markers carry the next epoch.
			t.Phase, t.Updated = txnPrepareAbort, now
			t.Epoch++
			return txnAnswer{Code: kerr.ConcurrentTransactions.Code, Job: t.job()}
		case cmd.ProducerID >= 0 && t.ProducerID >= 0 && (cmd.ProducerID != t.ProducerID || cmd.Epoch != t.Epoch):
			// KIP-360: a producer bumping its own epoch must hold the current one.
			return txnAnswer{Code: kerr.ProducerFenced.Code, ProducerID: -1, Epoch: -1}
		}
		if t.ProducerID < 0 || t.Epoch >= math.MaxInt16-1 {
			t.ProducerID, t.Epoch = cmd.NewPID, 0
		} else {
			t.Epoch++
		}
		t.Phase, t.TimeoutMs, t.Updated = txnEmpty, cmd.TimeoutMs, now
		t.Parts, t.Groups, t.Offsets, t.StoreTxn = nil, nil, nil, nil
		return txnAnswer{ProducerID: t.ProducerID, Epoch: t.Epoch}
	case "timeout":
		switch {
		case t.Phase == txnOngoing && now >= t.timesOutAt():
			t.Phase, t.Updated = txnPrepareAbort, now
			t.Epoch++
			return txnAnswer{Job: t.job()}
		case prepared && now-t.Updated >= txnStuckAfter.Milliseconds():
			// Its ender went away before completing it.
			t.Updated = now
			return txnAnswer{Job: t.job()}
		}
		return txnAnswer{}
	case "alive":
		if t.Phase == txnOngoing && t.ProducerID == cmd.ProducerID && t.Epoch == cmd.Epoch {
			t.Alive = now
		}
		return txnAnswer{}
	}
	if t.ProducerID < 0 {
		return txnAnswer{Code: kerr.InvalidProducerIDMapping.Code}
	}
	if code := t.check(cmd); code != 0 {
		return txnAnswer{Code: code}
	}
	switch cmd.Op {
	case "add-partitions", "add-offsets":
		if prepared {
			return txnAnswer{Code: kerr.ConcurrentTransactions.Code}
		}
		t.begin(now)
		for _, p := range cmd.Parts {
			if !slices.Contains(t.Parts, p) {
				t.Parts = append(t.Parts, p)
			}
		}
		if cmd.Group != "" && !slices.Contains(t.Groups, cmd.Group) {
			t.Groups = append(t.Groups, cmd.Group)
		}
		if t.StoreTxn == nil && cmd.StoreTxn != nil && len(cmd.Parts) > 0 {
			t.StoreTxn = cmd.StoreTxn
		}
		t.Updated = now
		if len(cmd.Parts) > 0 {
			return txnAnswer{StoreTxn: t.StoreTxn}
		}
	case "offsets":
		if t.Phase != txnOngoing || !slices.Contains(t.Groups, cmd.Group) {
			return txnAnswer{Code: kerr.InvalidTxnState.Code}
		}
		if t.Offsets == nil {
			t.Offsets = map[string][]txnOffset{}
		}
		offs := t.Offsets[cmd.Group]
		for _, o := range cmd.Offsets {
			i := slices.IndexFunc(offs, func(x txnOffset) bool { return x.Topic == o.Topic && x.Partition == o.Partition })
			if i >= 0 {
				offs[i] = o
			} else {
				offs = append(offs, o)
			}
		}
		t.Offsets[cmd.Group] = offs
		t.Updated = now
	case "end":
		want, done := txnPrepareAbort, txnCompleteAbort
		if cmd.Commit {
			want, done = txnPrepareCommit, txnCompleteCommit
		}
		switch t.Phase {
		case txnOngoing:
			t.Phase, t.Updated = want, now
			return txnAnswer{Job: t.job()}
		case want:
			return txnAnswer{Code: kerr.ConcurrentTransactions.Code, Job: t.job()}
		case done:
			return txnAnswer{} // a retry of an end that is done
		}
		return txnAnswer{Code: kerr.InvalidTxnState.Code}
	case "complete":
		switch t.Phase {
		case txnPrepareCommit:
			t.Phase = txnCompleteCommit
		case txnPrepareAbort:
			t.Phase = txnCompleteAbort
		default:
			return txnAnswer{}
		}
		t.Parts, t.Groups, t.Offsets, t.StoreTxn, t.Updated = nil, nil, nil, nil, now
	}
	return txnAnswer{}
}

// all yields every phase.
func (txnPhase) all() func(func(txnPhase) bool) {
	return func(yield func(txnPhase) bool) {
		for p := txnEmpty; p <= txnCompleteAbort; p++ {
			if !yield(p) {
				return
			}
		}
	}
}

// timesOutAt is when (ms) an ongoing transaction is aborted: its timeout
// after it began, or after a gateway last said it was writing its records.
func (t *txnState) timesOutAt() int64 {
	return max(t.Started, t.Alive) + int64(t.TimeoutMs)
}
