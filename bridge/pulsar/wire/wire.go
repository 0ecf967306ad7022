// Package wire encodes and decodes the few commands of Pulsar's binary
// protocol the gateway speaks itself: connecting, looking a topic up,
// opening a producer and sending pre-built batch entries, subscribing for
// raw entry reads, and the transaction coordinator's requests.
//
// pulsar-client-go does everything else. It sends one message at a time
// (a metadata record, a callback, channel hops each), which made it most
// of the CPU a Kafka record cost on its way to Pulsar; a Kafka batch is
// already a batch, so the gateway builds the Pulsar entry in one pass and
// sends it here. Field numbers are those of Pulsar's PulsarApi.proto.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"google.golang.org/protobuf/encoding/protowire"
)

// ProtocolVersion is the version we announce: v20, as pulsar-client-go.
const ProtocolVersion = 20

// MaxFrameSize bounds a frame read from a broker: its largest message
// (5 MiB by default) plus room for the command.
const MaxFrameSize = 64 << 20

// Command types (BaseCommand.Type).
const (
	TypeConnect         = 2
	TypeConnected       = 3
	TypeSubscribe       = 4
	TypeProducer        = 5
	TypeSend            = 6
	TypeSendReceipt     = 7
	TypeSendError       = 8
	TypeMessage         = 9
	TypeFlow            = 11
	TypeSuccess         = 13
	TypeError           = 14
	TypeCloseProducer   = 15
	TypeCloseConsumer   = 16
	TypeProducerSuccess = 17
	TypePing            = 18
	TypePong            = 19
	TypeLookup          = 23
	TypeLookupResponse  = 24
	TypeReachedEnd      = 27
	TypeTopicMigrated   = 68

	TypeGetLastMessageID         = 29
	TypeGetLastMessageIDResponse = 30
	TypeNewTxn                   = 50
	TypeNewTxnResponse           = 51
	TypeAddPartitionToTxn        = 52
	TypeAddPartitionResponse     = 53
	TypeEndTxn                   = 56
	TypeEndTxnResponse           = 57
	TypeTcClientConnect          = 62
	TypeTcClientConnectResponse  = 63
)

// ServerError codes the gateway acts on (PulsarApi.proto's ServerError).
const (
	ErrServiceNotReady     = 6
	ErrTxnCoordNotFound    = 20
	ErrInvalidTxnStatus    = 21
	ErrNotAllowed          = 22
	ErrTransactionNotFound = 24
)

// serverErrorNames are ServerError's names by code, as PulsarApi.proto
// spells them.
var serverErrorNames = []string{"UnknownError", "MetadataError", "PersistenceError", "AuthenticationError",
	"AuthorizationError", "ConsumerBusy", "ServiceNotReady", "ProducerBlockedQuotaExceededError",
	"ProducerBlockedQuotaExceededException", "ChecksumError", "UnsupportedVersionError", "TopicNotFound",
	"SubscriptionNotFound", "ConsumerNotFound", "TooManyRequests", "TopicTerminatedError", "ProducerBusy",
	"InvalidTopicName", "IncompatibleSchema", "ConsumerAssignError", "TransactionCoordinatorNotFound",
	"InvalidTxnStatus", "NotAllowedError", "TransactionConflict", "TransactionNotFound", "ProducerFenced"}

// ServerErrorName is a ServerError code's protobuf name ("" if unknown).
func ServerErrorName(code int) string {
	if code < 0 || code >= len(serverErrorNames) {
		return ""
	}
	return serverErrorNames[code]
}

// Lookup answers (CommandLookupTopicResponse.LookupType).
const (
	LookupRedirect = 0
	LookupConnect  = 1
	LookupFailed   = 2
)

const magicCrc32c = 0x0e01

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// ErrFrame is a frame that does not decode.
var ErrFrame = errors.New("pulsar wire: malformed frame")

