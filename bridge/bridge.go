// Package bridge is the one Pulsar-facing layer of the gateway: Pulsar's model
// (topics, partitions, producers, subscriptions, readers, acks, the continuous
// per-partition index and shared keyed state) written once as Go interfaces.
//
// Protocol handlers (kafka, mqtt, amqp) speak only to these interfaces. Two
// backends implement them: bridge/pulsar on a real Pulsar cluster and
// bridge/embedded on a local store. bridge/bridgetest is the conformance suite
// both must pass, so a handler that works on one works on the other.
package bridge

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Backend is a connection to one message store. It is safe for concurrent use.
type Backend interface {
	// Admin manages topics and subscriptions.
	Admin() Admin
	// CreateProducer opens a producer on a topic. A partitioned topic's
	// producer routes by key hash (round robin without a key); a partition's
	// own name (see PartitionName) pins every message to that partition.
	CreateProducer(ctx context.Context, opts ProducerOptions) (Producer, error)
	// Subscribe attaches a consumer to a subscription, creating the
	// subscription when it does not exist.
	Subscribe(ctx context.Context, opts SubscribeOptions) (Consumer, error)
	// CreateReader reads one partition (or a non-partitioned topic) without a
	// subscription, from a chosen start.
	CreateReader(ctx context.Context, opts ReaderOptions) (Reader, error)
	// State opens a named table of small keyed records shared by every
	// gateway on this backend.
	State(ctx context.Context, table string) (StateTable, error)
	// Shared says whether other gateway processes may use the same store.
	// Only then is what one connection owns (an MQTT client id) claimed
	// through it: a claim costs a durable write per connection.
	Shared() bool
	// Presence is this process's presence in the store, which other
	// gateway processes can ask about.
	Presence() Presence
	// Close flushes what is pending and releases the backend.
	Close() error
}

// Message is one record. Index is the continuous per-partition sequence from 0
// (Kafka's offset); ID is the backend's own handle for acks and seeks.
type Message struct {
	Topic       string // the partition's full name (or the topic's, when not partitioned)
	Partition   int    // -1 for a non-partitioned topic
	Index       int64
	Key         []byte // nil means no key; an empty non-nil key is kept as empty
	Value       []byte
	Properties  map[string]string
	EventTime   time.Time // zero when the producer set none
	PublishTime time.Time
	// RedeliveryCount counts earlier deliveries of this message to this
	// subscription that ended in a nack or a consumer going away.
	RedeliveryCount int
	// BatchTag is the tag the message's batch was stored with
	// (TaggedProducer), as readers with Batches return it; "" otherwise.
	BatchTag string
	// ID is backend-owned: hand it back unchanged (through Ack, Nack, Seek).
	ID MessageID
}

// MessageID is a backend's opaque position of a message.
type MessageID interface {
	// Index is the message's continuous per-partition index.
	Index() int64
	// Partition is the partition number, -1 when not partitioned.
	Partition() int
	String() string
}

// OutMessage is what a producer sends.
type OutMessage struct {
	Key        []byte
	Value      []byte
	Properties map[string]string
	EventTime  time.Time
}

// SendResult tells where a message landed once it is durable.
type SendResult struct {
	Topic     string // partition name
	Partition int
	Index     int64
	ID        MessageID
}

// SendCallback is called exactly once per message, after the backend made it
// durable (err == nil) or failed it. Callbacks of one producer run in send
// order; they must not block for long.
type SendCallback func(SendResult, error)

