// Package pulsar is the bridge contract on Apache Pulsar, through
// pulsar-client-go and its admin API. Import it as pulsarbackend where the
// client package is also imported.
//
// Offsets are the broker's own index (Message.Index(), stamped by
// AppendIndexMetadataInterceptor); Open refuses a broker that does not expose
// it. What Pulsar lacks, the backend closes from outside the broker: send
// receipts carry no index (see tailer.go), there is no seek by index (see
// entries.go, index.go), and the broker counts backlog in entries, not
// messages (see backlog.go). Kafka's batches go through connections of the
// backend's own, a batch entry at a time (publisher.go, entryreader.go,
// package wire), where the client's per-message cost was most of theirs.
package pulsar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Options configure a Backend.
type Options struct {
	// URL is the broker's binary protocol URL, pulsar://host:6650 or
	// pulsar+ssl://host:6651.
	URL string
	// AdminURL is the broker's HTTP admin URL, http://host:8080 or
	// https://host:8443.
	AdminURL string
	// At most one login: AuthToken (JWT token auth), AuthTokenFile (the
	// same, read at each connection, so a rotated token is used),
	// TLS.CertFile/KeyFile (Pulsar's TLS auth) or OAuth2. Every
	// connection logs in with it.
	AuthToken     string
	AuthTokenFile string
	TLS           TLSOptions
	OAuth2        OAuth2Options
	// Tenant and Namespace hold short topic names and state tables:
	// public/default when empty.
	Tenant, Namespace string
	// Logger gets the backend's logs (quiet at info); nil discards them.
	Logger *zap.Logger
	// OperationTimeout bounds client operations: 30s when zero.
	OperationTimeout time.Duration
	// PatternDiscovery is the default pattern rediscovery period: 1s.
	PatternDiscovery time.Duration
	// MaxPending is a producer's default bound on unconfirmed messages.
	MaxPending int
	// ActAs, when set, acts in Pulsar as each client's own principal
	// (principals.go).
	ActAs *ActAsOptions
	// SkipIndexProbe skips Open's check that the broker exposes the index
	// (a produce and a read on a probe topic). Then the first read fails
	// instead, with the same message.
	SkipIndexProbe bool
}

// Backend is a bridge.Backend on a Pulsar cluster.
type Backend struct {
	// clientMetrics is the Pulsar clients' own registry (metrics.go).
	clientMetrics *prometheus.Registry
	opts          Options
	log           *zap.Logger
	client        pulsar.Client
	admin         admin.Client
	sec           *security
	http          *http.Client
	adminURL      string
	index         *sparseIndex
	acks          *ackBook
	adm           *adminAPI

	mu      sync.Mutex
	closed  bool
	done    chan struct{}
	tailers map[string]*tailer
	tables  map[string]*table
	handles map[closer]struct{}

	// fresh holds partitions this backend created, with when: until a
	// producer takes the mark (within freshFor), their index starts at 0.
	fresh sync.Map

	presence presence

	policies     policyTables // topic policies and log starts (policy.go)
	ackTable     *table       // saved partial batch acks (ackstore.go); nil: not saved
	ackSaveQuiet atomic.Int64 // unix ns until which saves are skipped (one failed)

	txns txnCoords // transaction coordinators (txn.go)

	principals *principalPool // nil: everything on the gateway's login

	batchStats struct{ raw, fallback atomic.Int64 } // SendBatch's two ways (BatchStats)
}

// BatchStats counts SendBatch calls by the way they went: Raw as batch
// entries on the backend's own connections, Fallback message by message
// through pulsar-client-go (a producer that routes over partitions, ZSTD,
// a broker URL the own connections cannot reach). The fallback costs more
// CPU per record (BenchmarkSendBatchTLS), so a deployment (and a test) can
// see which one it gets.
type BatchStats struct{ Raw, Fallback int64 }

// BatchStats returns the counts since Open.
func (b *Backend) BatchStats() BatchStats {
	return BatchStats{Raw: b.batchStats.raw.Load(), Fallback: b.batchStats.fallback.Load()}
}

type closer interface{ closeForBackend() }

var _ bridge.Backend = (*Backend)(nil)