// Command is what the gateway reads of a broker's command: the union of
// the fields it uses. Absent fields are zero, except LastSequenceID (-1)
// and ProducerReady (true), whose protocol defaults are not.
type Command struct {
	Type           int
	RequestID      uint64
	ProducerID     uint64
	SequenceID     uint64
	LedgerID       uint64
	EntryID        uint64
	ServerError    int
	Message        string
	ProducerName   string
	LastSequenceID int64
	ProducerReady  bool
	MaxMessageSize int
	ConsumerID     uint64
	// Payload is what follows a MESSAGE's command: the entry, with its
	// broker metadata (see ParseEntry). It aliases the frame.
	Payload []byte
	// Lookup answers.
	LookupType              int
	BrokerURL, BrokerURLTLS string
	Authoritative           bool
	ProxyThroughServiceURL  bool
	// Transaction answers: the id they are about, and whether error was
	// set (a txn answer's ServerError is optional; absent is success).
	TxnLo, TxnHi uint64
	HasError     bool
}

// Txn is a transaction id on the wire: most significant bits Hi (the
// coordinator), least Lo.
type Txn struct{ Hi, Lo uint64 }

// Connect is what the gateway says first.
type Connect struct {
	ClientVersion string
	AuthMethod    string // "token", or empty
	AuthData      []byte
	ProxyToBroker string // through a proxy: the broker behind it
}

// AppendConnect appends a CONNECT frame.
func AppendConnect(dst []byte, c Connect) []byte {
	return appendCommand(dst, TypeConnect, 2, func(b []byte) []byte {
		b = appendString(b, 1, c.ClientVersion)
		if len(c.AuthData) > 0 || c.AuthMethod != "" {
			b = appendBytes(b, 3, c.AuthData)
		}
		b = appendVarint(b, 4, ProtocolVersion)
		if c.AuthMethod != "" {
			b = appendString(b, 5, c.AuthMethod)
		}
		if c.ProxyToBroker != "" {
			b = appendString(b, 6, c.ProxyToBroker)
		}
		// FeatureFlags: supports_broker_entry_metadata, or the broker
		// leaves the index out of the messages it sends.
		return appendBytes(b, 10, appendVarint(nil, 2, 1))
	})
}

// AppendLookup appends a LOOKUP frame for topic.
func AppendLookup(dst []byte, topic string, requestID uint64, authoritative bool) []byte {
	return appendCommand(dst, TypeLookup, 23, func(b []byte) []byte {
		b = appendString(b, 1, topic)
		b = appendVarint(b, 2, requestID)
		if authoritative {
			b = appendVarint(b, 3, 1)
		}
		return b
	})
}

// AppendProducer appends a PRODUCER frame; the broker names the producer.
// txn sets txn_enabled: the broker answers once the topic's transaction
// buffer has recovered, as for a Java producer of a transaction client.
func AppendProducer(dst []byte, topic string, producerID, requestID uint64, txn bool) []byte {
	return appendCommand(dst, TypeProducer, 5, func(b []byte) []byte {
		b = appendString(b, 1, topic)
		b = appendVarint(b, 2, producerID)
		b = appendVarint(b, 3, requestID)
		b = appendVarint(b, 9, 0) // user_provided_producer_name: false
		if txn {
			b = appendVarint(b, 12, 1)
		}
		return b
	})
}

// AppendGetLastMessageID appends a GET_LAST_MESSAGE_ID frame for a
// consumer: the broker answers the last position it would dispatch.
func AppendGetLastMessageID(dst []byte, consumerID, requestID uint64) []byte {
	return appendCommand(dst, TypeGetLastMessageID, 29, func(b []byte) []byte {
		b = appendVarint(b, 1, consumerID)
		return appendVarint(b, 2, requestID)
	})
}

// AppendTcClientConnect appends a TC_CLIENT_CONNECT_REQUEST frame: it asks
// the broker to have coordinator tcID ready.
func AppendTcClientConnect(dst []byte, requestID, tcID uint64) []byte {
	return appendCommand(dst, TypeTcClientConnect, 62, func(b []byte) []byte {
		b = appendVarint(b, 1, requestID)
		return appendVarint(b, 2, tcID)
	})
}

