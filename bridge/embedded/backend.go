// Package embedded is the bridge contract on a local Pebble store: durable
// under a data directory, or in memory for tests. It is one process's
// storage, not a cluster; the Pulsar backend is the way to grow past it.
package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Options configure the embedded backend.
type Options struct {
	// Dir holds the store; it is created when missing.
	Dir string
	// InMemory keeps everything in memory (tests); Dir is then ignored.
	InMemory bool
	// Logger receives the store's own log lines; nil discards them.
	Logger *zap.Logger
	// AutoCreatePartitions is the partition count of a topic created because
	// a producer or consumer named it (Pulsar's defaultNumPartitions with
	// allowAutoTopicCreationType=partitioned); 0 means 1. Negative turns
	// auto-creation off.
	AutoCreatePartitions int
	// CursorFlushInterval is how often acknowledgements are written to the
	// store. A crash may redeliver what was acknowledged in the last
	// interval, never lose a message. Zero means 100ms.
	CursorFlushInterval time.Duration
	// MaintenanceInterval is how often topic policies (retention,
	// compaction) are applied. Zero means 30s.
	MaintenanceInterval time.Duration

	fs vfs.FS // tests: a file system under InMemory (a slow disk, say)
}

// Backend implements bridge.Backend on Pebble.
type Backend struct {
	db   *pebble.DB
	log  *zap.Logger
	opts Options

	mu         sync.Mutex
	topics     map[string]*topic     // by full topic name
	partitions map[string]*partition // by full partition (or unpartitioned topic) name
	nextPartID uint64
	// layout counts changes to topics' partitions, so a producer can keep
	// its partitions between them instead of looking them up per send.
	layout   atomic.Uint64
	states   map[string]*stateTable
	presence presence
	patterns map[*consumer]struct{} // consumers that follow new topics
	// followers: consumers of named topics, by topic, told of its new
	// partitions; not every consumer told of every new topic (a fleet of
	// devices, a topic each, made that quadratic).
	followers map[string][]*consumer
	closed    bool
	closing   chan struct{} // closed when Close begins, to end waits
	// dbUse counts the store's users outside the committer and the cursor
	// flusher (state tables, topics, policies, cursors created or deleted,
	// compaction, reads), plus dbClosing once Close begins to wait for
	// them: Pebble panics on a closed DB, and a Kafka group snapshot saved
	// from a goroutine of its own hit that.
	dbUse atomic.Int64

	commits *committer
	cursors *cursorFlusher
	maint   *maintainer

	// commitSeconds times each group commit's write and fsync (metrics.go).
	commitSeconds prometheus.Histogram
}

var _ bridge.Backend = (*Backend)(nil)

// Open opens (or creates) the store and loads its topics and cursors.
func Open(opts Options) (*Backend, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.CursorFlushInterval <= 0 {
		opts.CursorFlushInterval = 100 * time.Millisecond
	}
	if opts.MaintenanceInterval <= 0 {
		opts.MaintenanceInterval = 30 * time.Second
	}
	po := &pebble.Options{Logger: pebbleLogger{opts.Logger.Sugar()}}
	// No block compression: the store is mostly message values, often
	// compressed already or random, and trying Snappy on every block that
	// flushes and compacts cost up to a third of the CPU of a multi-partition
	// produce (measured); compressible payloads take more disk instead.
	po.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	dir := opts.Dir
	if opts.InMemory {
		po.FS = vfs.NewMem()
		if opts.fs != nil {
			po.FS = opts.fs
		}
		dir = ""
	} else {
		if dir == "" {
			return nil, fmt.Errorf("embedded store: no data directory given")
		}
		if err := checkWritableDir(dir); err != nil {
			return nil, err
		}
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("embedded store at %q: %w", dir, err)
	}
	b := &Backend{
		commitSeconds: newCommitHistogram(),
		db:            db,
		log:           opts.Logger,
		opts:          opts,
		topics:        map[string]*topic{},
		partitions:    map[string]*partition{},
		states:        map[string]*stateTable{},
		patterns:      map[*consumer]struct{}{},
		followers:     map[string][]*consumer{},
		closing:       make(chan struct{}),
	}
	b.presence.b = b
	if err := b.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded store at %q: %w", dir, err)
	}
	b.commits = newCommitter(b)
	b.cursors = newCursorFlusher(b, opts.CursorFlushInterval)
	b.maint = newMaintainer(b, opts.MaintenanceInterval)
	return b, nil
}