// ProducerOptions configure a producer.
type ProducerOptions struct {
	Topic string
	// Principal is the client the producer acts for, on a backend that
	// acts as its clients (ActsAsClients); empty: the gateway itself.
	Principal string
	// Name is the producer's name for the backend; empty picks one.
	Name string
	// BatchingMaxDelay bounds how long a message may wait to be batched.
	// Zero takes the backend's default (a few milliseconds).
	BatchingMaxDelay time.Duration
	// BatchingMaxMessages bounds a batch; zero takes the default.
	BatchingMaxMessages int
	// BatchingMaxBytes bounds a batch's payload bytes; zero takes the
	// backend's default (128 KiB on Pulsar).
	BatchingMaxBytes int
	// Compression compresses batches on the way to the backend (Pulsar
	// decompresses for every kind of reader); the embedded store ignores it.
	Compression Compression
	// MaxPending bounds messages sent but not yet durable; SendAsync blocks
	// past it (a slow backend slows its producer, not the gateway).
	MaxPending int
	// KeyBasedBatching batches messages of one key together. Pulsar routes a
	// batch to a Key_Shared consumer by one key, so producers to topics read
	// through Key_Shared subscriptions need it there.
	KeyBasedBatching bool
}

// Compression is a batch codec.
type Compression int

const (
	CompressionNone Compression = iota
	CompressionLZ4
	CompressionZstd
)

// Producer writes messages. It is safe for concurrent use.
type Producer interface {
	Topic() string
	// SendAsync queues a message; cb fires once it is durable or failed. It
	// blocks only while MaxPending messages are in flight or ctx is done.
	SendAsync(ctx context.Context, msg *OutMessage, cb SendCallback)
	// Send is SendAsync and a wait. It is a convenience for tests and admin
	// paths; in loops it is slow on Pulsar (one round trip each).
	Send(ctx context.Context, msg *OutMessage) (SendResult, error)
	// Flush returns once every message sent before it is durable or failed.
	Flush(ctx context.Context) error
	Close() error
}

// SubscriptionType is Pulsar's subscription type.
type SubscriptionType int

const (
	Exclusive SubscriptionType = iota
	Shared
	Failover
	KeyShared
)

func (t SubscriptionType) String() string {
	switch t {
	case Exclusive:
		return "Exclusive"
	case Shared:
		return "Shared"
	case Failover:
		return "Failover"
	case KeyShared:
		return "Key_Shared"
	}
	return "Unknown"
}

// InitialPosition is where a new subscription starts.
type InitialPosition int

const (
	Latest InitialPosition = iota
	Earliest
)

// SubscribeOptions configure a consumer. Exactly one of Topics and
// TopicsPattern is set.
type SubscribeOptions struct {
	// Topics are topic names; a partitioned topic means all its partitions.
	Topics []string
	// Principal is the client the consumer acts for (see ProducerOptions).
	Principal string
	// TopicsPattern is a regular expression matched against full topic names
	// (persistent://tenant/ns/name) of one namespace. Topics created later
	// join within PatternDiscovery.
	TopicsPattern string
	// PatternDiscovery is how often a pattern looks for new topics; zero
	// takes the backend's default (about a second).
	PatternDiscovery time.Duration

	Subscription string
	Type         SubscriptionType
	// NonDurable subscriptions keep no cursor in the backend: they vanish
	// when their last consumer closes.
	NonDurable      bool
	InitialPosition InitialPosition
	// ConsumerName orders Failover assignment; empty picks one.
	ConsumerName string
	// ReceiverQueueSize bounds messages delivered to this consumer and not
	// yet received by the caller (flow control). Zero takes the default.
	ReceiverQueueSize int
	// NackRedeliveryDelay is how long a nacked message waits before it is
	// delivered again. Zero takes the backend's default.
	NackRedeliveryDelay time.Duration
}

// Notifier is a Consumer that calls back when messages wait, so that a
// caller holding many mostly idle consumers (MQTT devices) parks no
// goroutine on each one's Chan. The embedded backend's consumers are.
type Notifier interface {
	// Notify has ready called, on the backend's goroutine and holding its
	// locks (so ready must only start work elsewhere, never block or call
	// the consumer), whenever a message becomes waiting and when the
	// consumer closes. Call it once, before TryReceive, instead of
	// Receive or Chan.
	Notify(ready func())
	// TryReceive takes a waiting message without blocking: nil when none
	// waits; closed once the consumer closed (what it held is dropped,
	// to be delivered again).
	TryReceive() (m *Message, closed bool)
}