// AppendNewTxn appends a NEW_TXN frame. The field is named
// txn_ttl_seconds, but the broker takes it as milliseconds
// (TransactionMetadataStoreService.newTransaction's timeoutInMills), and
// the Java client sends milliseconds.
func AppendNewTxn(dst []byte, requestID, ttlMillis, tcID uint64) []byte {
	return appendCommand(dst, TypeNewTxn, 50, func(b []byte) []byte {
		b = appendVarint(b, 1, requestID)
		b = appendVarint(b, 2, ttlMillis)
		return appendVarint(b, 3, tcID)
	})
}

// AppendAddPartitionToTxn appends an ADD_PARTITION_TO_TXN frame.
func AppendAddPartitionToTxn(dst []byte, requestID uint64, txn Txn, partitions []string) []byte {
	return appendCommand(dst, TypeAddPartitionToTxn, 52, func(b []byte) []byte {
		b = appendVarint(b, 1, requestID)
		b = appendVarint(b, 2, txn.Lo)
		b = appendVarint(b, 3, txn.Hi)
		for _, p := range partitions {
			b = appendString(b, 4, p)
		}
		return b
	})
}

// AppendEndTxn appends an END_TXN frame: TxnAction COMMIT (0) or ABORT (1).
func AppendEndTxn(dst []byte, requestID uint64, txn Txn, commit bool) []byte {
	return appendCommand(dst, TypeEndTxn, 56, func(b []byte) []byte {
		b = appendVarint(b, 1, requestID)
		b = appendVarint(b, 2, txn.Lo)
		b = appendVarint(b, 3, txn.Hi)
		action := uint64(1)
		if commit {
			action = 0
		}
		return appendVarint(b, 4, action)
	})
}

// Earliest and Latest are the start positions of a subscription: before
// the first entry and after the last, as Pulsar clients say them.
var (
	Earliest = Position{Ledger: -1, Entry: -1}
	Latest   = Position{Ledger: 1<<63 - 1, Entry: 1<<63 - 1}
)

// Position is an entry's place in a topic's ledgers.
type Position struct{ Ledger, Entry int64 }

// AppendSubscribe appends a SUBSCRIBE frame for a non-durable Exclusive
// subscription (a reader) whose cursor starts after start.
func AppendSubscribe(dst []byte, topic, subscription string, consumerID, requestID uint64, start Position) []byte {
	return appendCommand(dst, TypeSubscribe, 4, func(b []byte) []byte {
		b = appendString(b, 1, topic)
		b = appendString(b, 2, subscription)
		b = appendVarint(b, 3, 0) // Exclusive
		b = appendVarint(b, 4, consumerID)
		b = appendVarint(b, 5, requestID)
		b = appendVarint(b, 8, 0) // not durable
		id := appendVarint(nil, 1, uint64(start.Ledger))
		id = appendVarint(id, 2, uint64(start.Entry))
		return appendBytes(b, 9, id)
	})
}

// AppendFlow appends a FLOW frame granting permits more messages.
func AppendFlow(dst []byte, consumerID uint64, permits int) []byte {
	return appendCommand(dst, TypeFlow, 11, func(b []byte) []byte {
		b = appendVarint(b, 1, consumerID)
		return appendVarint(b, 2, uint64(permits))
	})
}

// AppendPong appends a PONG frame, the answer to a broker's PING.
func AppendPong(dst []byte) []byte {
	return appendCommand(dst, TypePong, 19, nil)
}

// AppendSend appends a SEND frame carrying one entry: its metadata and
// payload (as AppendMetadata and AppendBatch build them), checksummed.
func AppendSend(dst []byte, producerID, sequenceID uint64, numMessages int, metadata, payload []byte) []byte {
	return AppendSendTxn(dst, producerID, sequenceID, numMessages, nil, metadata, payload)
}

// AppendSendTxn is AppendSend with the entry part of transaction txn when
// that is not nil. The broker takes a SEND as transactional when it has
// both id fields, so both are written even when zero.
func AppendSendTxn(dst []byte, producerID, sequenceID uint64, numMessages int, txn *Txn, metadata, payload []byte) []byte {
	return append(AppendSendHead(dst, producerID, sequenceID, numMessages, txn, metadata, payload), payload...)
}

