// Package kafka serves the Kafka wire protocol on top of the bridge.
//
// Every request and response goes through franz-go's kmsg codec; this
// package holds only behaviour. Each API key has its own file (00_produce.go,
// 01_fetch.go, ...) that registers the versions it implements in one table
// (apis.go), and ApiVersions is built from that table, so what is advertised
// is what is served. KIP-848 (API 68) and transactions are not offered;
// SASL/PLAIN is, when a password file is configured (sasl.go).
//
// A connection (conn.go) is a read loop that checks each frame's size before
// allocating it, decodes it and serves it on a goroutine of its own, and a
// writer that answers in request order; Produce requests of one connection
// hand their records to the backend in order (an idempotent producer
// pipelines), and acks=0 gets no answer.
//
// Where state lives:
//   - records: the bridge; a Kafka offset is the backend's continuous index,
//     a produce is answered once the backend says durable. A backend that
//     keeps record batches whole (bridge.RawProducer: the embedded one)
//     stores the producer's batch and Fetch returns its bytes; otherwise
//     records go as messages and Fetch builds record batches with the
//     records' own indexes. On Pulsar both go a batch at a time
//     (bridge.BatchProducer, bridge.BatchReader): a Kafka batch becomes
//     batch entries the backend builds itself, and Fetch cursors read
//     whole entries;
//   - committed offsets: the bridge state table "kafka-offsets", mirrored
//     behind the commit onto a durable Pulsar subscription named after the
//     group (mirror.go), so Pulsar tools show the group's backlog;
//   - idempotent producers: random 62-bit ids (no counter to share);
//     sequences checked in memory per producer and partition, saved with
//     the offset of their batch to the state table "kafka-producers" every
//     200 ms. A gateway that first sees a producer on a partition rebuilds
//     its state from the partition, as Kafka does from its log: it reads
//     from the saved offset to the end (at most 1M messages) for that
//     producer's newest batches, which carry its id and sequences (in the
//     stored batch on the embedded store, in each Pulsar entry's tag,
//     bridge.TaggedProducer). So a retry through another gateway, or after
//     a crash and restart, is answered with its first offset and stored
//     once (idemscan.go);
//   - consumer groups (classic protocol): a state machine (groups.go)
//     applied from a per-group log topic that Pulsar orders (grouplog.go),
//     so members reaching different gateways form one group; snapshots in
//     the state table "kafka-groups".
//
// Every gateway describes itself as one broker at its advertised address,
// with a node id derived from that address, leading every partition at
// leader epoch -1 (DESIGN.md, many gateways).
package kafka