// Consumer receives from a subscription.
type Consumer interface {
	Subscription() string
	// Receive blocks for the next message or until ctx is done.
	Receive(ctx context.Context) (*Message, error)
	// Chan offers messages as a channel, for select loops. Do not mix with
	// Receive on one consumer.
	Chan() <-chan *Message
	// Ack acknowledges one message.
	Ack(id MessageID) error
	// AckCumulative acknowledges every message of that partition up to and
	// including id. Not allowed on Shared and Key_Shared subscriptions.
	AckCumulative(id MessageID) error
	// Nack asks for the message to be delivered again after the nack delay,
	// to this or another consumer, with RedeliveryCount increased.
	Nack(id MessageID)
	// Seek moves the subscription of every partition to the message with
	// this index (for a partitioned topic, pass a partition MessageID).
	Seek(id MessageID) error
	// Close detaches; unacknowledged messages go to other consumers.
	Close() error
	// Unsubscribe deletes the subscription (the consumer must be its only
	// one) and closes the consumer.
	Unsubscribe() error
}

// ReaderOptions configure a reader of one partition.
type ReaderOptions struct {
	// Topic is a partition name or a non-partitioned topic.
	Topic string
	// Principal is the client the reader acts for (see ProducerOptions).
	Principal string
	Start     StartPosition
	// ReceiverQueueSize bounds messages read ahead. Zero takes the default.
	ReceiverQueueSize int
	// Batches asks for a reader that is also a BatchReader, where the
	// backend has one (Pulsar: entries decoded by the gateway itself).
	Batches bool
}

// BatchReader is a Reader that also returns messages a stored unit at a
// time, without per-message work in the backend's client.
type BatchReader interface {
	// NextBatch returns the next messages in index order: one or more,
	// those of one stored unit from the reader's position on.
	NextBatch(ctx context.Context) ([]*Message, error)
}

// StartPosition is where a reader starts. Build it with StartAtIndex,
// StartEarliest, StartLatest or StartAtTime.
type StartPosition struct {
	Kind  StartKind
	Index int64
	Time  time.Time
}

type StartKind int

const (
	StartKindEarliest StartKind = iota
	StartKindLatest
	StartKindIndex
	StartKindTime
)

func StartEarliest() StartPosition { return StartPosition{Kind: StartKindEarliest} }
func StartLatest() StartPosition   { return StartPosition{Kind: StartKindLatest} }

// StartAtIndex starts at the first message whose index is >= i.
func StartAtIndex(i int64) StartPosition { return StartPosition{Kind: StartKindIndex, Index: i} }

// StartAtTime starts at the first message published at or after t.
func StartAtTime(t time.Time) StartPosition { return StartPosition{Kind: StartKindTime, Time: t} }

// Reader reads one partition in index order.
type Reader interface {
	Topic() string
	// Next blocks for the next message or until ctx is done.
	Next(ctx context.Context) (*Message, error)
	// Seek repositions the reader; messages already read ahead are dropped.
	Seek(ctx context.Context, pos StartPosition) error
	Close() error
}

// Kafka record batches kept whole. A backend that can store a Kafka
// producer's v2 record batch as it came (package recordbatch) implements
// RawProducer and RawReader: a Kafka Fetch then returns the stored bytes
// instead of decoding records into messages and encoding them again, as
// Kafka itself serves stored batches. Every other reader of the partition
// still gets one Message per record (key, value, headers as properties,
// record time as event time), at consecutive indexes. The embedded backend
// does this; on Pulsar a batch is sent as messages, which native Pulsar
// consumers read.

// BatchProducer is a Producer that takes a run of messages at once, so a
// backend can store them as few entries without per-message work (Pulsar:
// batch entries built by the gateway). Readers see the same messages as
// from SendAsync.
type BatchProducer interface {
	// SendBatch queues msgs, in order, after what was sent before; cb
	// fires once, with the first message's result (the others' indexes
	// follow it), when all are durable or the first failure is known.
	SendBatch(ctx context.Context, msgs []OutMessage, cb SendCallback)
}

