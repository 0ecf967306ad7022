package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/registry/compat"
)

// contentType is the registry's own; clients also send application/json.
const contentType = "application/vnd.schemaregistry.v1+json"

// requestTimeout bounds a request that waits for the log.
const requestTimeout = 30 * time.Second

// Handler serves the REST API.
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, f func(*http.Request) (any, *apiError)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, req *http.Request) {
			v, e := f(req)
			r.reply(w, v, e)
		})
	}
	route("GET /{$}", func(*http.Request) (any, *apiError) { return struct{}{}, nil })
	route("GET /schemas/types", func(*http.Request) (any, *apiError) { return compat.Types(), nil })
	route("GET /schemas/ids/{id}", r.getSchema)
	route("GET /schemas/ids/{id}/schema", r.getSchemaText)
	route("GET /schemas/ids/{id}/versions", r.getSchemaVersions)
	route("GET /subjects", r.listSubjects)
	route("GET /subjects/{subject}/versions", r.listVersions)
	route("POST /subjects/{subject}/versions", r.register)
	route("GET /subjects/{subject}/versions/{version}", r.getVersion)
	route("GET /subjects/{subject}/versions/{version}/schema", r.getVersionText)
	route("GET /subjects/{subject}/versions/{version}/referencedby", r.referencedBy)
	route("POST /subjects/{subject}", r.lookup)
	route("DELETE /subjects/{subject}", r.deleteSubject)
	route("DELETE /subjects/{subject}/versions/{version}", r.deleteVersion)
	route("GET /config", r.getLevel)
	route("PUT /config", r.setLevel)
	route("DELETE /config", r.deleteLevel)
	route("GET /config/{subject}", r.getLevel)
	route("PUT /config/{subject}", r.setLevel)
	route("DELETE /config/{subject}", r.deleteLevel)
	route("POST /compatibility/subjects/{subject}/versions/{version}", r.checkCompat)
	route("POST /compatibility/subjects/{subject}/versions", r.checkCompat)
	route("GET /mode", r.getMode)
	route("GET /mode/{subject}", r.getMode)
	route("PUT /mode", r.setMode)
	route("PUT /mode/{subject}", r.setMode)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if (r.opts.Users != nil || r.opts.Tokens != nil) && !r.loggedIn(req) {
			w.Header().Set("WWW-Authenticate", `Basic realm="schema-registry"`)
			r.reply(w, nil, &apiError{40101, "Unauthorized"})
			return
		}
		if _, pattern := mux.Handler(req); pattern == "" {
			r.reply(w, nil, unrouted(mux, req))
			return
		}
		mux.ServeHTTP(w, req)
	})
}

// loggedIn checks a request's Basic credentials, or its Bearer token.
func (r *Registry) loggedIn(req *http.Request) bool {
	if tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok && r.opts.Tokens != nil {
		_, err := r.opts.Tokens.Validate(strings.TrimSpace(tok))
		return err == nil
	}
	u, p, ok := req.BasicAuth()
	return ok && r.opts.Users != nil && r.opts.Users(u, []byte(p))
}

// unrouted is the answer to a request no route takes, in the registry's
// shape: 405 when the path has routes for other methods, else 404.
func unrouted(mux *http.ServeMux, req *http.Request) *apiError {
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		other := req.Clone(req.Context())
		other.Method = m
		if _, pattern := mux.Handler(other); pattern != "" {
			return &apiError{405, "HTTP 405 Method Not Allowed"}
		}
	}
	return &apiError{404, "HTTP 404 Not Found"}
}

func (r *Registry) reply(w http.ResponseWriter, v any, e *apiError) {
	w.Header().Set("Content-Type", contentType)
	if e != nil {
		w.WriteHeader(e.status())
		v = e
	}
	if s, ok := v.(rawText); ok {
		io.WriteString(w, string(s))
		return
	}
	if err := json.NewEncoder(w).Encode(v); err != nil {
		r.log.Debug("writing a schema registry answer", zap.Error(err))
	}
}

