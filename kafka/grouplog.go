package kafka

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Each group's commands go to a topic of its own, its log; every gateway
// serving the group follows it with a reader and applies it (groups.go).
// A command's answer is for the gateway whose request it carries (by
// token). A snapshot of the group every few commands and at every change
// of state goes to the state table kafka-groups, with its log index, so a
// gateway that starts following later starts there; the subscription
// "keep" on the log stays at the last snapshot, so Pulsar keeps what comes
// after it.
const (
	groupTable      = "kafka-groups"
	groupLogPrefix  = "__pgw-kafka-group-"
	groupKeepSub    = "keep"
	groupTickEvery  = 250 * time.Millisecond // the clock, while someone waits
	groupSnapEvery  = 64                     // commands between snapshots
	groupOpenWait   = 30 * time.Second
	groupRetryPause = 100 * time.Millisecond
)

// A group log nobody here used for groupIdleAfter (its members are on
// other gateways, or gone) is closed: a gateway does not follow every group
// it ever served. The next request opens it again from its snapshot.
const groupIdleAfter = 10 * time.Minute

// coordinator holds the group logs this gateway follows.
type coordinator struct {
	h      *Handler
	log    *zap.Logger
	snaps  bridge.StateTable
	prefix string // of its log topics
	gw     string // this gateway's token prefix
	seq    atomic.Uint64

	mu     sync.Mutex
	logs   map[string]*groupLog
	closed bool
	quit   chan struct{} // closed by close: ends the idle check
	idle   time.Duration // groupIdleAfter, or Options.groupIdle
}

type groupLog struct {
	c      *coordinator
	name   string
	topic  string
	ready  chan struct{} // closed once open (or failed: err)
	err    error
	p      bridge.Producer
	r      bridge.Reader
	cancel context.CancelFunc
	done   sync.WaitGroup

	// failed: a command of this gateway could not be appended (the broker
	// is away); the next one carries Grace (groups.go).
	failed atomic.Bool
	// users: requests holding the log (under coordinator.mu); used: when
	// the last one let go (unix ns).
	users int
	used  atomic.Int64

	mu      sync.Mutex
	g       *group
	index   int64 // of the last command applied
	waiters map[string]chan any
	// snapping: a save runs; snapAgain: the state changed since it began.
	snapping, snapAgain bool
}

// snapshot is a group as of a log index.
type snapshot struct {
	Index int64
	Group *group
}

// newCoordinator follows logs named prefix+hash with snapshots in table:
// the group coordinator's (groupTable, groupLogPrefix) and the transaction
// coordinator's (txnTable, txnLogPrefix), whose keys are transactional ids
// (txns.go).
func newCoordinator(ctx context.Context, h *Handler, table, prefix string) (*coordinator, error) {
	t, err := h.b.State(ctx, table)
	if err != nil {
		return nil, err
	}
	var b [8]byte
	rand.Read(b[:])
	c := &coordinator{h: h, log: h.log, snaps: t, prefix: prefix, gw: hex.EncodeToString(b[:]), logs: map[string]*groupLog{},
		quit: make(chan struct{}), idle: groupIdleAfter}
	if h.opts.groupIdle > 0 {
		c.idle = h.opts.groupIdle
	}
	go c.closeIdle()
	return c, nil
}

// closeIdle closes, every idle/4, the logs unused for idle with no request
// holding them.
func (c *coordinator) closeIdle() {
	t := time.NewTicker(c.idle / 4)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		var idle []*groupLog
		c.mu.Lock()
		for name, l := range c.logs {
			select {
			case <-l.ready:
			default:
				continue // opening
			}
			if l.users == 0 && time.Since(time.Unix(0, l.used.Load())) > c.idle {
				delete(c.logs, name)
				idle = append(idle, l)
			}
		}
		c.mu.Unlock()
		for _, l := range idle {
			l.close()
		}
	}
}

// release lets go of a log open returned.
func (c *coordinator) release(l *groupLog) {
	c.mu.Lock()
	l.users--
	c.mu.Unlock()
	l.used.Store(time.Now().UnixNano())
}

// groupLogTopic names a group's log: a hash, as group ids may hold any
// character; commands carry the group's name, and apply checks it.
func (c *coordinator) groupLogTopic(name string) string {
	f := fnv.New64a()
	f.Write([]byte(name))
	return "persistent://" + c.h.opts.Namespace + "/" + c.prefix + strconv.FormatUint(f.Sum64(), 16)
}