// TaggedProducer is a BatchProducer that stores a tag with a batch: a
// short label of the batch, not of any message, that readers with Batches
// return as each message's BatchTag and no other reader sees (Kafka: the
// producer id and sequences of the record batch, to find a batch already
// written after a gateway crash).
type TaggedProducer interface {
	// SendTagged is SendBatch storing tag with every stored unit msgs
	// become. A producer that sends msgs one by one (bridge.SendEach)
	// stores no tag.
	SendTagged(ctx context.Context, msgs []OutMessage, tag string, cb SendCallback)
}

// SendEach sends msgs through p one by one and fires cb once, as
// BatchProducer.SendBatch does: with the first message's result when all
// are durable, or with the first failure.
func SendEach(ctx context.Context, p Producer, msgs []OutMessage, cb SendCallback) {
	var (
		mu       sync.Mutex
		left     = len(msgs)
		first    SendResult
		firstErr error
	)
	// One callback for all (not a closure per message): a producer's
	// callbacks fire in send order, so the first to fire is the first
	// message's.
	done := func(res SendResult, err error) {
		mu.Lock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if left == len(msgs) && err == nil {
			first = res
		}
		left--
		last := left == 0
		mu.Unlock()
		if last {
			cb(first, firstErr)
		}
	}
	for i := range msgs {
		p.SendAsync(ctx, &msgs[i], done)
	}
}

// RawProducer stores a Kafka record batch as one unit.
type RawProducer interface {
	// SendRaw stores batch, which must be a checked v2 record batch whose
	// count records have offset deltas 0 to count-1 (recordbatch.Batch's
	// Sequential). cb gets the first record's index once all are durable.
	// batch is copied before SendRaw returns.
	SendRaw(ctx context.Context, batch []byte, count int, cb SendCallback)
}

// RawBatch is a stored Kafka record batch holding records First to
// First+Count-1.
type RawBatch struct {
	First       int64
	Count       int
	PublishTime time.Time
	// Data is the batch as produced, the caller's to change: its base
	// offset is not First until recordbatch.SetBaseOffset makes it so.
	Data []byte
}

// RawReader is a Reader that returns stored batches whole.
type RawReader interface {
	// NextRaw returns the next message, or the stored batch holding the
	// reader's position (which may start before it; a Kafka client skips
	// records below the offset it asked for), and moves past it.
	NextRaw(ctx context.Context) (*Message, *RawBatch, error)
}

// TopicInfo describes a topic.
type TopicInfo struct {
	Name string // full name
	// Partitions is the partition count, 0 for a non-partitioned topic.
	Partitions int
}

// IndexRange is a partition's stored extent: the first stored index and the
// index the next message will get (Kafka's log start and high watermark).
type IndexRange struct {
	First int64
	Next  int64
}

// SubscriptionInfo describes a subscription of one topic.
type SubscriptionInfo struct {
	Name    string
	Type    SubscriptionType
	Durable bool
	// Backlog is how many messages wait to be acknowledged.
	Backlog   int64
	Consumers int
}