// checkWritableDir makes dir and proves a file can be written in it, so an
// unwritable data directory is named at start-up, not at the first write.
func checkWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("embedded store: data directory %q: %w", dir, err)
	}
	probe := filepath.Join(dir, ".write-probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fmt.Errorf("embedded store: data directory %q is not writable: %w", dir, err)
	}
	return os.Remove(probe)
}

// load reads every topic, partition and cursor into memory.
func (b *Backend) load() error {
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindTopic}, UpperBound: []byte{kindTopic + 1}})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		n, k := binary.Uvarint(it.Value())
		if k <= 0 {
			it.Close()
			return fmt.Errorf("%w: topic %q", errCorrupt, it.Key()[1:])
		}
		name := string(it.Key()[1:])
		b.topics[name] = &topic{name: name, partitions: int(n)}
	}
	if err := it.Close(); err != nil {
		return err
	}
	it, err = b.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindPartition}, UpperBound: []byte{kindPartition + 1}})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		if len(it.Value()) != 8 {
			it.Close()
			return fmt.Errorf("%w: partition %q", errCorrupt, it.Key()[1:])
		}
		name := string(it.Key()[1:])
		id := binary.BigEndian.Uint64(it.Value())
		if id >= b.nextPartID {
			b.nextPartID = id + 1
		}
		p, err := b.loadPartition(name, id)
		if err != nil {
			it.Close()
			return err
		}
		b.partitions[name] = p
	}
	if err := it.Close(); err != nil {
		return err
	}
	return b.loadPolicies()
}

func (b *Backend) loadPartition(name string, id uint64) (*partition, error) {
	t, num, err := splitPartition(name)
	if err != nil {
		return nil, err
	}
	p := newPartition(b, name, t, num, id)
	if err := p.loadExtent(); err != nil {
		return nil, err
	}
	// Durable subscriptions of the partition.
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: cursorPrefix(id), UpperBound: prefixEnd(cursorPrefix(id))})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		c, err := decodeCursor(it.Value())
		if err != nil {
			return nil, fmt.Errorf("partition %q: subscription %q: %w", name, it.Key()[9:], err)
		}
		s := newSubscription(p, string(it.Key()[9:]), bridge.SubscriptionType(c.Type), true)
		s.restore(c)
		p.subs[s.name] = s
	}
	return p, nil
}

// splitPartition returns the topic name and partition number of a partition
// name (-1 for a non-partitioned topic's own name).
func splitPartition(name string) (string, int, error) {
	tn, err := bridge.ParseTopic(name)
	if err != nil {
		return "", 0, err
	}
	if base, i, ok := tn.PartitionIndex(); ok {
		return base.String(), i, nil
	}
	return tn.String(), -1, nil
}

// Close stops every producer, consumer and reader, writes pending
// acknowledgements and closes the store.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closing)
	parts := make([]*partition, 0, len(b.partitions))
	for _, p := range b.partitions {
		parts = append(parts, p)
	}
	b.mu.Unlock()

	b.commits.close() // waits for what producers queued before Close
	b.maint.wait()
	for _, p := range parts {
		p.shutdown()
	}
	b.cursors.close()
	b.dbUse.Add(dbClosing)
	for b.dbUse.Load() != dbClosing {
		time.Sleep(time.Millisecond)
	}
	return b.db.Close()
}

const dbClosing = 1 << 62

// useDB counts one more user of the store, or answers false once Close
// has begun; doneDB ends the use. A count, not a lock: a user may nest
// uses, and none waits for another.
func (b *Backend) useDB() bool {
	if b.dbUse.Add(1) >= dbClosing {
		b.dbUse.Add(-1)
		return false
	}
	return true
}

func (b *Backend) doneDB() { b.dbUse.Add(-1) }

