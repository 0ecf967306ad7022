package kafka

import (
	"context"
	"crypto/x509"
	"errors"
	"hash/fnv"
	"net"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/submirror"
	"github.com/pulsar-gateway/pulsar-gateway/metrics"
	"github.com/pulsar-gateway/pulsar-gateway/txnindex"
)

// Options configure the Kafka handler.
type Options struct {
	// Advertised is the host:port put in Metadata and FindCoordinator
	// answers. The node id is derived from it, so every gateway behind one
	// name reports the same broker.
	Advertised string
	// Namespace is "tenant/ns" where Kafka topics live; empty is public/default.
	Namespace string
	// DisableAutoCreate turns off creating a topic that Metadata (when the
	// client allows it) or Produce names and that does not exist: Kafka's
	// auto.create.topics.enable, on by default there too.
	DisableAutoCreate bool
	// DefaultPartitions is the partition count of auto-created topics and of
	// CreateTopics asking for -1; zero means 1.
	DefaultPartitions int
	// MaxRequestSize bounds one request frame; zero means 100 MiB (Kafka's
	// socket.request.max.bytes).
	MaxRequestSize int32
	// MaxInFlight bounds requests read from one connection and not yet
	// answered; the read loop waits past it. Zero means 64.
	MaxInFlight int
	// DisableSubscriptionMirror stops copying committed offsets onto a
	// durable Pulsar subscription per group. Such a subscription holds
	// its backlog, as any durable subscription does.
	DisableSubscriptionMirror bool
	// Authenticate, when set, requires every connection to log in with
	// SASL PLAIN first and checks the username and password it sent.
	Authenticate func(user, password string) bool
	// Tokens, when set, checks OAUTHBEARER logins (a JWT) and returns
	// the principal; logins are required when it or Authenticate is set.
	Tokens interface {
		Validate(token string) (principal string, err error)
		Expiry(token string) time.Time // zero when it has none
	}
	// CertPrincipal, when set, logs a TLS connection in by its client
	// certificate (the listener requires one) as the principal it maps to.
	CertPrincipal func(*x509.Certificate) (string, error)
	// MaxReauth is Kafka's connections.max.reauth.ms (KIP-368): a login
	// lasts this long (an OAUTHBEARER one no longer than its token), the
	// client logs in again on the same connection before, as the same
	// principal, or the connection is closed at its next request. Zero:
	// logins last as long as the connection (Kafka's default).
	MaxReauth time.Duration
	// SuperUsers may manage SCRAM credentials (and, with Authz, do
	// everything): Kafka's super.users, by user name.
	SuperUsers []string
	// Authz, when set, authorizes every request against the gateway's one
	// rule set, as Kafka's AclAuthorizer (authorize.go), and serves the ACL
	// APIs from it; nil allows everything, and the ACL APIs answer
	// SECURITY_DISABLED, as Kafka without an authorizer.
	Authz *authz.Authorizer
	// Transactions is config's kafka.transactions: "store" holds Kafka
	// transactions in the backend's own (bridge.Transactions), "markers"
	// writes control records, "auto" or empty picks store when the backend
	// has transactions.
	Transactions string
	// SchemaFraming is config's kafka.schema_framing: "strip" stores a
	// value in the Confluent wire format without its 5-byte header (the
	// schema id in a property, bridge.SchemaIDProperty), so the store's
	// own readers get the bare payload; "keep" or empty stores it whole.
	// Kafka clients read the same bytes either way. It applies where the
	// backend keeps records as messages (Pulsar), not whole batches.
	SchemaFraming string
	Logger        *zap.Logger
	// Metrics counts what flows (metrics.Flow); nil counts nothing.
	Metrics *metrics.Flow
	// LogDir names where partitions are stored, the one log dir that
	// DescribeLogDirs reports (kafka-log-dirs.sh): the embedded store's
	// directory, say. Empty: "persistent://" + Namespace.
	LogDir string

	// seqFlushEvery replaces seqFlushInterval (tests: a crash inside it).
	seqFlushEvery time.Duration
	// groupIdle replaces groupIdleAfter, and checks every groupIdle/4 (tests).
	groupIdle time.Duration
}