// open returns the group's log, followed and caught up to its snapshot.
func (c *coordinator) open(ctx context.Context, name string) (*groupLog, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, bridge.ErrClosed
	}
	l := c.logs[name]
	if l == nil {
		l = &groupLog{c: c, name: name, topic: c.groupLogTopic(name), ready: make(chan struct{}), waiters: map[string]chan any{}}
		c.logs[name] = l
		go l.start()
	}
	l.users++
	c.mu.Unlock()
	select {
	case <-l.ready:
	case <-ctx.Done():
		c.release(l)
		return nil, ctx.Err()
	}
	if l.err != nil {
		c.mu.Lock()
		l.users--
		if c.logs[name] == l {
			delete(c.logs, name) // the next request tries again
		}
		c.mu.Unlock()
		return nil, l.err
	}
	return l, nil
}

func (l *groupLog) start() {
	defer close(l.ready)
	ctx, cancel := context.WithTimeout(context.Background(), groupOpenWait)
	defer cancel()
	b := l.c.h.b
	if err := b.Admin().CreateTopic(ctx, l.topic, 0); err != nil && !errors.Is(err, bridge.ErrTopicExists) {
		l.err = err
		return
	}
	// Busy: another gateway is creating it at this moment (Pulsar's 412
	// "Failed to fence subscription"); it exists once that one returns.
	if err := b.Admin().CreateSubscription(ctx, l.topic, groupKeepSub, 0); err != nil && !errors.Is(err, bridge.ErrSubscriptionExists) && !errors.Is(err, bridge.ErrSubscriptionBusy) {
		l.err = err
		return
	}
	start := bridge.StartEarliest()
	l.g, l.index = newGroup(l.name), -1
	if v, ok := l.c.snaps.Get(l.name); ok {
		var s snapshot
		if err := json.Unmarshal(v, &s); err == nil && s.Group != nil {
			l.g, l.index = s.Group, s.Index
			start = bridge.StartAtIndex(s.Index + 1)
		}
	}
	var err error
	if l.p, err = b.CreateProducer(ctx, bridge.ProducerOptions{Topic: l.topic, BatchingMaxDelay: time.Millisecond}); err != nil {
		l.err = err
		return
	}
	if l.r, err = b.CreateReader(ctx, bridge.ReaderOptions{Topic: l.topic, Start: start}); err != nil {
		l.p.Close()
		l.err = err
		return
	}
	fctx, fcancel := context.WithCancel(context.Background())
	l.cancel = fcancel
	l.done.Add(2)
	go l.follow(fctx)
	go l.tick(fctx)
}

// follow applies the log in order and hands each answer to its waiter.
func (l *groupLog) follow(ctx context.Context) {
	defer l.done.Done()
	for {
		m, err := l.r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, bridge.ErrClosed) {
				return
			}
			l.c.log.Debug("reading a group log", zap.String("group", l.name), zap.Error(err))
			time.Sleep(groupRetryPause)
			continue
		}
		var cmd groupCmd
		if err := json.Unmarshal(m.Value, &cmd); err != nil || cmd.Group != l.name {
			continue // another group's log under the same hash, or not ours
		}
		l.mu.Lock()
		if m.Index <= l.index {
			l.mu.Unlock()
			continue
		}
		state, gen, txn := l.g.State, l.g.Generation, l.g.Txn.mark()
		effects := l.g.apply(&cmd, m.PublishTime.UnixMilli())
		l.index = m.Index
		for _, e := range effects {
			if w := l.waiters[e.token]; w != nil {
				w <- e.resp // room for the one answer a token gets
				delete(l.waiters, e.token)
			}
		}
		// The command's author writes the snapshot: one writer per index.
		snap := l.c.local(cmd.Token) && (state != l.g.State || gen != l.g.Generation || txn != l.g.Txn.mark() || m.Index%groupSnapEvery == 0)
		l.mu.Unlock()
		if snap {
			l.snapshot()
		}
	}
}

// tick appends the clock's tick while some request of this gateway waits
// (a JoinGroup for the round, a SyncGroup for the leader), so that
// timeouts end rounds though nobody else speaks.
func (l *groupLog) tick(ctx context.Context) {
	defer l.done.Done()
	t := time.NewTicker(groupTickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		waiting := len(l.waiters) > 0
		l.mu.Unlock()
		if waiting {
			cmd := &groupCmd{Kind: "tick", Group: l.name, Grace: l.failed.Swap(false)}
			if l.send(ctx, cmd) != nil {
				l.failed.Store(true)
			}
		}
	}
}

func (l *groupLog) send(ctx context.Context, cmd *groupCmd) error {
	v, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	_, err = l.p.Send(ctx, &bridge.OutMessage{Value: v})
	return err
}