// commit writes batch durably, or answers bridge.ErrClosed once Close has
// taken the store away.
func (b *Backend) commit(batch *pebble.Batch) error { return b.commitWith(batch, pebble.Sync) }

func (b *Backend) commitWith(batch *pebble.Batch, opts *pebble.WriteOptions) error {
	if !b.useDB() {
		return bridge.ErrClosed
	}
	defer b.doneDB()
	return batch.Commit(opts)
}

// syncLog makes everything written so far durable; concurrent calls share
// an fsync (Pebble's commit pipeline).
func (b *Backend) syncLog() error {
	if !b.useDB() {
		return bridge.ErrClosed
	}
	defer b.doneDB()
	return b.db.LogData(nil, pebble.Sync)
}

// set and del write one key durably, as commit does.
func (b *Backend) set(key, value []byte) error {
	batch := b.db.NewBatch()
	defer batch.Close()
	batch.Set(key, value, nil)
	return b.commit(batch)
}

func (b *Backend) del(key []byte) error {
	batch := b.db.NewBatch()
	defer batch.Close()
	batch.Delete(key, nil)
	return b.commit(batch)
}

// isClosed needs no lock, so any code may ask.
func (b *Backend) isClosed() bool {
	select {
	case <-b.closing:
		return true
	default:
		return false
	}
}

// Admin returns the backend's topic and subscription management.
func (b *Backend) Admin() bridge.Admin { return admin{b} }

// topic is a topic's metadata.
type topic struct {
	name       string
	partitions int                 // 0: not partitioned
	policy     *bridge.TopicPolicy // nil: the default; guarded by Backend.mu
	// unsynced counts its writes (creation, growth) whose writer has not
	// synced yet: whoever finds it meanwhile syncs before answering, so no
	// one is told of a topic a crash could take back. Guarded by Backend.mu.
	unsynced int
}

// syncUnsynced makes durable, for a caller that found a topic it did not
// write, what was written of it (unsynced: the topic's count, read under
// b.mu).
func (b *Backend) syncUnsynced(unsynced int) error {
	if unsynced == 0 {
		return nil
	}
	return b.syncLog()
}

// synced ends a writer's wait for the sync of what it wrote of t.
func (b *Backend) synced(t *topic) error {
	err := b.syncLog()
	b.mu.Lock()
	t.unsynced--
	b.mu.Unlock()
	return err
}

// partitionNames lists the names of a topic's partitions (its own name when
// not partitioned).
func (t *topic) partitionNames() []string {
	if t.partitions == 0 {
		return []string{t.name}
	}
	names := make([]string, t.partitions)
	for i := range names {
		names[i] = bridge.PartitionName(t.name, i)
	}
	return names
}

// normalize turns a user's topic name into its full form.
func normalize(name string) (string, error) {
	tn, err := bridge.ParseTopic(name)
	if err != nil {
		return "", err
	}
	return tn.String(), nil
}

// createTopicLocked writes a topic and its partitions, durable once the
// caller's syncLog returns. b.mu is held.
func (b *Backend) createTopicLocked(name string, partitions int) (*topic, error) {
	if b.closed {
		return nil, bridge.ErrClosed
	}
	if partitions < 0 {
		return nil, fmt.Errorf("%w: %d partitions", bridge.ErrInvalid, partitions)
	}
	if _, ok := b.topics[name]; ok {
		return nil, fmt.Errorf("%w: %s", bridge.ErrTopicExists, name)
	}
	if _, i, _ := splitPartition(name); i >= 0 {
		return nil, fmt.Errorf("%w: %s is a partition's name", bridge.ErrInvalid, name)
	}
	t := &topic{name: name}
	if err := b.growTopicLocked(t, partitions); err != nil {
		return nil, fmt.Errorf("create topic %s: %w", name, err)
	}
	b.topics[name] = t
	return t, nil
}

