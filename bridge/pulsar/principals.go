package pulsar

import (
	"container/list"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// ActAsOptions make the backend act in Pulsar as each client's own
// principal: producers, consumers and readers opened for a Principal use a
// pulsar.Client of that principal's, logged in with a token the gateway
// signs for it (sub = the principal) with the key Pulsar's token
// authentication checks. Pulsar's authorization then decides per client.
// State tables, the admin API and the gateway's own bookkeeping stay on
// the gateway's login.
type ActAsOptions struct {
	// TokenKeyFile is the broker's tokenSecretKey (the raw HMAC secret,
	// HS256) or the private key of its tokenPublicKey (PEM, RS256).
	TokenKeyFile string
	// MaxClients bounds the principals' clients kept: past it, the least
	// recently used one with nothing open is closed. Zero is 100.
	MaxClients int
	// TokenLifetime is how long a signed token is valid; a client signs a
	// new one at each connection. Zero is an hour.
	TokenLifetime time.Duration
}

// principalPool is the principals' clients, least recently used last.
type principalPool struct {
	b      *Backend
	opts   ActAsOptions
	method jwt.SigningMethod
	key    any

	mu      sync.Mutex
	clients map[string]*principalClient
	lru     *list.List // of *principalClient, most recent first
}

// principalClient is one principal's client and how many producers,
// consumers and readers use it.
type principalClient struct {
	role string
	c    pulsar.Client
	refs int
	elem *list.Element
}

func newPrincipalPool(b *Backend, opts ActAsOptions) (*principalPool, error) {
	if opts.MaxClients <= 0 {
		opts.MaxClients = 100
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	raw, err := os.ReadFile(opts.TokenKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: bridge/pulsar: token key: %w", bridge.ErrInvalid, err)
	}
	pp := &principalPool{b: b, opts: opts, clients: map[string]*principalClient{}, lru: list.New()}
	if block, _ := pem.Decode(raw); block != nil {
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: bridge/pulsar: token key %s: %w", bridge.ErrInvalid, opts.TokenKeyFile, err)
		}
		pp.method, pp.key = jwt.SigningMethodRS256, k
	} else {
		if len(raw) < 32 {
			return nil, fmt.Errorf("%w: bridge/pulsar: token key %s: an HMAC secret of %d bytes, want 32 or more", bridge.ErrInvalid, opts.TokenKeyFile, len(raw))
		}
		pp.method, pp.key = jwt.SigningMethodHS256, raw
	}
	return pp, nil
}

// sign makes a token for role, as Pulsar's own token tool would.
func (pp *principalPool) sign(role string) (string, error) {
	claims := jwt.RegisteredClaims{Subject: role, ExpiresAt: jwt.NewNumericDate(time.Now().Add(pp.opts.TokenLifetime))}
	return jwt.NewWithClaims(pp.method, claims).SignedString(pp.key)
}

// acquire returns role's client, opening it if needed; release gives it
// back.
func (pp *principalPool) acquire(role string) (*principalClient, error) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pc := pp.clients[role]
	if pc == nil {
		c, err := pulsar.NewClient(pp.b.clientOptions(pulsar.NewAuthenticationTokenFromSupplier(func() (string, error) {
			return pp.sign(role)
		})))
		if err != nil {
			return nil, mapErr(err, topicScope, "pulsar client of "+role)
		}
		pc = &principalClient{role: role, c: c}
		pc.elem = pp.lru.PushFront(pc)
		pp.clients[role] = pc
		pp.trimLocked()
	} else {
		pp.lru.MoveToFront(pc.elem)
	}
	pc.refs++
	return pc, nil
}

func (pp *principalPool) release(pc *principalClient) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pc.refs--
	pp.trimLocked()
}

// trimLocked closes the least recently used clients with nothing open
// while there are more than MaxClients. Clients in use stay: closing one
// would close a client's producers and consumers under it.
func (pp *principalPool) trimLocked() {
	for e := pp.lru.Back(); e != nil && len(pp.clients) > pp.opts.MaxClients; {
		prev := e.Prev()
		if pc := e.Value.(*principalClient); pc.refs == 0 {
			pp.lru.Remove(e)
			delete(pp.clients, pc.role)
			go pc.c.Close() // it may wait on the network; not under mu
			pp.b.log.Debug("closed a principal's Pulsar client", zap.String("role", pc.role))
		}
		e = prev
	}
}

// size is how many principals' clients are open.
func (pp *principalPool) size() int {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return len(pp.clients)
}

func (pp *principalPool) close() {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	for _, pc := range pp.clients {
		pc.c.Close()
	}
	pp.clients = map[string]*principalClient{}
	pp.lru.Init()
}

// ActsAsClients reports whether the backend acts as its clients.
func (b *Backend) ActsAsClients() bool { return b.principals != nil }

// PrincipalClients is how many principals' clients are open.
func (b *Backend) PrincipalClients() int {
	if b.principals == nil {
		return 0
	}
	return b.principals.size()
}

// clientFor is the client to open something for principal with: the
// principal's own when the backend acts as its clients, else the
// gateway's. release gives it back (nil: nothing to give back).
func (b *Backend) clientFor(principal string) (c pulsar.Client, release func(), err error) {
	if principal == "" || b.principals == nil {
		return b.client, nil, nil
	}
	pc, err := b.principals.acquire(principal)
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	return pc.c, func() { once.Do(func() { b.principals.release(pc) }) }, nil
}
