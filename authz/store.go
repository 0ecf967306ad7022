package authz

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"time"

	"go.uber.org/zap"
)

// Store is where rules made through Kafka's CreateAcls live: a state table
// every gateway shares (bridge.StateTable), so a rule made through one
// gateway holds on all of them.
type Store interface {
	Put(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
	Range(prefix string, f func(key string, value []byte) bool)
	Watch(f func(key string, value []byte)) (stop func())
}

// Options configure New.
type Options struct {
	File       string   // the rule file; "" for none
	SuperUsers []string // user names that may do everything
	Store      Store    // nil: the file's rules only, CreateAcls refused
	Logger     *zap.Logger
}

// New loads the rule file (it must parse now; later a file that does not
// keeps the last good rules) and the stored rules, and follows both.
func New(opts Options) (*Authorizer, error) {
	a := newAuthorizer(opts.SuperUsers, opts.Logger)
	a.path, a.store, a.quit = opts.File, opts.Store, make(chan struct{})
	if a.path != "" {
		rules, err := readFile(a.path)
		if err != nil {
			return nil, err
		}
		a.file = rules
		a.fileStat, _ = os.Stat(a.path)
		go a.followFile()
	}
	if a.store != nil {
		// Watch before Range: a change between them is seen twice, never lost.
		a.stopWatch = a.store.Watch(a.stored1)
		a.store.Range("", func(key string, value []byte) bool {
			a.stored1(key, value)
			return true
		})
	}
	a.mu.Lock()
	a.setRulesLocked()
	a.mu.Unlock()
	return a, nil
}

// Close stops following the file and the store.
func (a *Authorizer) Close() {
	if a == nil {
		return
	}
	a.closeOnce.Do(func() {
		close(a.quit)
		if a.stopWatch != nil {
			a.stopWatch()
		}
	})
}

// stored1 applies one change of the store (value nil: deleted).
func (a *Authorizer) stored1(key string, value []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var r Rule
	if value == nil || json.Unmarshal(value, &r) != nil || r.Valid() != nil {
		delete(a.stored, key)
	} else {
		a.stored[key] = r
	}
	a.setRulesLocked()
}

// fileCheckEvery is how often the rule file is looked at for changes.
const fileCheckEvery = time.Second

// followFile reads the rule file again when its time or size changes.
func (a *Authorizer) followFile() {
	t := time.NewTicker(fileCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-a.quit:
			return
		case <-t.C:
		}
		st, err := os.Stat(a.path)
		if err != nil || a.fileStat != nil && st.ModTime().Equal(a.fileStat.ModTime()) && st.Size() == a.fileStat.Size() {
			continue
		}
		rules, err := readFile(a.path)
		if err != nil {
			a.log.Warn("acl file changed but does not parse: keeping the last good rules", zap.Error(err))
			a.fileStat = st
			continue
		}
		a.fileStat = st
		a.mu.Lock()
		a.file = rules
		a.setRulesLocked()
		a.mu.Unlock()
		a.log.Info("acl file read again", zap.Int("rules", len(rules)))
	}
}

// key is a rule's key in the store: the rule itself, so making one twice
// stores it once.
func (r Rule) key() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// ErrNoStore: rules can be made and deleted only where there is a store.
var ErrNoStore = errors.New("authz: no shared store for rules")

// Create stores a rule; it holds on every gateway once Create returns.
func (a *Authorizer) Create(ctx context.Context, r Rule) error {
	if err := r.Valid(); err != nil {
		return err
	}
	if a.store == nil {
		return ErrNoStore
	}
	v, _ := json.Marshal(r)
	if err := a.store.Put(ctx, r.key(), v); err != nil {
		return err
	}
	return a.seen(ctx, r.key(), true)
}

// seen waits until the store's changes, applied in its order, have made
// a key present or absent here: the caller's next request sees its change,
// and an earlier change still on its way cannot undo it afterwards.
func (a *Authorizer) seen(ctx context.Context, key string, present bool) error {
	for {
		a.mu.RLock()
		_, ok := a.stored[key]
		a.mu.RUnlock()
		if ok == present {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Filter selects rules, as Kafka's DescribeAcls and DeleteAcls filters do.
// Zero-valued fields are not "any": use the Any* constants and nil.
type Filter struct {
	Resource   Resource
	Name       *string
	Pattern    Pattern
	Principal  *string
	Host       *string
	Op         Op
	Permission Permission
}

// Matches tells whether the filter selects a rule. With Match, a name
// selects the rules that would apply to it: the literal name, the literal
// "*" and the prefixes of it.
func (f Filter) Matches(r Rule) bool {
	if f.Resource != AnyResource && f.Resource != r.Resource ||
		f.Op != AnyOp && f.Op != r.Op ||
		f.Permission != AnyPermission && f.Permission != r.Permission ||
		f.Principal != nil && *f.Principal != r.Principal ||
		f.Host != nil && *f.Host != r.Host {
		return false
	}
	switch f.Pattern {
	case AnyPattern:
		return f.Name == nil || *f.Name == r.Name
	case Match:
		return f.Name == nil || r.matchesName(*f.Name)
	}
	return f.Pattern == r.Pattern && (f.Name == nil || *f.Name == r.Name)
}

// Rules lists the rules a filter selects, from the file and the store.
func (a *Authorizer) Rules(f Filter) []Rule {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []Rule
	for _, r := range a.rules {
		if f.Matches(r) {
			out = append(out, r)
		}
	}
	return out
}

// Delete removes the stored rules a filter selects and returns them. Rules
// from the file stay: the file says what it says.
func (a *Authorizer) Delete(ctx context.Context, f Filter) ([]Rule, error) {
	if a.store == nil {
		return nil, ErrNoStore
	}
	a.mu.RLock()
	var keys []string
	var out []Rule
	for k, r := range a.stored {
		if f.Matches(r) {
			keys, out = append(keys, k), append(out, r)
		}
	}
	a.mu.RUnlock()
	for _, k := range keys {
		if err := a.store.Delete(ctx, k); err != nil {
			return nil, err
		}
		if err := a.seen(ctx, k, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}