// rawText is an answer written as is: a schema's own text.
type rawText string

// schemaRequest is the body of register, lookup and compatibility. The
// fields newer clients send for what is not served (metadata and rule
// sets, a chosen id or version, which need IMPORT mode) are taken when
// empty and refused when set.
type schemaRequest struct {
	Schema     string          `json:"schema"`
	SchemaType string          `json:"schemaType"`
	References []Reference     `json:"references"`
	Metadata   json.RawMessage `json:"metadata"`
	RuleSet    json.RawMessage `json:"ruleSet"`
	ID         int             `json:"id"`
	Version    int             `json:"version"`
}

// empty: absent, null or {}.
func empty(m json.RawMessage) bool {
	s := strings.TrimSpace(string(m))
	return s == "" || s == "null" || strings.ReplaceAll(s, " ", "") == "{}"
}

// decodeBody reads a JSON request body; an unknown field is a 422, as the
// Confluent registry answers it.
func decodeBody(req *http.Request, v any) *apiError {
	dec := json.NewDecoder(io.LimitReader(req.Body, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return &apiError{422, "Unrecognized field: " + strings.TrimPrefix(err.Error(), "json: unknown field ")}
		}
		return &apiError{400, "Unexpected request body: " + err.Error()}
	}
	return nil
}