// snapshot saves the group as now, then lets the log go before it. A call
// while a save is under way is not dropped: the saver saves again, with
// the state as then, so the last change always reaches the table (a
// skipped save left a committed transaction Ongoing in it, and
// require_stable offset fetches answered UNSTABLE_OFFSET_COMMIT for good).
func (l *groupLog) snapshot() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.snapping {
		l.snapAgain = true
		return
	}
	l.snapping = true
	go l.saveSnapshots()
}

// saveSnapshots saves until no change waits; one runs per log at a time,
// so the saved indexes only grow.
func (l *groupLog) saveSnapshots() {
	for {
		l.mu.Lock()
		l.snapAgain = false
		v, err := json.Marshal(snapshot{Index: l.index, Group: l.g})
		index := l.index
		l.mu.Unlock()
		// A failed save is tried again (the store may be back), a few times.
		for try := 0; err == nil && try < 3; try++ {
			if err2 := l.saveSnapshot(v, index); err2 == nil {
				break
			}
			time.Sleep(groupRetryPause)
		}
		l.mu.Lock()
		if !l.snapAgain {
			l.snapping = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
	}
}

func (l *groupLog) saveSnapshot(v []byte, index int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.c.snaps.Put(ctx, l.name, v); err != nil {
		l.c.log.Debug("saving a group snapshot", zap.String("group", l.name), zap.Error(err))
		return err
	}
	if err := l.c.h.b.Admin().ResetSubscription(ctx, l.topic, groupKeepSub, index+1); err != nil {
		l.c.log.Debug("moving a group log's keep mark", zap.String("group", l.name), zap.Error(err))
	}
	return nil
}

func (c *coordinator) local(token string) bool {
	return len(token) > len(c.gw) && token[:len(c.gw)] == c.gw
}

// do appends cmd to its group's log and returns its answer, once this
// gateway applied it (a JoinGroup's once its round ended).
func (c *coordinator) do(ctx context.Context, cmd *groupCmd) (any, error) {
	l, err := c.open(ctx, cmd.Group)
	if err != nil {
		return nil, err
	}
	defer c.release(l)
	cmd.Token = c.gw + "/" + strconv.FormatUint(c.seq.Add(1), 36)
	w := make(chan any, 1)
	l.mu.Lock()
	l.waiters[cmd.Token] = w
	l.mu.Unlock()
	forget := func() {
		l.mu.Lock()
		delete(l.waiters, cmd.Token)
		l.mu.Unlock()
	}
	cmd.Grace = l.failed.Swap(false)
	if err := l.send(ctx, cmd); err != nil {
		l.failed.Store(true)
		forget()
		return nil, err
	}
	select {
	case resp := <-w:
		return resp, nil
	case <-ctx.Done():
		forget()
		return nil, ctx.Err()
	}
}

// view runs f on the group as of a tick appended now (nil: no such group).
func (c *coordinator) view(ctx context.Context, name string, f func(g *group)) error {
	if _, err := c.do(ctx, &groupCmd{Kind: "tick", Group: name}); err != nil {
		return err
	}
	return c.peek(name, f)
}

// peek runs f on this gateway's copy of the group as it stands.
func (c *coordinator) peek(name string, f func(g *group)) error {
	c.mu.Lock()
	l := c.logs[name]
	c.mu.Unlock()
	if l == nil { // closed meanwhile
		return bridge.ErrClosed
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.g.Members) == 0 && l.g.Generation == 0 {
		f(nil)
		return nil
	}
	f(l.g)
	return nil
}

// known lists the groups with a snapshot (every group that ever changed
// state), as of their last one.
func (c *coordinator) known(f func(name string, state groupState, protocolType string)) {
	c.snaps.Range("", func(key string, v []byte) bool {
		var s snapshot
		if json.Unmarshal(v, &s) == nil && s.Group != nil && (s.Group.Generation > 0 || len(s.Group.Members) > 0) {
			f(key, s.Group.State, s.Group.ProtocolType)
		}
		return true
	})
}

// forget drops a deleted group's snapshot.
func (c *coordinator) forget(ctx context.Context, name string) error {
	return c.snaps.Delete(ctx, name)
}

func (c *coordinator) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	logs := c.logs
	c.logs = map[string]*groupLog{}
	c.mu.Unlock()
	close(c.quit)
	for _, l := range logs {
		l.close()
	}
}

// close stops following the log (once it is open).
func (l *groupLog) close() {
	<-l.ready
	if l.err != nil {
		return
	}
	l.cancel()
	l.r.Close()
	l.done.Wait()
	l.p.Close()
}