// Handler is the Kafka protocol handler: a handlers.ConnHandler, and an
// io.Closer that releases the producers it keeps.
type Handler struct {
	b      bridge.Backend
	opts   Options
	log    *zap.Logger
	nodeID int32
	host   string
	port   int32

	topics    *topicCache
	extents   *extents
	producers *producerCache
	groups    *coordinator
	txns      *coordinator // transactional ids (txns.go)
	txnParts  bridge.StateTable
	scram     scramCreds
	txnBusy   txnBusy // transactions whose records this gateway is writing
	txnIdx    *txnindex.Indexes
	storeTxns bridge.Transactions // nil: markers (storetxns.go)
	quit      chan struct{}       // ends background loops
	offsets   *offsetStore
	configs   *topicConfigStore
	pids      *producerIDs
	mirror    *submirror.Mirror

	closeOnce sync.Once
}

// New builds a handler on a backend.
func New(ctx context.Context, b bridge.Backend, opts Options) (*Handler, error) {
	if opts.Namespace == "" {
		opts.Namespace = bridge.DefaultNamespace
	}
	if opts.DefaultPartitions <= 0 {
		opts.DefaultPartitions = 1
	}
	if opts.MaxRequestSize <= 0 {
		opts.MaxRequestSize = 100 << 20
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 64
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	host, portStr, err := net.SplitHostPort(opts.Advertised)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseInt(portStr, 10, 32)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		b:      b,
		opts:   opts,
		log:    opts.Logger,
		nodeID: nodeIDFor(opts.Advertised),
		host:   host,
		port:   int32(port),
	}
	h.topics = newTopicCache(b.Admin(), opts.Namespace)
	h.extents = newExtents(h.indexRange, h.readableEndApplies)
	h.producers = newProducerCache(b, h.extents.written, opts.SchemaFraming == "strip")
	if h.groups, err = newCoordinator(ctx, h, groupTable, groupLogPrefix); err != nil {
		return nil, err
	}
	if h.txns, err = newCoordinator(ctx, h, txnTable, txnLogPrefix); err != nil {
		return nil, err
	}
	if h.scram.t, err = b.State(ctx, scramTable); err != nil {
		return nil, err
	}
	if h.txnParts, err = b.State(ctx, txnPartTable); err != nil {
		return nil, err
	}
	h.txnIdx = txnindex.New(b)
	if h.storeTxns, err = storeMode(ctx, b, opts.Transactions); err != nil {
		return nil, err
	}
	// Every gateway on one store should say the same (docs/transactions.md).
	h.log.Debug("kafka transactions", zap.Bool("store_transactions", h.storeTxns != nil))
	h.quit = make(chan struct{})
	go h.sweepTxns(h.quit)
	h.txnBusy.kick = make(chan struct{}, 1)
	go h.keepTxnsAlive(h.quit)
	if h.offsets, err = newOffsetStore(ctx, b); err != nil {
		return nil, err
	}
	if h.configs, err = newTopicConfigStore(ctx, b); err != nil {
		return nil, err
	}
	if h.pids, err = newProducerIDs(ctx, b, h.indexRange, h.log, opts.seqFlushEvery); err != nil {
		return nil, err
	}
	if !opts.DisableSubscriptionMirror {
		h.mirror = newSubscriptionMirror(h)
	}
	return h, nil
}

// nodeIDFor hashes the advertised address into a non-negative node id, so
// replicas behind one address agree without talking to each other.
func nodeIDFor(addr string) int32 {
	f := fnv.New32a()
	f.Write([]byte(addr))
	return int32(f.Sum32() & 0x7fffffff)
}

// HandleConn serves one client connection until it closes or ctx ends.
func (h *Handler) HandleConn(ctx context.Context, nc net.Conn) error {
	c := newConn(h, nc)
	if h.opts.CertPrincipal != nil {
		if ok := c.certLogin(ctx); !ok {
			return nil
		}
	}
	err := c.serve(ctx)
	if errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close stops group timers and closes cached producers, flushing them.
func (h *Handler) Close() error {
	var err error
	h.closeOnce.Do(func() {
		close(h.quit)
		h.groups.close()
		h.txns.close()
		h.txnIdx.Close()
		h.pids.close()
		h.extents.close()
		if h.mirror != nil {
			h.mirror.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = h.producers.close(ctx)
	})
	return err
}