// Admin manages topics and subscriptions.
type Admin interface {
	// CreateTopic creates a topic with partitions partitions (0: not
	// partitioned). It fails with ErrTopicExists when it exists.
	CreateTopic(ctx context.Context, topic string, partitions int) error
	// DeleteTopic deletes a topic, its partitions, messages and subscriptions.
	DeleteTopic(ctx context.Context, topic string) error
	// Topic describes a topic, or fails with ErrTopicNotFound.
	Topic(ctx context.Context, topic string) (TopicInfo, error)
	// ListTopics lists the topics of a namespace ("tenant/ns").
	ListTopics(ctx context.Context, namespace string) ([]TopicInfo, error)
	// UpdatePartitions raises a partitioned topic's partition count.
	UpdatePartitions(ctx context.Context, topic string, partitions int) error
	// IndexRange is a partition's stored extent.
	IndexRange(ctx context.Context, partition string) (IndexRange, error)
	// IndexAtTime is the index of the first message of a partition published
	// at or after t, or the range's Next when there is none.
	IndexAtTime(ctx context.Context, partition string, t time.Time) (int64, error)
	// StoredBytes is about how many bytes a partition's messages take in
	// the store, what retention by size weighs (Kafka's log size in
	// DescribeLogDirs). The embedded store reads the partition through
	// (about 35 ms for a million 100-byte messages, cached); Pulsar's
	// answers from its topic stats.
	StoredBytes(ctx context.Context, partition string) (int64, error)
	// Subscriptions lists a topic's subscriptions (of all partitions).
	Subscriptions(ctx context.Context, topic string) ([]SubscriptionInfo, error)
	// CreateSubscription makes a durable subscription whose cursor starts
	// before the message with this index on every partition (-1: at the
	// end). It fails with ErrSubscriptionExists when it exists.
	CreateSubscription(ctx context.Context, topic, subscription string, index int64) error
	// DeleteSubscription deletes a subscription; it fails with
	// ErrSubscriptionBusy while consumers are attached unless force.
	DeleteSubscription(ctx context.Context, topic, subscription string, force bool) error
	// ResetSubscription moves a subscription's cursor of one partition so
	// that the next message delivered has this index.
	ResetSubscription(ctx context.Context, partition, subscription string, index int64) error
	// ClearBacklog acknowledges every message of a subscription (AMQP purge).
	ClearBacklog(ctx context.Context, topic, subscription string) error
	PolicyAdmin
}

