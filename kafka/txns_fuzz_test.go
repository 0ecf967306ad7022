package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/pulsar-gateway/pulsar-gateway/txnindex"
)

// FuzzTxnApply runs arbitrary sequences of transaction coordinator
// commands (any producer id, epoch or order, as logs from several gateways
// may hold them) through the state machine: it never panics, the epoch of
// an id never goes back while its producer id stays, a job comes only with
// a prepared transaction, and a fenced epoch never ends a transaction.
func FuzzTxnApply(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 4, 0, 1, 5, 0, 0})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 0, 4, 0, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		g := newGroup("tid")
		ops1 := []string{"init", "add-partitions", "add-offsets", "offsets", "end", "complete", "timeout"}
		for i := 0; i+2 < len(ops); i += 3 {
			op := ops1[int(ops[i])%len(ops1)]
			g.Now += int64(ops[i+2]) * 100
			cmd := &txnCmd{Op: op, ProducerID: int64(ops[i+1] % 3), Epoch: int16(ops[i+1]/3%4) - 1,
				NewPID: int64(i%3 + 1), TimeoutMs: 1000, Commit: ops[i+2]&1 == 1, Group: "g",
				Parts:   []txnPart{{Topic: "t", Partition: int32(ops[i+2] % 2), Name: "p"}},
				Offsets: []txnOffset{{Topic: "t", Offset: int64(i)}}}
			var pid int64 = -2
			var epoch int16
			if g.Txn != nil {
				pid, epoch = g.Txn.ProducerID, g.Txn.Epoch
			}
			a := g.applyTxn(cmd)
			tx := g.Txn
			if tx.ProducerID == pid && tx.Epoch < epoch {
				t.Fatalf("command %d (%s): epoch went from %d to %d", i/3, op, epoch, tx.Epoch)
			}
			prepared := tx.Phase == txnPrepareCommit || tx.Phase == txnPrepareAbort
			if a.Job != nil && !prepared {
				t.Fatalf("command %d (%s): a job for a transaction in %v", i/3, op, tx.Phase)
			}
			if op == "end" && a.Code == 0 && cmd.Epoch < epoch && pid == tx.ProducerID {
				t.Fatalf("command %d: a fenced epoch %d (current %d) ended the transaction", i/3, cmd.Epoch, epoch)
			}
			if a.Code != 0 && kerr.ErrorForCode(a.Code) == nil {
				t.Fatalf("command %d (%s): unknown error code %d", i/3, op, a.Code)
			}
		}
	})
}

// FuzzTxnTag reads arbitrary batch tags as a Fetch does: never a panic,
// and a tag it wrote reads back.
func FuzzTxnTag(f *testing.F) {
	f.Add("kafkatx:12:3:0:9")
	f.Add("kafkactl:12:3:commit")
	f.Add("kafka:1:2:3:4")
	f.Fuzz(func(t *testing.T, tag string) {
		txnindex.ParseTag(tag)
		parseTag(tag)
	})
	u, ok := txnindex.ParseTag(txnindex.ControlTagOf(42, 7, true))
	if !ok || u != (txnindex.Unit{PID: 42, Epoch: 7, Control: true, Commit: true}) {
		f.Fatalf("control tag read back as %+v %v", u, ok)
	}
}