// AppendSendHead is AppendSendTxn without the payload: the frame up to it,
// sized and checksummed for it, so that a writer sends the payload from
// where it is (a vectored write) instead of copying it into the frame.
func AppendSendHead(dst []byte, producerID, sequenceID uint64, numMessages int, txn *Txn, metadata, payload []byte) []byte {
	start := len(dst)
	dst = appendCommand(dst, TypeSend, 6, func(b []byte) []byte {
		b = appendVarint(b, 1, producerID)
		b = appendVarint(b, 2, sequenceID)
		b = appendVarint(b, 3, uint64(numMessages))
		if txn != nil {
			b = appendVarint(b, 4, txn.Lo)
			b = appendVarint(b, 5, txn.Hi)
		}
		return b
	})
	dst = binary.BigEndian.AppendUint16(dst, magicCrc32c)
	sumAt := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(metadata)))
	dst = append(dst, metadata...)
	sum := crc32.Update(crc32.Checksum(dst[sumAt+4:], crc32c), crc32c, payload)
	binary.BigEndian.PutUint32(dst[sumAt:], sum)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)+len(payload)-start-4))
	return dst
}

// appendCommand appends a frame holding only a command: total size,
// command size, BaseCommand{type, field: body}.
func appendCommand(dst []byte, typ int, field protowire.Number, body func([]byte) []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = appendVarint(dst, 1, uint64(typ))
	dst = protowire.AppendTag(dst, field, protowire.BytesType)
	// The body's length prefix: encode the body after a one-byte guess and
	// move it if the length needs more.
	lenAt := len(dst)
	dst = append(dst, 0)
	if body != nil {
		dst = body(dst)
	}
	n := len(dst) - lenAt - 1
	if w := protowire.SizeVarint(uint64(n)); w > 1 {
		dst = append(dst, make([]byte, w-1)...)
		copy(dst[lenAt+w:], dst[lenAt+1:lenAt+1+n])
	}
	protowire.AppendVarint(dst[:lenAt], uint64(n))
	size := len(dst) - start - 8
	binary.BigEndian.PutUint32(dst[start:], uint32(size+4))
	binary.BigEndian.PutUint32(dst[start+4:], uint32(size))
	return dst
}

