package kafka

import (
	"fmt"
	"testing"
)

// FuzzGroupApply runs arbitrary sequences of group commands (as a group
// log may hold them: any member, generation, version or order) through the
// state machine: it must never panic, and what every gateway relies on
// must hold after each command.
func FuzzGroupApply(f *testing.F) {
	f.Add([]byte{0, 4, 9, 0, 0, 9, 1, 0, 1, 2, 0, 1})
	f.Add([]byte{0, 4, 0x89, 1, 0, 1, 0, 4, 0x89, 2, 1, 0x81, 3, 0, 0x80})
	f.Fuzz(func(t *testing.T, ops []byte) {
		g := newGroup("g")
		inst := "instance"
		kinds := []string{"join", "sync", "heartbeat", "leave", "commit", "tick", "delete"}
		now := int64(0)
		for i := 0; i+2 < len(ops); i += 3 {
			kind := kinds[int(ops[i])%len(kinds)]
			member := fmt.Sprintf("n%d", int(ops[i+1])%4*3)
			if ops[i+1]%5 == 4 {
				member = ""
			}
			cmd := &groupCmd{Kind: kind, Group: "g", Token: fmt.Sprint("t", i), Member: member, NewID: fmt.Sprint("n", i),
				Version: int16(ops[i+2] % 10), Generation: int32(ops[i+2] % 4), ProtoType: "consumer",
				Protocols: []groupProtocol{{Name: "range", Metadata: []byte{ops[i+2] & 1}}}, Session: 6000, Rebalance: 6000}
			if ops[i+2]&0x80 != 0 {
				cmd.Instance = &inst
			}
			switch kind {
			case "sync":
				cmd.Assign = map[string][]byte{member: {1}}
			case "leave":
				cmd.Leavers = []leaver{{Member: member, Instance: cmd.Instance}}
			}
			now += int64(ops[i+2]&0x7f) * 100
			answered := map[string]int{}
			for _, e := range g.apply(cmd, now) {
				if answered[e.token]++; answered[e.token] > 1 {
					t.Fatalf("command %d (%s): token %s answered twice", i/3, kind, e.token)
				}
			}
			if (g.State == groupStable || g.State == groupCompletingRebalance) && g.Members[g.Leader] == nil {
				t.Fatalf("command %d (%s): %v with leader %q not a member", i/3, kind, g.State, g.Leader)
			}
			if g.State == groupEmpty && len(g.Members) > 0 {
				t.Fatalf("command %d (%s): Empty with %d members", i/3, kind, len(g.Members))
			}
			for in, id := range g.Instances {
				m := g.Members[id]
				if m == nil || m.Instance == nil || *m.Instance != in || m.ID != id {
					t.Fatalf("command %d (%s): instance %s maps to %q, not its member", i/3, kind, in, id)
				}
			}
			for id, m := range g.Members {
				if m.ID != id {
					t.Fatalf("command %d (%s): member %q filed under %q", i/3, kind, m.ID, id)
				}
			}
		}
	})
}

// FuzzProducerRecords decodes arbitrary kafka-producers records and batch
// tags (both read from what any gateway wrote): never a panic, and what
// decodes encodes back to itself.
func FuzzProducerRecords(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9}, "kafka:42:1:0:4")
	f.Add([]byte{0, 1, 0, 0, 0, 5}, "kafka:-1:x:0:4")
	f.Fuzz(func(t *testing.T, record []byte, tag string) {
		if s, ok := parseRecord(record); ok && len(record) == 14 {
			if got := s.record(); string(got) != string(record) {
				t.Fatalf("record %x decodes and encodes to %x", record, got)
			}
		}
		if pid, b, ok := parseTag(tag); ok {
			again := fmt.Sprintf("kafka:%d:%d:%d:%d", pid, b.epoch, b.first, b.last)
			if pid2, b2, ok := parseTag(again); !ok || pid2 != pid || b2 != b {
				t.Fatalf("tag %q: %d %+v, re-read as %d %+v", tag, pid, b, pid2, b2)
			}
		}
	})
}