// growTopicLocked writes t with its new partition count and the partitions
// it did not have (all of them for a new topic), then tells followers.
// b.mu is held; the caller calls syncLog once it is not.
func (b *Backend) growTopicLocked(t *topic, partitions int) error {
	batch := b.db.NewBatch()
	defer batch.Close()
	batch.Set(topicKey(t.name), binary.AppendUvarint(nil, uint64(partitions)), nil)
	grown := &topic{name: t.name, partitions: partitions}
	var created []*partition
	for _, pn := range grown.partitionNames() {
		if _, ok := b.partitions[pn]; ok {
			continue
		}
		id := b.nextPartID
		b.nextPartID++
		batch.Set(partitionKey(pn), binary.BigEndian.AppendUint64(nil, id), nil)
		_, num, _ := splitPartition(pn)
		created = append(created, newPartition(b, pn, t.name, num, id))
	}
	// Not synced here: b.mu is every lookup's lock, and a fleet of devices
	// each making a topic of its own waited for the fsyncs one by one. The
	// creator syncs after letting go of b.mu (syncLog), where concurrent
	// syncs share one; whoever finds the topic meanwhile can only make
	// something durable by a later synced write, which covers this one.
	if err := b.commitWith(batch, pebble.NoSync); err != nil {
		return err
	}
	t.unsynced++
	for _, p := range created {
		b.partitions[p.name] = p
	}
	t.partitions = partitions
	b.layout.Add(1)
	b.announceLocked(t)
	return nil
}

// announceLocked tells pattern consumers about a new topic at once, so a
// device subscribed to a wildcard sees a new topic's first message.
func (b *Backend) announceLocked(t *topic) {
	for c := range b.patterns {
		go c.discover(t.name)
	}
	for _, c := range b.followers[t.name] {
		go c.discover(t.name)
	}
}

// lookupTopic finds a topic, creating it when auto-creation is on and create
// is asked for.
func (b *Backend) lookupTopic(name string, create bool) (*topic, error) {
	full, err := normalize(name)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, bridge.ErrClosed
	}
	if t, ok := b.topics[full]; ok {
		unsynced := t.unsynced
		b.mu.Unlock()
		if err := b.syncUnsynced(unsynced); err != nil {
			return nil, err
		}
		return t, nil
	}
	if !create || b.opts.AutoCreatePartitions < 0 {
		b.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", bridge.ErrTopicNotFound, full)
	}
	n := b.opts.AutoCreatePartitions
	if n == 0 {
		n = 1
	}
	t, err := b.createTopicLocked(full, n)
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return t, b.synced(t)
}

// lookupPartition finds a partition by its name, or a non-partitioned topic
// by its own. A partitioned topic's own name is not a partition.
func (b *Backend) lookupPartition(name string) (*partition, error) {
	full, err := normalize(name)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, bridge.ErrClosed
	}
	if p, ok := b.partitions[full]; ok {
		unsynced := 0
		if t := b.topics[p.topic]; t != nil {
			unsynced = t.unsynced
		}
		b.mu.Unlock()
		if err := b.syncUnsynced(unsynced); err != nil {
			return nil, err
		}
		return p, nil
	}
	t, ok := b.topics[full]
	b.mu.Unlock()
	if ok && t.partitions > 0 {
		return nil, fmt.Errorf("%w: %s is partitioned: name one partition", bridge.ErrInvalid, full)
	}
	return nil, fmt.Errorf("%w: %s", bridge.ErrTopicNotFound, full)
}

// partitionsOf returns a topic's partitions in order.
func (b *Backend) partitionsOf(t *topic) []*partition {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*partition
	for _, n := range t.partitionNames() {
		if p, ok := b.partitions[n]; ok {
			out = append(out, p)
		}
	}
	return out
}

// sortedTopics lists topics whose name starts with prefix.
func (b *Backend) sortedTopics(prefix string) []topic {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []topic
	for name, t := range b.topics {
		if len(name) >= len(prefix) && name[:len(prefix)] == prefix {
			out = append(out, *t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// pebbleLogger sends Pebble's log lines to zap; Fatalf is an error, never
// an exit, so a store problem is reported by the call that hit it.
type pebbleLogger struct{ s *zap.SugaredLogger }

func (l pebbleLogger) Infof(format string, args ...any)  { l.s.Debugf(format, args...) }
func (l pebbleLogger) Errorf(format string, args ...any) { l.s.Errorf(format, args...) }
func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.s.Errorf(format, args...)
	panic(errors.New(fmt.Sprintf(format, args...)))
}