// Open connects to the broker and checks that it exposes the message index.
func Open(ctx context.Context, opts Options) (*Backend, error) {
	if opts.URL == "" || opts.AdminURL == "" {
		return nil, fmt.Errorf("%w: bridge/pulsar: URL and AdminURL are required", bridge.ErrInvalid)
	}
	if opts.Tenant == "" {
		opts.Tenant = "public"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.OperationTimeout <= 0 {
		opts.OperationTimeout = 30 * time.Second
	}
	if opts.PatternDiscovery <= 0 {
		opts.PatternDiscovery = time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 10000
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	sec, err := newSecurity(opts)
	if err != nil {
		return nil, err
	}
	b := &Backend{opts: opts, log: log, sec: sec, clientMetrics: prometheus.NewRegistry()}
	client, err := pulsar.NewClient(b.clientOptions(sec.auth)) // NewClient initializes the provider
	if err != nil {
		return nil, mapErr(err, topicScope, "pulsar client")
	}
	// The admin client and our own HTTP calls share one transport: same
	// TLS, same login data.
	tr := sec.transport()
	adm, err := admin.NewPulsarClientWithAuthProvider(&config.Config{WebServiceURL: opts.AdminURL}, tr)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("bridge/pulsar: admin client: %w", err)
	}
	*b = Backend{
		opts: opts, log: log, client: client, admin: adm, sec: sec, clientMetrics: b.clientMetrics,
		http:     &http.Client{Timeout: opts.OperationTimeout, Transport: tr},
		adminURL: strings.TrimRight(opts.AdminURL, "/"),
		index:    newSparseIndex(1 << 16),
		acks:     newAckBook(),
		done:     make(chan struct{}),
		tailers:  map[string]*tailer{},
		tables:   map[string]*table{},
		handles:  map[closer]struct{}{},
	}
	b.adm = &adminAPI{b: b}
	b.presence.b = b
	if opts.ActAs != nil {
		if b.principals, err = newPrincipalPool(b, *opts.ActAs); err != nil {
			client.Close()
			return nil, err
		}
	}
	if !opts.SkipIndexProbe {
		if err := b.probeIndex(ctx); err != nil {
			client.Close()
			return nil, startErr(err)
		}
	}
	b.openAckStore(ctx)
	return b, nil
}

// clientOptions are a pulsar.Client's, logging in with auth: the
// gateway's own client and each principal's (principals.go) differ only
// in that.
func (b *Backend) clientOptions(auth pulsar.Authentication) pulsar.ClientOptions {
	return pulsar.ClientOptions{
		URL:               b.opts.URL,
		OperationTimeout:  b.opts.OperationTimeout,
		ConnectionTimeout: 10 * time.Second,
		Logger:            newClientLogger(b.log),
		// The client takes our tls.Config whole (CA, server name, the
		// provider's certificate), so it checks the broker as our own
		// connections do.
		TLSConfig:           b.sec.tls,
		TLSValidateHostname: true,
		Authentication:      auth,
		// Every client of this backend counts into one registry, which
		// Metrics exports under the gateway's names.
		MetricsRegisterer: b.clientMetrics,
	}
}

// probeIndex writes one message to a probe topic and reads it back twice:
// through the admin API (the broker stamps an index) and through a reader
// (the broker sends it to clients). Each missing setting fails Open with a
// message naming it.
func (b *Backend) probeIndex(ctx context.Context) error {
	name := "persistent://" + b.opts.Tenant + "/" + b.opts.Namespace + "/__pulsar-gateway-index-probe"
	tn, _ := bridge.ParseTopic(name)
	if err := b.admin.Topics().CreateWithContext(ctx, mustUtilsTopic(name), 0); err != nil && !isConflict(err) {
		return mapErr(err, topicScope, "create index probe topic "+name)
	}
	p, err := b.client.CreateProducer(pulsar.ProducerOptions{Topic: name, DisableBatching: true})
	if err != nil {
		return mapErr(err, topicScope, "index probe producer")
	}
	defer p.Close()
	id, err := p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("probe")})
	if err != nil {
		return mapErr(err, topicScope, "index probe send")
	}
	if _, err := b.probeEntry(ctx, tn, pos{id.LedgerID(), id.EntryID()}); err != nil {
		return fmt.Errorf("bridge/pulsar: index probe: %w", err)
	}
	r, err := b.client.CreateReader(pulsar.ReaderOptions{Topic: name, StartMessageID: id, StartMessageIDInclusive: true})
	if err != nil {
		return mapErr(err, topicScope, "index probe reader")
	}
	defer r.Close()
	m, err := r.Next(ctx)
	if err != nil {
		return mapErr(err, topicScope, "index probe read")
	}
	if m.Index() == nil {
		return errIndexMissing
	}
	return nil
}

func isConflict(err error) bool {
	return errors.Is(mapErr(err, topicScope, ""), bridge.ErrTopicExists)
}

// Admin returns the admin interface.
func (b *Backend) Admin() bridge.Admin { return b.adm }

// Close flushes producers (their callbacks fire), closes every handle and
// the client.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	hs := make([]closer, 0, len(b.handles))
	for h := range b.handles {
		hs = append(hs, h)
	}
	b.mu.Unlock()
	// Producers first: their callbacks need the tail readers.
	var wg sync.WaitGroup
	for _, h := range hs {
		if p, ok := h.(*producer); ok {
			wg.Add(1)
			go func() { defer wg.Done(); p.closeForBackend() }()
		}
	}
	wg.Wait()
	for _, h := range hs {
		if _, ok := h.(*producer); !ok {
			h.closeForBackend()
		}
	}
	// After the consumers: closing them saves their batch acks here.
	if b.ackTable != nil {
		b.ackTable.close()
	}
	b.mu.Lock()
	ts := b.tailers
	b.tailers = map[string]*tailer{}
	b.mu.Unlock()
	for _, t := range ts {
		t.stop()
	}
	b.presence.close()
	b.closeTxns()
	if b.principals != nil {
		b.principals.close()
	}
	b.client.Close()
	return nil
}

func (b *Backend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// track registers a handle for Close; it fails once the backend is closed.
func (b *Backend) track(h closer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return bridge.ErrClosed
	}
	b.handles[h] = struct{}{}
	return nil
}

func (b *Backend) untrack(h closer) {
	b.mu.Lock()
	delete(b.handles, h)
	b.mu.Unlock()
}

// parse parses a topic name, short names in the configured namespace.
func (b *Backend) parse(s string) (bridge.TopicName, error) {
	return bridge.ParseTopicIn(s, b.opts.Tenant+"/"+b.opts.Namespace)
}

func errClosed(what string) error { return fmt.Errorf("%w: %s", bridge.ErrClosed, what) }