// StateTable is a table of small keyed records that every gateway on the
// backend sees. A Put is durable when it returns. Reads see this process's
// writes at once and other processes' writes soon after.
type StateTable interface {
	Get(key string) ([]byte, bool)
	// Put stores value under key; a nil value deletes.
	Put(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
	// Range calls f for each record whose key starts with prefix, in key
	// order, until f returns false.
	Range(prefix string, f func(key string, value []byte) bool)
	// Watch calls f for every later change (value nil on delete), from any
	// gateway, until the returned stop function is called.
	Watch(f func(key string, value []byte)) (stop func())
}

// Presence tells the processes using one store apart, and whether one is
// still there. It is how a gateway learns that another died (to take over
// its MQTT client ids or delete its exclusive AMQP queues) from the store,
// not from a timer of its own.
type Presence interface {
	// Join makes this process present, once: later calls return the same
	// id. The presence lasts until the backend is closed or the process
	// ends, however it ends.
	Join(ctx context.Context) (id string, err error)
	// Alive reports whether the process that joined with id is still
	// present. An id never joined is not alive.
	Alive(ctx context.Context, id string) (bool, error)
}

// TxnMarkerProperty marks a message that is a Kafka transaction's commit or
// abort marker (value "commit" or "abort"), written into a partition by the
// Kafka handler: it carries no data, and the other protocols' readers skip
// it. (Records of aborted transactions are told apart by Kafka readers
// only: docs/transactions.md.)
const TxnMarkerProperty = "__kafka_txn_marker"

// TxnRecordProperty marks a record a Kafka transaction wrote (value: the
// producer id): readers of other protocols hold it until its transaction
// ended, and leave it out if it aborted (package txnindex).
const TxnRecordProperty = "__kafka_txn"

// SchemaIDProperty holds the schema id (decimal) of a Kafka record value
// stored without its Confluent wire-format header (0, then the id in 4
// bytes), as kafka.schema_framing strip stores them: the store's readers
// see the bare payload, and the Kafka handler puts the header back.
const SchemaIDProperty = "__kafka_schema_id"

// Errors every backend returns (wrapped) for the same conditions.
var (
	ErrTopicNotFound        = errors.New("bridge: topic not found")
	ErrTopicExists          = errors.New("bridge: topic already exists")
	ErrSubscriptionNotFound = errors.New("bridge: subscription not found")
	ErrSubscriptionExists   = errors.New("bridge: subscription already exists")
	ErrSubscriptionBusy     = errors.New("bridge: subscription has consumers")
	// ErrConsumerBusy: an Exclusive subscription already has a consumer, or
	// a subscription is asked for with another type than it has.
	ErrConsumerBusy = errors.New("bridge: subscription is busy")
	// ErrNotAllowed: the operation does not fit the subscription type (such
	// as a cumulative ack on a Shared subscription).
	ErrNotAllowed = errors.New("bridge: operation not allowed")
	// ErrClosed: the producer, consumer, reader or backend is closed.
	ErrClosed = errors.New("bridge: closed")
	// ErrUnavailable: the backend cannot be reached now; retry later.
	ErrUnavailable = errors.New("bridge: backend unavailable")
	// ErrInvalid: an argument is malformed (bad topic name, count, index).
	ErrInvalid = errors.New("bridge: invalid argument")
	// ErrTxnUnknown: the store does not know the transaction (it ended,
	// or timed out and was aborted).
	ErrTxnUnknown = errors.New("bridge: transaction unknown")
	// ErrForbidden: the store refused the principal the operation (Pulsar's
	// authorization, when the backend acts as its clients).
	ErrForbidden = errors.New("bridge: not authorized")
)

// ClientActor is a backend that can act in the store as each client's own
// principal: producers, consumers and readers opened with a Principal log
// in to the store as that principal, so the store's own authorization
// applies per client. Handlers set Principal only when ActsAsClients.
type ClientActor interface {
	ActsAsClients() bool
}

// ActingAs is the Principal a handler puts in its options for a client's
// principal (a user name): the principal when b acts as its clients, else
// "" (the gateway's own login, and one producer per topic for everyone).
func ActingAs(b Backend, principal string) string {
	if a, ok := b.(ClientActor); ok && a.ActsAsClients() {
		return principal
	}
	return ""
}

// TxnID names a transaction of the store's own (Transactions).
type TxnID struct{ Hi, Lo uint64 }

// Transactions is a backend whose store holds a transaction's messages
// back from every reader until the transaction commits, and never
// delivers them if it aborts (Pulsar: the broker's transaction coordinator
// and transaction buffer). The id alone names a transaction, so any
// process on the backend can end one that another began.
type Transactions interface {
	// TxnsAvailable reports whether the store has transactions (Pulsar:
	// the broker's coordinator is enabled). The answer does not change
	// while the backend is open.
	TxnsAvailable(ctx context.Context) (bool, error)
	// BeginTxn opens a transaction that the store aborts by itself once
	// ttl has passed without an end.
	BeginTxn(ctx context.Context, ttl time.Duration) (TxnID, error)
	// AddTxnPartitions makes partitions part of a transaction. Messages are
	// sent in a transaction (TxnProducer) only to partitions added before.
	AddTxnPartitions(ctx context.Context, id TxnID, partitions []string) error
	// EndTxn commits or aborts a transaction; the store writes its own
	// markers into the partitions. ErrTxnUnknown: the store no longer
	// knows the transaction.
	EndTxn(ctx context.Context, id TxnID, commit bool) error
	// ReadableEnd is the index after the last message of a partition that
	// a reader can get now: before the first message of a transaction
	// still open, past no aborted message and no marker. A partition with
	// nothing readable answers its first index.
	ReadableEnd(ctx context.Context, partition string) (int64, error)
}

// TxnProducer is a producer that sends inside a transaction.
type TxnProducer interface {
	// SendTxn is TaggedProducer.SendTagged (tag may be empty) with every
	// message part of transaction id, whose partitions include this one.
	SendTxn(ctx context.Context, id TxnID, msgs []OutMessage, tag string, cb SendCallback)
}

// TopicSchemas gives topics a schema in the store, so that its own
// clients (Pulsar consumers with a schema, Pulsar's tools) see typed
// topics. Backends without a schema registry of their own do not have it.
type TopicSchemas interface {
	// SetTopicSchema adds a schema version to a topic (a no-op when the
	// topic has that schema already).
	SetTopicSchema(ctx context.Context, topic string, s TopicSchema) error
}

// TopicSchema is a schema as the store keeps it.
type TopicSchema struct {
	Type       string // AVRO
	Definition string // the schema's text
	Properties map[string]string
}
