package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
)

// targets are two registries (two gateways) on one store: an embedded
// one, and Pulsar when PULSAR_URL is set (two backends, as two processes
// have).
func targets(t *testing.T) map[string]func(t *testing.T) (a, b string) {
	out := map[string]func(t *testing.T) (string, string){
		"embedded": func(t *testing.T) (string, string) {
			be := openEmbedded(t, "")
			return serve(t, be), serve(t, be)
		},
	}
	if os.Getenv("PULSAR_URL") != "" {
		out["pulsar"] = func(t *testing.T) (string, string) { return serve(t, openPulsar(t)), serve(t, openPulsar(t)) }
	}
	return out
}

func openEmbedded(t testing.TB, dir string) bridge.Backend {
	t.Helper()
	b, err := embedded.Open(embedded.Options{InMemory: dir == "", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func openPulsar(t testing.TB) bridge.Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: os.Getenv("PULSAR_URL"),
		AdminURL: os.Getenv("PULSAR_ADMIN_URL"), Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// serve runs a registry on b over HTTP and returns its URL.
func serve(t testing.TB, b bridge.Backend) string {
	t.Helper()
	r := open(t, b)
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func open(t testing.TB, b bridge.Backend) *Registry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := Options{Namespace: "public/default"}
	if s, ok := b.(bridge.TopicSchemas); ok {
		opts.Schemas = s
	}
	r, err := New(ctx, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func client(t testing.TB, url string) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// unique keeps runs on a shared Pulsar apart.
func unique(name string) string { return fmt.Sprintf("%s-%d", name, time.Now().UnixNano()) }

const (
	orderV1 = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"}]}`
	// orderV2 adds a field with a default: BACKWARD compatible.
	orderV2 = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}`
	// orderBad adds a field without a default: not BACKWARD compatible.
	orderBad = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"qty","type":"int"}]}`
)

func avro(s string) sr.Schema { return sr.Schema{Schema: s, Type: sr.TypeAvro} }

func code(err error) int {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return 0
}

// What serializers and tools do, through one gateway and read back
// through the other: register (idempotent), evolve compatibly, be refused
// an incompatible change, look up, check, configure, delete.
func TestRegistryLifecycle(t *testing.T) {
	for name, start := range targets(t) {
		t.Run(name, func(t *testing.T) {
			a, b := start(t)
			ca, cb := client(t, a), client(t, b)
			ctx := ctx(t)
			subj := unique("orders") + "-value"

			s1, err := ca.CreateSchema(ctx, subj, avro(orderV1))
			if err != nil {
				t.Fatal(err)
			}
			if s1.Version != 1 || s1.ID < 1 {
				t.Fatalf("first registration: %+v", s1)
			}
			// The same schema, spaced differently: the same id and version.
			again, err := cb.CreateSchema(ctx, subj, avro(strings.ReplaceAll(orderV1, ",", ", ")))
			if err != nil || again.ID != s1.ID || again.Version != 1 {
				t.Fatalf("registering again through the other gateway: %+v %v", again, err)
			}
			got, err := cb.SchemaByID(ctx, s1.ID)
			if err != nil || got.Schema != orderV1 {
				t.Fatalf("schema %d through the other gateway: %+v %v", s1.ID, got, err)
			}
			s2, err := cb.CreateSchema(ctx, subj, avro(orderV2))
			if err != nil || s2.Version != 2 || s2.ID <= s1.ID {
				t.Fatalf("compatible evolution: %+v %v", s2, err)
			}
			if _, err := ca.CreateSchema(ctx, subj, avro(orderBad)); code(err) != 409 {
				t.Fatalf("incompatible evolution: %v, want 409", err)
			}
			res, err := ca.CheckCompatibility(ctx, subj, -1, avro(orderBad))
			if err != nil || res.Is {
				t.Fatalf("compatibility check of the incompatible schema: %+v %v", res, err)
			}
			vs, err := ca.SubjectVersions(ctx, subj)
			if err != nil || !slices.Equal(vs, []int{1, 2}) {
				t.Fatalf("versions: %v %v", vs, err)
			}
			latest, err := ca.SchemaByVersion(ctx, subj, -1)
			if err != nil || latest.Version != 2 || latest.ID != s2.ID || latest.Subject != subj {
				t.Fatalf("latest: %+v %v", latest, err)
			}
			found, err := cb.LookupSchema(ctx, subj, avro(orderV1))
			if err != nil || found.ID != s1.ID || found.Version != 1 {
				t.Fatalf("lookup: %+v %v", found, err)
			}
			// The same schema under another subject shares its id.
			other, err := ca.CreateSchema(ctx, unique("other")+"-value", avro(orderV1))
			if err != nil || other.ID != s1.ID || other.Version != 1 {
				t.Fatalf("the same schema under another subject: %+v %v", other, err)
			}
			subjects, err := cb.Subjects(ctx)
			if err != nil || !slices.Contains(subjects, subj) || !slices.Contains(subjects, other.Subject) {
				t.Fatalf("subjects: %v %v", subjects, err)
			}

			// Under NONE the change is accepted.
			if r := ca.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatNone}, subj); r[0].Err != nil {
				t.Fatal(r[0].Err)
			}
			if r := cb.Compatibility(ctx, subj); r[0].Err != nil || r[0].Level != sr.CompatNone {
				t.Fatalf("subject level through the other gateway: %+v", r)
			}
			s3, err := cb.CreateSchema(ctx, subj, avro(orderBad))
			if err != nil || s3.Version != 3 {
				t.Fatalf("under NONE: %+v %v", s3, err)
			}

			// Soft delete, then permanent.
			if err := ca.DeleteSchema(ctx, subj, 3, sr.HardDelete); code(err) != 40407 {
				t.Fatalf("hard delete before soft: %v, want 40407", err)
			}
			if err := ca.DeleteSchema(ctx, subj, 3, sr.SoftDelete); err != nil {
				t.Fatal(err)
			}
			if _, err := cb.SchemaByVersion(ctx, subj, 3); code(err) != 40402 {
				t.Fatalf("a soft-deleted version: %v, want 40402", err)
			}
			if _, err := cb.SchemaByID(ctx, s3.ID); err != nil {
				t.Fatalf("a soft-deleted version's schema by id (old records still need it): %v", err)
			}
			if err := ca.DeleteSchema(ctx, subj, 3, sr.HardDelete); err != nil {
				t.Fatal(err)
			}
			if _, err := cb.SchemaByID(ctx, s3.ID); code(err) != 40403 {
				t.Fatalf("a permanently deleted schema: %v, want 40403", err)
			}
			deleted, err := ca.DeleteSubject(ctx, subj, sr.SoftDelete)
			if err != nil || !slices.Equal(deleted, []int{1, 2}) {
				t.Fatalf("soft-deleting the subject: %v %v", deleted, err)
			}
			if _, err := cb.SubjectVersions(ctx, subj); code(err) != 40401 {
				t.Fatalf("a soft-deleted subject: %v, want 40401", err)
			}
			if _, err := ca.DeleteSubject(ctx, subj, sr.HardDelete); err != nil {
				t.Fatal(err)
			}
			// Registered again, it starts at version 1 with its old id.
			s4, err := cb.CreateSchema(ctx, subj, avro(orderV1))
			if err != nil || s4.Version != 1 || s4.ID != s1.ID {
				t.Fatalf("after a permanent delete: %+v %v", s4, err)
			}
		})
	}
}

// Registrations through two gateways at once get distinct ids, each the
// same from both.
func TestIdsAcrossGateways(t *testing.T) {
	for name, start := range targets(t) {
		t.Run(name, func(t *testing.T) {
			a, b := start(t)
			ctx := ctx(t)
			subj := unique("many")
			const n = 10
			ids := make([][]int, 2)
			var wg sync.WaitGroup
			for g, url := range []string{a, b} {
				wg.Go(func() {
					cl := client(t, url)
					for i := range n {
						s := fmt.Sprintf(`{"type":"record","name":"R%d_%d","fields":[]}`, g, i)
						got, err := cl.CreateSchema(ctx, fmt.Sprintf("%s-%d-%d", subj, g, i), avro(s))
						if err != nil {
							t.Error(err)
							return
						}
						ids[g] = append(ids[g], got.ID)
					}
				})
			}
			wg.Wait()
			all := append(slices.Clone(ids[0]), ids[1]...)
			slices.Sort(all)
			if len(slices.Compact(all)) != 2*n {
				t.Fatalf("ids %v: not %d distinct", ids, 2*n)
			}
			for g := range 2 {
				for i, id := range ids[g] {
					for _, url := range []string{a, b} {
						got, err := client(t, url).SchemaByID(ctx, id)
						if err != nil || !strings.Contains(got.Schema, fmt.Sprintf(`"R%d_%d"`, g, i)) {
							t.Fatalf("id %d from %s: %+v %v", id, url, got, err)
						}
					}
				}
			}
		})
	}
}

// A restarted gateway has every id, and a new schema gets a new one.
func TestRegistryRestart(t *testing.T) {
	dir := t.TempDir()
	b1, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := New(ctx(t), b1, Options{Namespace: "public/default"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r1.Handler())
	s1, err := client(t, srv.URL).CreateSchema(ctx(t), "keep-value", avro(orderV1))
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	r1.Close()
	b1.Close()

	url := serve(t, openEmbedded(t, dir))
	cl := client(t, url)
	if got, err := cl.SchemaByID(ctx(t), s1.ID); err != nil || got.Schema != orderV1 {
		t.Fatalf("after the restart: %+v %v", got, err)
	}
	s2, err := cl.CreateSchema(ctx(t), "keep-value", avro(orderV2))
	if err != nil || s2.ID <= s1.ID || s2.Version != 2 {
		t.Fatalf("a new schema after the restart: %+v %v", s2, err)
	}
}

// The error codes and shapes tools see, with a plain HTTP client.
func TestErrorCodes(t *testing.T) {
	url := serve(t, openEmbedded(t, ""))
	if _, err := client(t, url).CreateSchema(ctx(t), "e-value", avro(orderV1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/subjects/nope/versions", "", 404, `"error_code":40401`},
		{"GET", "/subjects/e-value/versions/9", "", 404, `"error_code":40402`},
		{"GET", "/subjects/e-value/versions/0", "", 422, `"error_code":42202`},
		{"GET", "/subjects/e-value/versions/x", "", 422, `"error_code":42202`},
		{"GET", "/schemas/ids/999999", "", 404, `"error_code":40403`},
		{"POST", "/subjects/e-value/versions", `{"schema":"{\"type\":\"recrod\"}"}`, 422, `"error_code":42201`},
		{"POST", "/subjects/e-value/versions", `{"schema":"{}","schemaType":"XML"}`, 422, `"error_code":42201`},
		{"POST", "/subjects/e-value", `{"schema":"\"string\""}`, 404, `"error_code":40403`},
		{"POST", "/subjects/nope", `{"schema":"\"string\""}`, 404, `"error_code":40401`},
		{"PUT", "/config", `{"compatibility":"SOMETIMES"}`, 422, `"error_code":42203`},
		{"GET", "/config/e-value", "", 404, `"error_code":40408`},
		{"GET", "/config/e-value?defaultToGlobal=true", "", 200, `{"compatibilityLevel":"BACKWARD"}`},
		{"GET", "/config", "", 200, `{"compatibilityLevel":"BACKWARD"}`},
		{"PUT", "/mode", `{"mode":"IMPORT"}`, 422, `"error_code":42204`},
		{"GET", "/mode", "", 200, `{"mode":"READWRITE"}`},
		{"DELETE", "/subjects/e-value?permanent=true", "", 404, `"error_code":40405`},
		{"GET", "/subjects/e-value/versions/1/schema", "", 200, orderV1},
		{"GET", "/schemas/ids/1/versions", "", 200, `[{"subject":"e-value","version":1}]`},
		{"GET", "/no/such/path", "", 404, `"error_code":404`},
		{"PATCH", "/subjects", "", 405, `"error_code":405`},
		{"POST", "/subjects/e-value/versions", `{"schema":"\"string\"","colour":"red"}`, 422, `"error_code":422`},
		{"POST", "/subjects/m-value/versions", `{"schema":"\"string\"","metadata":null,"ruleSet":null}`, 200, `"id":`},
		{"POST", "/subjects/e-value/versions", `{"schema":"\"string\"","id":7}`, 422, `"error_code":42201`},
		{"GET", "/mode/e-value", "", 404, `"error_code":40409`},
		{"GET", "/mode/e-value?defaultToGlobal=true", "", 200, `{"mode":"READWRITE"}`},
	} {
		req, _ := http.NewRequest(c.method, url+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("%s %s: %d %s; want %d with %s", c.method, c.path, resp.StatusCode, body, c.status, c.want)
		}
		if ct := resp.Header.Get("Content-Type"); ct != contentType {
			t.Errorf("%s %s: content type %q", c.method, c.path, ct)
		}
	}
}

// Whatever a log entry holds, applying it never panics, and the state
// stays one every gateway agrees on (applying the same entries twice from
// scratch gives the same ids).
func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"Op":"register","Subject":"s","Schema":{"Type":"AVRO","Text":"\"string\""}}`))
	f.Add([]byte(`{"Op":"register","Subject":"s"}`))
	f.Add([]byte(`{"Op":"delete-version","Subject":"s","Version":-1,"Perm":true}`))
	f.Add([]byte(`{"Op":"set-level","Subject":"s","Level":"FULL"}`))
	f.Fuzz(func(t *testing.T, entry []byte) {
		run := func() int {
			s := newState()
			for range 3 {
				var c command
				if json.Unmarshal(entry, &c) != nil {
					return -1
				}
				s.apply(&c)
			}
			return s.lastID
		}
		if a, b := run(), run(); a != b {
			t.Fatalf("applying %q twice gave ids %d and %d", entry, a, b)
		}
	})
}
