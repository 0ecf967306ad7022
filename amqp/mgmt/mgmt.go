// Package mgmt serves the part of RabbitMQ's management HTTP API that tools use
// (rabbitmqadmin, KEDA's RabbitMQ scaler, monitoring scripts): overview, vhosts, queues,
// exchanges, bindings, consumers, connections (and closing one), channels, whoami, the aliveness
// test and the alarms health check, with RabbitMQ's JSON field names and types. It reads
// the amqp.Server's snapshot (amqp/snapshot.go); it changes nothing but closing a
// connection.
//
// Logins are HTTP Basic with the AMQP listener's users. When the AMQP listener takes any
// login (no password file, no tokens), only guest/guest from a loopback address gets in,
// as RabbitMQ's default user; when it takes client certificates only, nobody gets in.
// With authorization on (authz rules), RabbitMQ's user tags
// do not exist here: super users are administrators and see everything; other users are
// "management" users who see the vhosts they may DESCRIBE, the queues in them they may
// DESCRIBE, the exchanges and bindings of those vhosts, and only their own connections
// and channels, which they alone (and administrators) may close. Without authorization
// every user who logs in is an administrator.
package mgmt

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
)

// Version is what the API reports as RabbitMQ's and the management plugin's version:
// tools (rabbitmqadmin) branch on it, so it is the RabbitMQ release whose API this is.
const Version = "3.10.8"

// Options configure a Handler.
type Options struct {
	Server *amqp.Server
	Logger *zap.Logger
	// AMQPAddr is the AMQP listener's address, for the overview's listeners.
	AMQPAddr net.Addr
	// SampleEvery is how often rates are sampled; zero is 5s (RabbitMQ's default
	// collect_statistics_interval).
	SampleEvery time.Duration
}

// Handler is the management API's http.Handler. Close stops its rate sampler.
type Handler struct {
	opts  Options
	s     *amqp.Server
	log   *zap.Logger
	rates *rates
	quit  chan struct{}
	once  sync.Once
}

// New starts the handler's rate sampler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = 5 * time.Second
	}
	h := &Handler{opts: opts, s: opts.Server, log: opts.Logger, rates: newRates(), quit: make(chan struct{})}
	go h.sample()
	return h
}

// Close stops the sampler.
func (h *Handler) Close() { h.once.Do(func() { close(h.quit) }) }

// user is who made a request.
type user struct {
	name  string
	admin bool
	who   authz.Who
}

func (h *Handler) login(r *http.Request) (user, bool) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		return user{}, false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	valid, on := h.s.Login(name, pass)
	if !on {
		// As RabbitMQ's default user: guest/guest, from loopback only.
		ip := net.ParseIP(host)
		valid = subtle.ConstantTimeCompare([]byte(name+"\x00"+pass), []byte("guest\x00guest")) == 1 && ip != nil && ip.IsLoopback()
	}
	if !valid {
		return user{}, false
	}
	u := user{name: name, who: authz.Who{Principal: authz.Principal(name), Host: host}}
	az := h.s.Authorizer()
	u.admin = az == nil || az.Super(u.who.Principal)
	return u, true
}

func (u user) tags() []string {
	if u.admin {
		return []string{"administrator"}
	}
	return []string{"management"}
}

func (h *Handler) mayVHost(u user, vhost string) bool {
	return u.admin || h.s.Authorizer().Allowed(u.who, authz.Describe, authz.VHost, vhost)
}

func (h *Handler) mayQueue(u user, vhost, name string) bool {
	return u.admin || h.mayVHost(u, vhost) && h.s.Authorizer().Allowed(u.who, authz.Describe, authz.Topic, name)
}

// ServeHTTP routes /api/... as RabbitMQ's management plugin.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, ok := h.login(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="RabbitMQ Management"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not_authorized", "reason": "Not_Authorized"})
		return
	}
	// Segments of the escaped path, each unescaped: vhost "/" is %2F.
	var parts []string
	for _, p := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		s, err := url.PathUnescape(p)
		if err != nil {
			notFound(w)
			return
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 || parts[0] != "api" {
		notFound(w)
		return
	}
	parts = parts[1:]
	if len(parts) == 0 {
		notFound(w)
		return
	}
	if r.Method == http.MethodDelete {
		if len(parts) == 2 && parts[0] == "connections" {
			h.closeConnection(w, r, u, parts[1])
			return
		}
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "Method Not Allowed", "reason": "Method Not Allowed"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "Method Not Allowed", "reason": "Method Not Allowed"})
		return
	}
	arg := func(i int) string { return parts[i] }
	n := len(parts)
	switch {
	case n == 1 && parts[0] == "overview":
		h.overview(w, r, u)
	case n == 1 && parts[0] == "whoami":
		writeJSON(w, http.StatusOK, map[string]any{"name": u.name, "tags": u.tags()})
	case n == 1 && parts[0] == "vhosts":
		h.list(w, r, h.vhosts(r.Context(), u, ""))
	case n == 2 && parts[0] == "vhosts":
		h.one(w, r, h.vhosts(r.Context(), u, arg(1)))
	case n <= 2 && parts[0] == "queues":
		vhost := ""
		if n == 2 {
			vhost = arg(1)
		}
		h.list(w, r, h.queues(r, u, vhost, ""))
	case n == 3 && parts[0] == "queues":
		h.one(w, r, h.queues(r, u, arg(1), arg(2)))
	case n <= 2 && parts[0] == "exchanges":
		vhost := ""
		if n == 2 {
			vhost = arg(1)
		}
		h.list(w, r, h.exchanges(u, vhost, nil))
	case n == 3 && parts[0] == "exchanges":
		name := arg(2)
		h.one(w, r, h.exchanges(u, arg(1), &name))
	case n <= 2 && parts[0] == "bindings":
		vhost := ""
		if n == 2 {
			vhost = arg(1)
		}
		h.list(w, r, h.bindings(u, vhost))
	case n == 1 && parts[0] == "connections":
		h.list(w, r, h.connections(u, ""))
	case n == 2 && parts[0] == "connections":
		h.one(w, r, h.connections(u, arg(1)))
	case n == 1 && parts[0] == "channels":
		h.list(w, r, h.channels(u))
	case n <= 2 && parts[0] == "consumers":
		vhost := ""
		if n == 2 {
			vhost = arg(1)
		}
		h.list(w, r, h.consumers(u, vhost, ""))
	case n == 2 && parts[0] == "aliveness-test":
		h.aliveness(w, r, u, arg(1))
	case n == 3 && parts[0] == "health" && parts[1] == "checks" && parts[2] == "alarms":
		h.alarms(w)
	default:
		notFound(w)
	}
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "Object Not Found", "reason": "Not Found"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal_server_error","reason":"encoding"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	w.Write(b)
}

type object = map[string]any
