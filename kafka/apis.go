package kafka

import (
	"context"
	"sort"

	"github.com/pulsar-gateway/pulsar-gateway/authz"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// request is one decoded request with what its handler may need besides
// the body.
type request struct {
	ctx  context.Context
	c    *conn
	hdr  header
	kreq kmsg.Request
	who  authz.Who // the principal, for authorization (authorize.go)
	// produceTurn is closed when the previous Produce of this connection has
	// handed its records to the bridge; produceDone is ours to close. They
	// keep a pipelining idempotent producer's batches in order.
	produceTurn <-chan struct{}
	produceDone chan struct{}
	// pooled are buffers the response points into: given back once the
	// response is encoded. respSize hints that encoding's size.
	pooled   [][]byte
	respSize int
}

// handlerFunc serves one request: protocol errors go in the response as
// kerr codes; a Go error closes the connection. A nil response with a nil
// error sends nothing (acks=0 Produce).
type handlerFunc func(h *Handler, r *request) (kmsg.Response, error)

// api is one API key as this gateway implements it.
type api struct {
	key      int16
	min, max int16
	handle   handlerFunc
}

// apis is the one table of what is implemented; ApiVersions is built from
// it, so what is advertised is exactly what is served.
var apis = map[int16]api{}

// register is called from each API file's init.
func register(key, min, max int16, fn handlerFunc) {
	if _, dup := apis[key]; dup {
		panic("kafka: API key registered twice")
	}
	if kmsg.RequestForKey(key) == nil || max > kmsg.RequestForKey(key).MaxVersion() {
		panic("kafka: API " + kmsg.NameForKey(key) + " registered beyond what kmsg decodes")
	}
	apis[key] = api{key: key, min: min, max: max, handle: fn}
}

// lookup returns the implementation of a key and version.
func lookup(key, version int16) (api, bool) {
	a, ok := apis[key]
	if !ok || version < a.min || version > a.max {
		return api{}, false
	}
	return a, true
}

// apiKeys lists the table sorted by key, for ApiVersions.
func apiKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(apis))
	for _, a := range apis {
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: a.key, MinVersion: a.min, MaxVersion: a.max})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	return keys
}