func appendVarint(b []byte, n protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendString(b []byte, n protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, n protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// FrameSize reads a frame's total size from its first four bytes and
// checks it against MaxFrameSize.
func FrameSize(head [4]byte) (int, error) {
	n := binary.BigEndian.Uint32(head[:])
	if n < 4 || n > MaxFrameSize {
		return 0, fmt.Errorf("%w: frame of %d bytes", ErrFrame, n)
	}
	return int(n), nil
}

// ParseFrame decodes the command of a frame's body (after its total
// size). A payload after the command (a broker's MESSAGE) is ignored.
func ParseFrame(frame []byte) (Command, error) {
	if len(frame) < 4 {
		return Command{}, ErrFrame
	}
	n := binary.BigEndian.Uint32(frame)
	if uint64(n) > uint64(len(frame)-4) {
		return Command{}, ErrFrame
	}
	c, err := parseBase(frame[4 : 4+n])
	if err == nil && c.Type == TypeMessage {
		c.Payload = frame[4+n:]
	}
	return c, err
}

func parseBase(b []byte) (Command, error) {
	c := Command{LastSequenceID: -1, ProducerReady: true}
	err := fields(b, func(num protowire.Number, v uint64, sub []byte) error {
		switch {
		case num == 1:
			c.Type = int(v)
		case sub != nil && int(num) == c.Type:
			// The type comes first in every encoder we know of; a body
			// before it would be skipped and the command read as empty.
			return parseBody(&c, sub)
		}
		return nil
	})
	if err != nil {
		return Command{}, err
	}
	if c.Type == 0 {
		return Command{}, fmt.Errorf("%w: no command type", ErrFrame)
	}
	return c, nil
}

func parseBody(c *Command, b []byte) error {
	return fields(b, func(num protowire.Number, v uint64, sub []byte) error {
		switch c.Type {
		case TypeConnected:
			if num == 3 {
				c.MaxMessageSize = int(int32(v))
			}
		case TypeProducerSuccess:
			switch num {
			case 1:
				c.RequestID = v
			case 2:
				c.ProducerName = string(sub)
			case 3:
				c.LastSequenceID = int64(v)
			case 6:
				c.ProducerReady = v != 0
			}
		case TypeSendReceipt:
			switch num {
			case 1:
				c.ProducerID = v
			case 2:
				c.SequenceID = v
			case 3:
				return parseMessageID(c, sub)
			}
		case TypeSendError:
			switch num {
			case 1:
				c.ProducerID = v
			case 2:
				c.SequenceID = v
			case 3:
				c.ServerError = int(v)
			case 4:
				c.Message = string(sub)
			}
		case TypeError:
			switch num {
			case 1:
				c.RequestID = v
			case 2:
				c.ServerError = int(v)
			case 3:
				c.Message = string(sub)
			}
		case TypeSuccess:
			if num == 1 {
				c.RequestID = v
			}
		case TypeCloseProducer:
			switch num {
			case 1:
				c.ProducerID = v
			case 2:
				c.RequestID = v
			}
		case TypeTopicMigrated:
			if num == 1 {
				c.ProducerID = v // resource_id
			}
		case TypeMessage:
			switch num {
			case 1:
				c.ConsumerID = v
			case 2:
				return parseMessageID(c, sub)
			}
		case TypeCloseConsumer, TypeReachedEnd:
			if num == 1 {
				c.ConsumerID = v
			}
		case TypeGetLastMessageIDResponse:
			switch num {
			case 1: // last_message_id (3, the mark-delete position, is not read)
				if sub != nil {
					return parseMessageID(c, sub)
				}
			case 2:
				c.RequestID = v
			}
		case TypeTcClientConnectResponse:
			switch num {
			case 1:
				c.RequestID = v
			case 2:
				c.ServerError, c.HasError = int(v), true
			case 3:
				c.Message = string(sub)
			}
		case TypeNewTxnResponse, TypeAddPartitionResponse, TypeEndTxnResponse:
			// The three share a layout: request_id, txnid_least_bits,
			// txnid_most_bits, error, message.
			switch num {
			case 1:
				c.RequestID = v
			case 2:
				c.TxnLo = v
			case 3:
				c.TxnHi = v
			case 4:
				c.ServerError, c.HasError = int(v), true
			case 5:
				c.Message = string(sub)
			}
		case TypeLookupResponse:
			switch num {
			case 1:
				c.BrokerURL = string(sub)
			case 2:
				c.BrokerURLTLS = string(sub)
			case 3:
				c.LookupType = int(v)
			case 4:
				c.RequestID = v
			case 5:
				c.Authoritative = v != 0
			case 6:
				c.ServerError = int(v)
			case 7:
				c.Message = string(sub)
			case 8:
				c.ProxyThroughServiceURL = v != 0
			}
		}
		return nil
	})
}

// parseMessageID reads a MessageIdData's ledger and entry.
func parseMessageID(c *Command, b []byte) error {
	return fields(b, func(num protowire.Number, v uint64, _ []byte) error {
		switch num {
		case 1:
			c.LedgerID = v
		case 2:
			c.EntryID = v
		}
		return nil
	})
}

// fields walks a message's fields: varints as v, length-delimited ones as
// sub (never nil for them), fixed ones skipped.
func fields(b []byte, fn func(num protowire.Number, v uint64, sub []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ErrFrame
		}
		b = b[n:]
		var (
			v   uint64
			sub []byte
		)
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			sub, n = protowire.ConsumeBytes(b)
			if sub == nil && n >= 0 {
				sub = []byte{}
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return ErrFrame
		}
		b = b[n:]
		if typ != protowire.VarintType && typ != protowire.BytesType {
			continue
		}
		if err := fn(num, v, sub); err != nil {
			return err
		}
	}
	return nil
}
