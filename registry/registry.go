// Package registry is a schema registry with the Confluent Schema
// Registry's REST API, for the serializers and tools of Kafka apps. Its
// state is a log of commands in the backend that every gateway applies in
// the same order: ids and versions are the same from every gateway, and
// outlive each.
package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

const (
	logTopic = "__pgw-schema-registry"
	keepSub  = "keep" // never moves: the log is the state, it must not expire
	// retryPause is the wait after a failed read of the log.
	retryPause = 100 * time.Millisecond
)

// Options configure a Registry.
type Options struct {
	// Namespace holds the registry's log topic ("tenant/ns").
	Namespace string
	Logger    *zap.Logger
	// Users, when set, checks Basic credentials on every request.
	Users func(user string, password []byte) bool
	// Tokens, when set, checks a request's "Authorization: Bearer" JWT.
	Tokens interface {
		Validate(token string) (principal string, err error)
	}
	// Schemas, when set, receives each AVRO schema newly registered
	// under a subject {topic}-value, to give the topic that schema in the
	// backend (bridge.TopicSchemas).
	Schemas bridge.TopicSchemas
}

// Registry serves the API over one backend.
type Registry struct {
	b     bridge.Backend
	opts  Options
	log   *zap.Logger
	topic string
	p     bridge.Producer
	r     bridge.Reader
	gw    string // this process's token prefix
	seq   atomic.Uint64

	mu      sync.Mutex
	st      *state
	index   int64 // of the last command applied
	waiters map[string]chan result
	applied chan struct{} // closed (and replaced) when a command is applied

	cancel context.CancelFunc
	done   sync.WaitGroup
}

// New opens the registry's log and reads it to its end.
func New(ctx context.Context, b bridge.Backend, opts Options) (*Registry, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	var tok [8]byte
	rand.Read(tok[:])
	r := &Registry{b: b, opts: opts, log: opts.Logger, topic: "persistent://" + opts.Namespace + "/" + logTopic,
		gw: hex.EncodeToString(tok[:]), st: newState(), index: -1, waiters: map[string]chan result{},
		applied: make(chan struct{})}
	if err := b.Admin().CreateTopic(ctx, r.topic, 0); err != nil && !errors.Is(err, bridge.ErrTopicExists) {
		return nil, fmt.Errorf("schema registry log: %w", err)
	}
	// Busy: another gateway creates it at this moment; it exists after.
	if err := b.Admin().CreateSubscription(ctx, r.topic, keepSub, 0); err != nil &&
		!errors.Is(err, bridge.ErrSubscriptionExists) && !errors.Is(err, bridge.ErrSubscriptionBusy) {
		return nil, fmt.Errorf("schema registry log: %w", err)
	}
	var err error
	if r.p, err = b.CreateProducer(ctx, bridge.ProducerOptions{Topic: r.topic, BatchingMaxDelay: time.Millisecond}); err != nil {
		return nil, fmt.Errorf("schema registry log: %w", err)
	}
	if r.r, err = b.CreateReader(ctx, bridge.ReaderOptions{Topic: r.topic, Start: bridge.StartEarliest()}); err != nil {
		r.p.Close()
		return nil, fmt.Errorf("schema registry log: %w", err)
	}
	fctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done.Add(1)
	go r.follow(fctx)
	if err := r.caughtUp(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("schema registry: reading its log: %w", err)
	}
	return r, nil
}

// Close stops following the log.
func (r *Registry) Close() error {
	r.cancel()
	r.r.Close()
	r.done.Wait()
	return r.p.Close()
}

// follow applies the log in order and hands each result to its waiter.
func (r *Registry) follow(ctx context.Context) {
	defer r.done.Done()
	for {
		m, err := r.r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, bridge.ErrClosed) {
				return
			}
			r.log.Debug("reading the schema registry log", zap.Error(err))
			time.Sleep(retryPause)
			continue
		}
		var c command
		bad := json.Unmarshal(m.Value, &c) != nil
		r.mu.Lock()
		if m.Index <= r.index {
			r.mu.Unlock()
			continue
		}
		var res result
		if !bad { // an entry that is not a command moves the index only
			res = r.st.apply(&c)
		}
		r.index = m.Index
		close(r.applied)
		r.applied = make(chan struct{})
		w := r.waiters[c.Token]
		delete(r.waiters, c.Token)
		r.mu.Unlock()
		if w != nil {
			w <- res
		}
	}
}

// do appends c to the log and returns its result once applied here.
func (r *Registry) do(ctx context.Context, c *command) (result, error) {
	c.Token = r.gw + strconv.FormatUint(r.seq.Add(1), 36)
	w := make(chan result, 1)
	r.mu.Lock()
	r.waiters[c.Token] = w
	r.mu.Unlock()
	drop := func() {
		r.mu.Lock()
		delete(r.waiters, c.Token)
		r.mu.Unlock()
	}
	v, err := json.Marshal(c)
	if err != nil {
		drop()
		return result{}, err
	}
	if _, err := r.p.Send(ctx, &bridge.OutMessage{Value: v}); err != nil {
		drop()
		return result{}, err
	}
	select {
	case res := <-w:
		return res, nil
	case <-ctx.Done():
		drop()
		return result{}, ctx.Err()
	}
}

// caughtUp waits until this gateway applied the log as far as it reaches
// now, without writing to it: what a read does first, so that it sees
// what any gateway did before the read began.
func (r *Registry) caughtUp(ctx context.Context) error {
	ir, err := r.b.Admin().IndexRange(ctx, r.topic)
	if err != nil {
		return err
	}
	for {
		r.mu.Lock()
		done, applied := r.index >= ir.Next-1, r.applied
		r.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-applied:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// view runs f on the state as applied so far.
func (r *Registry) view(f func(s *state)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r.st)
}

func bridgeSchema(sc *schema) bridge.TopicSchema {
	return bridge.TopicSchema{Type: sc.Type, Definition: sc.Text,
		Properties: map[string]string{"schema-registry.id": strconv.Itoa(sc.ID)}}
}