// schemaAnswer is a schema as the API shows it; AVRO and no references
// are left out, as the Confluent registry does.
type schemaAnswer struct {
	Subject    string      `json:"subject,omitempty"`
	Version    int         `json:"version,omitempty"`
	ID         int         `json:"id,omitempty"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
}

func answer(sc *schema) schemaAnswer {
	a := schemaAnswer{Schema: sc.Text, References: sc.Refs}
	if sc.Type != "AVRO" {
		a.SchemaType = sc.Type
	}
	return a
}

func boolParam(req *http.Request, name string) bool {
	b, _ := strconv.ParseBool(req.URL.Query().Get(name))
	return b
}

func ctxOf(req *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(req.Context(), requestTimeout)
}

// fresh runs look on the state once this gateway caught up with the log,
// so a read sees what any gateway did before it (a version or schema
// another deleted a moment ago is gone). Schemas by id too: deserializers
// ask once per id, and a permanently deleted schema must not be served.
func (r *Registry) fresh(req *http.Request, look func(s *state)) *apiError {
	ctx, cancel := ctxOf(req)
	defer cancel()
	if err := r.caughtUp(ctx); err != nil {
		return storeErr(err)
	}
	r.view(func(s *state) { look(s) })
	return nil
}

func storeErr(err error) *apiError {
	if errors.Is(err, context.DeadlineExceeded) {
		return errTimeout()
	}
	return errStore(err)
}

func (r *Registry) schemaByID(req *http.Request) (*schema, *apiError) {
	id, err := strconv.Atoi(req.PathValue("id"))
	if err != nil {
		return nil, errSchemaNotFound()
	}
	var sc *schema
	if e := r.fresh(req, func(s *state) {
		if x := s.schemas[id]; x != nil && s.inUse(id) {
			sc = x
		}
	}); e != nil {
		return nil, e
	}
	if sc == nil {
		return nil, errSchemaNotFound()
	}
	return sc, nil
}

func (r *Registry) getSchema(req *http.Request) (any, *apiError) {
	sc, e := r.schemaByID(req)
	if e != nil {
		return nil, e
	}
	return answer(sc), nil
}

func (r *Registry) getSchemaText(req *http.Request) (any, *apiError) {
	sc, e := r.schemaByID(req)
	if e != nil {
		return nil, e
	}
	return rawText(sc.Text), nil
}

type subjectVersion struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

func (r *Registry) getSchemaVersions(req *http.Request) (any, *apiError) {
	sc, e := r.schemaByID(req)
	if e != nil {
		return nil, e
	}
	deleted := boolParam(req, "deleted")
	out := []subjectVersion{}
	r.view(func(s *state) {
		for name, sub := range s.subjects {
			for _, v := range sub.Versions {
				if v.ID == sc.ID && (deleted || !v.Deleted) {
					out = append(out, subjectVersion{name, v.Version})
				}
			}
		}
	})
	sort.Slice(out, func(i, j int) bool {
		return out[i].Subject < out[j].Subject || out[i].Subject == out[j].Subject && out[i].Version < out[j].Version
	})
	return out, nil
}

func (r *Registry) listSubjects(req *http.Request) (any, *apiError) {
	deleted := boolParam(req, "deleted")
	prefix := req.URL.Query().Get("subjectPrefix")
	out := []string{}
	if e := r.fresh(req, func(s *state) {
		for name, sub := range s.subjects {
			if strings.HasPrefix(name, prefix) && (len(sub.live()) > 0 || deleted && len(sub.Versions) > 0) {
				out = append(out, name)
			}
		}
	}); e != nil {
		return nil, e
	}
	sort.Strings(out)
	return out, nil
}

// versionsOf is a subject's versions (soft-deleted too when deleted).
func (r *Registry) versionsOf(req *http.Request, deleted bool) ([]version, *apiError) {
	name := req.PathValue("subject")
	var vs []version
	if e := r.fresh(req, func(s *state) {
		vs = nil
		if sub := s.subjects[name]; sub != nil {
			vs = sub.live()
			if deleted {
				vs = slices.Clone(sub.Versions)
			}
		}
	}); e != nil {
		return nil, e
	}
	if len(vs) == 0 {
		return nil, errSubjectNotFound(name)
	}
	return vs, nil
}

func (r *Registry) listVersions(req *http.Request) (any, *apiError) {
	vs, e := r.versionsOf(req, boolParam(req, "deleted"))
	if e != nil {
		return nil, e
	}
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out, nil
}

// parseVersion reads a version path value: a number from 1, or latest
// (-1 too); latest is -1.
func parseVersion(v string) (int, *apiError) {
	if v == "latest" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n == 0 || n < -1 {
		return 0, errInvalidVersion(v)
	}
	return int(n), nil
}

// version finds a subject's version named in the path.
func (r *Registry) version(req *http.Request) (version, *apiError) {
	n, e := parseVersion(req.PathValue("version"))
	if e != nil {
		return version{}, e
	}
	vs, e := r.versionsOf(req, boolParam(req, "deleted"))
	if e != nil {
		return version{}, e
	}
	if n == -1 {
		return vs[len(vs)-1], nil
	}
	for _, v := range vs {
		if v.Version == n {
			return v, nil
		}
	}
	return version{}, errVersionNotFound(n)
}

func (r *Registry) getVersion(req *http.Request) (any, *apiError) {
	v, e := r.version(req)
	if e != nil {
		return nil, e
	}
	var a schemaAnswer
	r.view(func(s *state) { a = answer(s.schemas[v.ID]) })
	a.Subject, a.Version, a.ID = req.PathValue("subject"), v.Version, v.ID
	return a, nil
}

func (r *Registry) getVersionText(req *http.Request) (any, *apiError) {
	v, e := r.version(req)
	if e != nil {
		return nil, e
	}
	var t string
	r.view(func(s *state) { t = s.schemas[v.ID].Text })
	return rawText(t), nil
}

func (r *Registry) referencedBy(req *http.Request) (any, *apiError) {
	v, e := r.version(req)
	if e != nil {
		return nil, e
	}
	out := []int{}
	r.view(func(s *state) { out = append(out, s.referencedBy(req.PathValue("subject"), v.Version)...) })
	return out, nil
}

// parseSchema reads a request's schema and returns it in canonical form.
func (r *Registry) parseSchema(req *http.Request) (*schema, *apiError) {
	var body schemaRequest
	if e := decodeBody(req, &body); e != nil {
		return nil, e
	}
	switch {
	case !empty(body.Metadata) || !empty(body.RuleSet):
		return nil, errInvalidSchema(errors.New("schema metadata and rule sets are not served"))
	case body.ID != 0 || body.Version != 0:
		return nil, errInvalidSchema(errors.New("registering with a chosen id or version needs IMPORT mode, which is not served"))
	}
	typ := body.SchemaType
	if typ == "" {
		typ = "AVRO"
	}
	f, ok := compat.Lookup(typ)
	if !ok {
		return nil, errInvalidSchema(errors.New("unknown schema type " + typ + "; served: " + strings.Join(compat.Types(), ", ")))
	}
	sc := &schema{Type: typ, Text: body.Schema, Refs: body.References}
	var in compat.Schema
	var err error
	if e := r.fresh(req, func(s *state) {
		in, err = s.resolve(sc)
	}); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, errInvalidSchema(err)
	}
	canonical, err := f.Parse(in)
	if err != nil {
		return nil, errInvalidSchema(err)
	}
	sc.Text = canonical
	return sc, nil
}

func (r *Registry) register(req *http.Request) (any, *apiError) {
	sc, e := r.parseSchema(req)
	if e != nil {
		return nil, e
	}
	ctx, cancel := ctxOf(req)
	defer cancel()
	res, err := r.do(ctx, &command{Op: "register", Subject: req.PathValue("subject"), Schema: sc})
	if err != nil {
		return nil, storeErr(err)
	}
	if res.err != nil {
		return nil, res.err
	}
	sc.ID = res.id
	r.mirror(ctx, req.PathValue("subject"), sc, res.version)
	return map[string]int{"id": res.id}, nil
}

func (r *Registry) lookup(req *http.Request) (any, *apiError) {
	sc, e := r.parseSchema(req)
	if e != nil {
		return nil, e
	}
	name, deleted := req.PathValue("subject"), boolParam(req, "deleted")
	var a *schemaAnswer
	subjectFound := false
	if e := r.fresh(req, func(s *state) {
		sub := s.subjects[name]
		subjectFound = sub != nil && (len(sub.live()) > 0 || deleted && len(sub.Versions) > 0)
		id, ok := s.ids[sc.key()]
		if !subjectFound || !ok {
			return
		}
		for _, v := range sub.Versions {
			if v.ID == id && (deleted || !v.Deleted) {
				x := answer(s.schemas[id])
				x.Subject, x.Version, x.ID = name, v.Version, id
				a = &x
			}
		}
	}); e != nil {
		return nil, e
	}
	switch {
	case !subjectFound:
		return nil, errSubjectNotFound(name)
	case a == nil:
		return nil, errSchemaNotFound()
	}
	return a, nil
}

func (r *Registry) deleteSubject(req *http.Request) (any, *apiError) {
	ctx, cancel := ctxOf(req)
	defer cancel()
	res, err := r.do(ctx, &command{Op: "delete-subject", Subject: req.PathValue("subject"), Perm: boolParam(req, "permanent")})
	if err != nil {
		return nil, storeErr(err)
	}
	if res.err != nil {
		return nil, res.err
	}
	return res.versions, nil
}

func (r *Registry) deleteVersion(req *http.Request) (any, *apiError) {
	n, e := parseVersion(req.PathValue("version"))
	if e != nil {
		return nil, e
	}
	ctx, cancel := ctxOf(req)
	defer cancel()
	res, err := r.do(ctx, &command{Op: "delete-version", Subject: req.PathValue("subject"), Version: n, Perm: boolParam(req, "permanent")})
	if err != nil {
		return nil, storeErr(err)
	}
	if res.err != nil {
		return nil, res.err
	}
	return res.version, nil
}

func (r *Registry) getLevel(req *http.Request) (any, *apiError) {
	name := req.PathValue("subject")
	var level string
	if e := r.fresh(req, func(s *state) {
		level = s.level
		if name != "" {
			level = ""
			if sub := s.subjects[name]; sub != nil {
				level = sub.Level
			}
			if level == "" && boolParam(req, "defaultToGlobal") {
				level = s.level
			}
		}
	}); e != nil {
		return nil, e
	}
	if level == "" {
		return nil, errSubjectLevelNotFound(name)
	}
	return map[string]string{"compatibilityLevel": level}, nil
}

func (r *Registry) setLevel(req *http.Request) (any, *apiError) {
	var body struct {
		Compatibility string `json:"compatibility"`
	}
	if e := decodeBody(req, &body); e != nil {
		return nil, e
	}
	level := strings.ToUpper(body.Compatibility)
	if !slices.Contains(levels, level) {
		return nil, errInvalidLevel(body.Compatibility)
	}
	ctx, cancel := ctxOf(req)
	defer cancel()
	res, err := r.do(ctx, &command{Op: "set-level", Subject: req.PathValue("subject"), Level: level})
	if err != nil {
		return nil, storeErr(err)
	}
	return map[string]string{"compatibility": res.level}, nil
}

func (r *Registry) deleteLevel(req *http.Request) (any, *apiError) {
	ctx, cancel := ctxOf(req)
	defer cancel()
	res, err := r.do(ctx, &command{Op: "delete-level", Subject: req.PathValue("subject")})
	if err != nil {
		return nil, storeErr(err)
	}
	if res.err != nil {
		return nil, res.err
	}
	return map[string]string{"compatibilityLevel": res.level}, nil
}

func (r *Registry) checkCompat(req *http.Request) (any, *apiError) {
	sc, e := r.parseSchema(req)
	if e != nil {
		return nil, e
	}
	name := req.PathValue("subject")
	var against []version
	if req.PathValue("version") != "" {
		v, e := r.version(req)
		if e != nil {
			return nil, e
		}
		against = []version{v}
	} else if vs, e := r.versionsOf(req, false); e == nil {
		against = vs
	}
	var msgs []string
	r.view(func(s *state) {
		level := s.levelOf(name)
		if req.PathValue("version") == "" {
			against = s.againstForLevel(&subject{Versions: against}, level)
		}
		msgs = s.checkLevel(level, sc, against)
	})
	out := map[string]any{"is_compatible": len(msgs) == 0}
	if boolParam(req, "verbose") {
		if msgs == nil {
			msgs = []string{}
		}
		out["messages"] = msgs
	}
	return out, nil
}

// The registry serves reads and writes only: IMPORT and READONLY modes
// are refused, not accepted and ignored.
func (r *Registry) getMode(req *http.Request) (any, *apiError) {
	if s := req.PathValue("subject"); s != "" && !boolParam(req, "defaultToGlobal") {
		return nil, &apiError{40409, fmt.Sprintf("Subject '%s' does not have subject-level mode configured", s)}
	}
	return map[string]string{"mode": "READWRITE"}, nil
}

func (r *Registry) setMode(req *http.Request) (any, *apiError) {
	var body struct {
		Mode string `json:"mode"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&body); err != nil {
		return nil, &apiError{400, "Unrecognized request body: " + err.Error()}
	}
	if strings.ToUpper(body.Mode) != "READWRITE" {
		return nil, errInvalidMode(body.Mode)
	}
	return map[string]string{"mode": "READWRITE"}, nil
}

// mirror gives the topic of a {topic}-value subject its AVRO schema in
// the backend, when the backend keeps schemas; a failure is logged, the
// registration stands.
func (r *Registry) mirror(ctx context.Context, subject string, sc *schema, version int) {
	topic, ok := strings.CutSuffix(subject, "-value")
	if r.opts.Schemas == nil || !ok || sc.Type != "AVRO" || len(sc.Refs) > 0 {
		return
	}
	if err := r.opts.Schemas.SetTopicSchema(ctx, topic, bridgeSchema(sc)); err != nil {
		r.log.Info("giving a topic its schema", zap.String("topic", topic), zap.Int("version", version), zap.Error(err))
	}
}
