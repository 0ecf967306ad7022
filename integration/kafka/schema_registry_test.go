package kafka_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The schema registry (--schema-registry-addr) against real clients:
// confluent-kafka's SchemaRegistryClient and its Avro, JSON Schema and
// Protobuf serializers producing and consuming through the gateway, and
// curl on every endpoint the registry serves.

// srContentType is the registry's content type, on every answer.
const srContentType = "application/vnd.schemaregistry.v1+json"

// TestConfluentSchemaRegistry runs testdata/confluent_schema_registry.py
// once per schema type on each backend. On Pulsar two gateway processes
// share the one Pulsar: the script registers through the first and reads
// the schemas (same ids) and consumes through the second.
func TestConfluentSchemaRegistry(t *testing.T) {
	// fastavro comes from PyPI (scripts/test.sh installs it and sets
	// PYTHONPATH); the rest from Debian.
	need(t, python, "-c", "import confluent_kafka.schema_registry.avro, confluent_kafka.schema_registry.json_schema, "+
		"confluent_kafka.schema_registry.protobuf, fastavro, jsonschema, google.protobuf.descriptor_pb2")
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			suffix := fmt.Sprintf("-%x", time.Now().UnixNano())
			a := startGatewayServing(t, backend, []string{"kafka", "schema_registry"})
			var second []string
			if backend == "pulsar" {
				b := startGatewayServing(t, backend, []string{"kafka", "schema_registry"})
				second = []string{"--registry2", "http://" + b["schema_registry"], "--bootstrap2", b["kafka"]}
			}
			for _, typ := range []string{"avro", "json", "protobuf"} {
				t.Run(typ, func(t *testing.T) {
					args := append([]string{"testdata/confluent_schema_registry.py", "--types", typ}, second...)
					args = append(args, "--", a["kafka"], "http://"+a["schema_registry"], suffix)
					t.Log(strings.TrimSpace(run(t, nil, python, args...)))
				})
			}
		})
	}
}

// srReply is one answer, as curl saw it.
type srReply struct {
	method, path string
	status       int
	contentType  string
	body         string
}

func (r srReply) String() string {
	return fmt.Sprintf("%s %s: HTTP %d (%s) %s", r.method, r.path, r.status, r.contentType, r.body)
}

// srClient runs curl against one registry.
type srClient struct {
	t    *testing.T
	base string
	dir  string
}

// do sends a request with curl (a JSON body when body is not nil; a
// string is sent as it is) and returns the answer; every answer must
// carry the registry's content type.
func (c srClient) do(method, path string, body any) srReply {
	c.t.Helper()
	args := []string{"-sS", "-X", method, "-o", "-", "-w", "\n%{http_code} %{content_type}",
		"-H", "Accept: " + srContentType}
	if body != nil {
		b, ok := body.(string)
		if !ok {
			j, err := json.Marshal(body)
			if err != nil {
				c.t.Fatal(err)
			}
			b = string(j)
		}
		f := filepath.Join(c.dir, "body.json")
		if err := os.WriteFile(f, []byte(b), 0o600); err != nil {
			c.t.Fatal(err)
		}
		args = append(args, "-H", "Content-Type: "+srContentType, "--data-binary", "@"+f)
	}
	out := run(c.t, nil, "curl", append(args, c.base+path)...)
	i := strings.LastIndexByte(out, '\n')
	if i < 0 {
		c.t.Fatalf("%s %s: curl wrote %q", method, path, out)
	}
	status, ctype, _ := strings.Cut(out[i+1:], " ")
	r := srReply{method: method, path: path, contentType: ctype, body: out[:i]}
	r.status, _ = strconv.Atoi(status)
	if ctype != srContentType {
		c.t.Errorf("%v: content type %q, want %q", r, ctype, srContentType)
	}
	return r
}

// ok sends a request that must answer 200 and decodes the answer into v.
func (c srClient) ok(v any, method, path string, body any) {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.status != 200 {
		c.t.Fatalf("%v: want HTTP 200", r)
	}
	if v == nil {
		return
	}
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		c.t.Fatalf("%v: decoding into %T: %v", r, v, err)
	}
}

// okEqual sends a request that must answer 200 with JSON equal to want
// (compared after a round trip through any).
func (c srClient) okEqual(want any, method, path string, body any) {
	c.t.Helper()
	r := c.do(method, path, body)
	var got, w any
	if err := json.Unmarshal([]byte(r.body), &got); r.status != 200 || err != nil {
		c.t.Fatalf("%v: want HTTP 200 and JSON (%v)", r, err)
	}
	b, _ := json.Marshal(want)
	json.Unmarshal(b, &w)
	if !reflect.DeepEqual(got, w) {
		c.t.Fatalf("%v: want %s", r, b)
	}
}

// fails sends a request that must fail with the HTTP status and the
// registry's error_code, in the registry's error shape.
func (c srClient) fails(status, code int, method, path string, body any) string {
	c.t.Helper()
	r := c.do(method, path, body)
	var e struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || r.status != status || e.ErrorCode != code || e.Message == "" {
		c.t.Fatalf("%v: want HTTP %d, error_code %d and a message (%v)", r, status, code, err)
	}
	return e.Message
}

// srVersion is GET /subjects/{s}/versions/{v} and POST /subjects/{s}.
type srVersion struct {
	Subject    string        `json:"subject"`
	Version    int           `json:"version"`
	ID         int           `json:"id"`
	SchemaType string        `json:"schemaType"`
	References []srReference `json:"references"`
	Schema     string        `json:"schema"`
}

type srReference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

type srSchemaBody struct {
	Schema     string        `json:"schema"`
	SchemaType string        `json:"schemaType,omitempty"`
	References []srReference `json:"references,omitempty"`
}

// avroRecord is an AVRO record in the namespace ns.
func avroRecord(ns, name string, fields ...string) string {
	return fmt.Sprintf(`{"type":"record","name":%q,"namespace":%q,"fields":[%s]}`, name, ns, strings.Join(fields, ","))
}

// sameJSON: two JSON texts with the same value.
func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// TestSchemaRegistryCurl drives every endpoint the registry serves with
// curl, checking statuses, error codes and the JSON shapes of the
// Confluent Schema Registry API. Subjects carry a suffix (a Pulsar
// outlives the test, and other runs may share it); the global level is
// changed only on the embedded backend, and put back.
func TestSchemaRegistryCurl(t *testing.T) {
	need(t, "curl", "--version")
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			addrs := startGatewayServing(t, backend, []string{"kafka", "schema_registry"})
			c := srClient{t: t, base: "http://" + addrs["schema_registry"], dir: t.TempDir()}
			srCurlScenario(t, c, backend, fmt.Sprintf("%x", time.Now().UnixNano()))
		})
	}
}

func srCurlScenario(t *testing.T, c srClient, backend, suffix string) {
	prefix := "curl-" + suffix + "-"
	orders, money, invoice := prefix+"orders-value", prefix+"money", prefix+"invoice-value"
	jsonSubject, protoSubject := prefix+"json-value", prefix+"proto-value"
	missing := prefix + "missing"
	esc := url.PathEscape
	// Every schema names the run: ids belong to schemas, not subjects, and
	// on Pulsar earlier runs' subjects may still hold the same texts.
	ns := "gw.curl.r" + suffix
	record := func(name string, fields ...string) string { return avroRecord(ns, name, fields...) }

	// The root and the types served.
	c.okEqual(map[string]any{}, "GET", "/", nil)
	var types []string
	c.ok(&types, "GET", "/schemas/types", nil)
	for _, typ := range []string{"AVRO", "JSON", "PROTOBUF"} {
		if !slices.Contains(types, typ) {
			t.Errorf("GET /schemas/types: %v, missing %s", types, typ)
		}
	}
	c.fails(404, 404, "GET", "/no/such/endpoint", nil)
	c.fails(405, 405, "PATCH", "/subjects", nil)

	// --- register: POST /subjects/{s}/versions ---
	v1 := record("Order", `{"name":"id","type":"int"}`, `{"name":"item","type":"string"}`)
	v2 := record("Order", `{"name":"id","type":"int"}`, `{"name":"item","type":"string"}`,
		`{"name":"note","type":"string","default":""}`)
	var reg struct {
		ID int `json:"id"`
	}
	c.ok(&reg, "POST", "/subjects/"+orders+"/versions", srSchemaBody{Schema: v1})
	id1 := reg.ID
	if id1 <= 0 {
		t.Fatalf("register v1: id %d", id1)
	}
	// The same schema again, even spaced otherwise: the same id, no new version.
	c.okEqual(map[string]int{"id": id1}, "POST", "/subjects/"+orders+"/versions", srSchemaBody{Schema: v1})
	c.okEqual(map[string]int{"id": id1}, "POST", "/subjects/"+orders+"/versions",
		srSchemaBody{Schema: strings.ReplaceAll(v1, ",", " ,\n ")})
	c.ok(&reg, "POST", "/subjects/"+orders+"/versions", srSchemaBody{Schema: v2, SchemaType: "AVRO"})
	id2 := reg.ID
	if id2 == id1 {
		t.Fatalf("register v2: id %d, the same as v1's", id2)
	}
	// Invalid schemas, an unknown type, a body that is not JSON.
	c.fails(422, 42201, "POST", "/subjects/"+orders+"/versions", srSchemaBody{Schema: `{"type":"record","fields":[]}`})
	c.fails(422, 42201, "POST", "/subjects/"+orders+"/versions", srSchemaBody{Schema: `not json`})
	c.fails(422, 42201, "POST", "/subjects/"+orders+"/versions", srSchemaBody{Schema: `{}`, SchemaType: "XML"})
	c.fails(400, 400, "POST", "/subjects/"+orders+"/versions", `{"schema":`)
	// A field without a default: BACKWARD refuses it (409).
	bad := record("Order", `{"name":"id","type":"int"}`, `{"name":"item","type":"string"}`,
		`{"name":"note","type":"string","default":""}`, `{"name":"qty","type":"int"}`)
	c.fails(409, 409, "POST", "/subjects/"+orders+"/versions", srSchemaBody{Schema: bad})

	// --- by id: GET /schemas/ids/{id}, /schema, /versions ---
	var byID map[string]any
	c.ok(&byID, "GET", fmt.Sprintf("/schemas/ids/%d", id1), nil)
	if len(byID) != 1 || !sameJSON(byID["schema"].(string), v1) {
		t.Fatalf("GET /schemas/ids/%d: %v, want only schema (AVRO leaves schemaType out)", id1, byID)
	}
	if r := c.do("GET", fmt.Sprintf("/schemas/ids/%d/schema", id2), nil); r.status != 200 || !sameJSON(r.body, v2) {
		t.Fatalf("%v: want the schema itself", r)
	}
	type subjectVersion struct {
		Subject string `json:"subject"`
		Version int    `json:"version"`
	}
	c.okEqual([]subjectVersion{{orders, 2}}, "GET", fmt.Sprintf("/schemas/ids/%d/versions", id2), nil)
	c.fails(404, 40403, "GET", "/schemas/ids/999999999", nil)
	c.fails(404, 40403, "GET", "/schemas/ids/999999999/schema", nil)
	c.fails(404, 40403, "GET", "/schemas/ids/999999999/versions", nil)

	// --- subjects and versions ---
	c.okEqual([]int{1, 2}, "GET", "/subjects/"+orders+"/versions", nil)
	c.fails(404, 40401, "GET", "/subjects/"+missing+"/versions", nil)
	var got srVersion
	c.ok(&got, "GET", "/subjects/"+orders+"/versions/1", nil)
	if got.Subject != orders || got.Version != 1 || got.ID != id1 || got.SchemaType != "" || got.References != nil || !sameJSON(got.Schema, v1) {
		t.Fatalf("GET /subjects/%s/versions/1: %+v", orders, got)
	}
	for _, latest := range []string{"latest", "-1"} {
		got = srVersion{}
		c.ok(&got, "GET", "/subjects/"+orders+"/versions/"+latest, nil)
		if got.Subject != orders || got.Version != 2 || got.ID != id2 || !sameJSON(got.Schema, v2) {
			t.Fatalf("GET /subjects/%s/versions/%s: %+v", orders, latest, got)
		}
	}
	if r := c.do("GET", "/subjects/"+orders+"/versions/1/schema", nil); r.status != 200 || !sameJSON(r.body, v1) {
		t.Fatalf("%v: want the schema itself", r)
	}
	c.fails(404, 40402, "GET", "/subjects/"+orders+"/versions/3", nil)
	c.fails(404, 40401, "GET", "/subjects/"+missing+"/versions/1", nil)
	c.fails(404, 40401, "GET", "/subjects/"+missing+"/versions/latest/schema", nil)
	for _, v := range []string{"0", "-2", "abc", "99999999999"} {
		c.fails(422, 42202, "GET", "/subjects/"+orders+"/versions/"+v, nil)
	}

	// --- references: an AVRO record names a type another subject holds ---
	moneyV1 := record("Money", `{"name":"currency","type":"string"}`, `{"name":"units","type":"long"}`)
	c.ok(&reg, "POST", "/subjects/"+money+"/versions", srSchemaBody{Schema: moneyV1})
	moneyID := reg.ID
	invoiceV1 := record("Invoice", `{"name":"total","type":"`+ns+`.Money"}`)
	refs := []srReference{{Name: ns + ".Money", Subject: money, Version: 1}}
	c.ok(&reg, "POST", "/subjects/"+invoice+"/versions", srSchemaBody{Schema: invoiceV1, References: refs})
	invoiceID := reg.ID
	// Without its reference, or with one to nothing, the schema is invalid.
	c.fails(422, 42201, "POST", "/subjects/"+invoice+"-x/versions", srSchemaBody{Schema: invoiceV1})
	c.fails(422, 42201, "POST", "/subjects/"+invoice+"-x/versions", srSchemaBody{Schema: invoiceV1,
		References: []srReference{{Name: ns + ".Money", Subject: missing, Version: 1}}})
	got = srVersion{}
	c.ok(&got, "GET", "/subjects/"+invoice+"/versions/latest", nil)
	if got.ID != invoiceID || got.Version != 1 || !reflect.DeepEqual(got.References, refs) {
		t.Fatalf("GET /subjects/%s/versions/latest: %+v, want references %+v", invoice, got, refs)
	}
	var withRefs srVersion
	c.ok(&withRefs, "GET", fmt.Sprintf("/schemas/ids/%d", invoiceID), nil)
	if !reflect.DeepEqual(withRefs.References, refs) || !sameJSON(withRefs.Schema, invoiceV1) {
		t.Fatalf("GET /schemas/ids/%d: %+v", invoiceID, withRefs)
	}
	c.okEqual([]int{invoiceID}, "GET", "/subjects/"+money+"/versions/1/referencedby", nil)
	c.okEqual([]int{invoiceID}, "GET", "/subjects/"+money+"/versions/latest/referencedby", nil)
	c.okEqual([]int{}, "GET", "/subjects/"+invoice+"/versions/1/referencedby", nil)
	c.fails(404, 40402, "GET", "/subjects/"+money+"/versions/2/referencedby", nil)
	c.fails(404, 40401, "GET", "/subjects/"+missing+"/versions/1/referencedby", nil)
	// A referenced version cannot be deleted (42206), nor its subject.
	c.fails(422, 42206, "DELETE", "/subjects/"+money+"/versions/1", nil)
	c.fails(422, 42206, "DELETE", "/subjects/"+money, nil)

	// --- JSON and PROTOBUF through the same endpoints ---
	jsonV1 := `{"title":"` + ns + `","type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":false}`
	c.ok(&reg, "POST", "/subjects/"+jsonSubject+"/versions", srSchemaBody{Schema: jsonV1, SchemaType: "JSON"})
	jsonID := reg.ID
	got = srVersion{}
	c.ok(&got, "GET", "/subjects/"+jsonSubject+"/versions/1", nil)
	if got.SchemaType != "JSON" || got.ID != jsonID || !sameJSON(got.Schema, jsonV1) {
		t.Fatalf("GET /subjects/%s/versions/1: %+v", jsonSubject, got)
	}
	c.fails(422, 42201, "POST", "/subjects/"+jsonSubject+"/versions", srSchemaBody{Schema: `{"type":12}`, SchemaType: "JSON"})
	// The same text under another type is another schema: another id.
	c.ok(&reg, "POST", "/subjects/"+jsonSubject+"-any/versions", srSchemaBody{Schema: `{"title":"` + ns + `","type":"string"}`, SchemaType: "JSON"})
	if reg.ID == jsonID {
		t.Fatalf("another JSON schema got the id %d", reg.ID)
	}
	protoV1 := "syntax = \"proto3\";\npackage " + ns + ";\n\nmessage Order {\n  int32 id = 1;\n  string item = 2;\n}\n"
	c.ok(&reg, "POST", "/subjects/"+protoSubject+"/versions", srSchemaBody{Schema: protoV1, SchemaType: "PROTOBUF"})
	protoID := reg.ID
	c.ok(&byID, "GET", fmt.Sprintf("/schemas/ids/%d", protoID), nil)
	if byID["schemaType"] != "PROTOBUF" || !strings.Contains(byID["schema"].(string), "message Order") {
		t.Fatalf("GET /schemas/ids/%d: %v", protoID, byID)
	}
	c.fails(422, 42201, "POST", "/subjects/"+protoSubject+"/versions", srSchemaBody{Schema: "message {", SchemaType: "PROTOBUF"})
	// string -> int32: FIELD_SCALAR_KIND_CHANGED, refused under BACKWARD.
	c.fails(409, 409, "POST", "/subjects/"+protoSubject+"/versions",
		srSchemaBody{Schema: strings.Replace(protoV1, "string item", "int32 item", 1), SchemaType: "PROTOBUF"})

	// --- lookup: POST /subjects/{s} ---
	got = srVersion{}
	c.ok(&got, "POST", "/subjects/"+orders, srSchemaBody{Schema: v1})
	if got.Subject != orders || got.Version != 1 || got.ID != id1 || !sameJSON(got.Schema, v1) {
		t.Fatalf("POST /subjects/%s: %+v", orders, got)
	}
	got = srVersion{}
	c.ok(&got, "POST", "/subjects/"+invoice, srSchemaBody{Schema: invoiceV1, References: refs})
	if got.ID != invoiceID || !reflect.DeepEqual(got.References, refs) {
		t.Fatalf("POST /subjects/%s: %+v", invoice, got)
	}
	c.fails(404, 40403, "POST", "/subjects/"+orders, srSchemaBody{Schema: bad})
	c.fails(404, 40401, "POST", "/subjects/"+missing, srSchemaBody{Schema: v1})
	c.fails(422, 42201, "POST", "/subjects/"+orders, srSchemaBody{Schema: `{"type":"nope"}`})

	// --- compatibility: POST /compatibility/subjects/{s}/versions[/{v}] ---
	v3 := record("Order", `{"name":"id","type":"int"}`, `{"name":"item","type":"string"}`,
		`{"name":"note","type":"string","default":""}`, `{"name":"qty","type":"int","default":1}`)
	for _, v := range []string{"latest", "2", "1"} {
		c.okEqual(map[string]bool{"is_compatible": true}, "POST", "/compatibility/subjects/"+orders+"/versions/"+v, srSchemaBody{Schema: v3})
	}
	c.okEqual(map[string]bool{"is_compatible": true}, "POST", "/compatibility/subjects/"+orders+"/versions", srSchemaBody{Schema: v3})
	c.okEqual(map[string]bool{"is_compatible": false}, "POST", "/compatibility/subjects/"+orders+"/versions/latest", srSchemaBody{Schema: bad})
	c.okEqual(map[string]bool{"is_compatible": false}, "POST", "/compatibility/subjects/"+orders+"/versions", srSchemaBody{Schema: bad})
	var verbose struct {
		IsCompatible bool     `json:"is_compatible"`
		Messages     []string `json:"messages"`
	}
	c.ok(&verbose, "POST", "/compatibility/subjects/"+orders+"/versions/latest?verbose=true", srSchemaBody{Schema: bad})
	if verbose.IsCompatible || len(verbose.Messages) == 0 {
		t.Fatalf("verbose compatibility of an incompatible schema: %+v", verbose)
	}
	c.fails(404, 40402, "POST", "/compatibility/subjects/"+orders+"/versions/7", srSchemaBody{Schema: v3})
	c.fails(404, 40401, "POST", "/compatibility/subjects/"+missing+"/versions/1", srSchemaBody{Schema: v3})
	c.fails(422, 42202, "POST", "/compatibility/subjects/"+orders+"/versions/zero", srSchemaBody{Schema: v3})
	c.fails(422, 42201, "POST", "/compatibility/subjects/"+orders+"/versions/latest", srSchemaBody{Schema: `{"type":"record"}`})

	// --- config: GET/PUT/DELETE /config and /config/{s} ---
	var global struct {
		CompatibilityLevel string `json:"compatibilityLevel"`
	}
	c.ok(&global, "GET", "/config", nil)
	level := global.CompatibilityLevel
	if !slices.Contains([]string{"NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}, level) {
		t.Fatalf("GET /config: %+v", global)
	}
	c.fails(422, 42203, "PUT", "/config", map[string]string{"compatibility": "SIDEWAYS"})
	c.fails(422, 42203, "PUT", "/config/"+orders, map[string]string{"compatibility": "SIDEWAYS"})
	c.fails(404, 40408, "GET", "/config/"+orders, nil)
	c.okEqual(map[string]string{"compatibilityLevel": level}, "GET", "/config/"+orders+"?defaultToGlobal=true", nil)
	if backend == "embedded" {
		// The global level, changed and put back (a shared Pulsar's other
		// users keep theirs). Under FULL, a removed field without a
		// default is refused; under BACKWARD it is not.
		dropItem := record("Order", `{"name":"id","type":"int"}`, `{"name":"note","type":"string","default":""}`)
		c.okEqual(map[string]string{"compatibility": "FULL"}, "PUT", "/config", map[string]string{"compatibility": "FULL"})
		c.okEqual(map[string]string{"compatibilityLevel": "FULL"}, "GET", "/config", nil)
		c.okEqual(map[string]bool{"is_compatible": false}, "POST", "/compatibility/subjects/"+orders+"/versions/latest", srSchemaBody{Schema: dropItem})
		c.okEqual(map[string]string{"compatibility": "BACKWARD"}, "PUT", "/config", map[string]string{"compatibility": "backward"})
		c.okEqual(map[string]bool{"is_compatible": true}, "POST", "/compatibility/subjects/"+orders+"/versions/latest", srSchemaBody{Schema: dropItem})
		c.okEqual(map[string]string{"compatibility": level}, "PUT", "/config", map[string]string{"compatibility": level})
	}
	c.okEqual(map[string]string{"compatibility": "NONE"}, "PUT", "/config/"+orders, map[string]string{"compatibility": "NONE"})
	c.okEqual(map[string]string{"compatibilityLevel": "NONE"}, "GET", "/config/"+orders, nil)
	c.okEqual(map[string]bool{"is_compatible": true}, "POST", "/compatibility/subjects/"+orders+"/versions/latest", srSchemaBody{Schema: bad})
	// Under NONE the incompatible schema registers: version 3.
	c.ok(&reg, "POST", "/subjects/"+orders+"/versions", srSchemaBody{Schema: bad})
	id3 := reg.ID
	c.okEqual([]int{1, 2, 3}, "GET", "/subjects/"+orders+"/versions", nil)
	c.okEqual(map[string]string{"compatibilityLevel": "NONE"}, "DELETE", "/config/"+orders, nil)
	c.fails(404, 40408, "GET", "/config/"+orders, nil)
	c.fails(404, 40408, "DELETE", "/config/"+orders, nil)
	c.okEqual(map[string]string{"compatibilityLevel": level}, "GET", "/config", nil)

	// --- mode ---
	c.okEqual(map[string]string{"mode": "READWRITE"}, "GET", "/mode", nil)
	c.fails(404, 40409, "GET", "/mode/"+orders, nil)
	c.okEqual(map[string]string{"mode": "READWRITE"}, "GET", "/mode/"+orders+"?defaultToGlobal=true", nil)
	c.okEqual(map[string]string{"mode": "READWRITE"}, "PUT", "/mode", map[string]string{"mode": "READWRITE"})
	c.fails(422, 42204, "PUT", "/mode", map[string]string{"mode": "READONLY"})

	// --- deleting versions: soft, then permanent ---
	c.okEqual(3, "DELETE", "/subjects/"+orders+"/versions/3", nil)
	c.okEqual([]int{1, 2}, "GET", "/subjects/"+orders+"/versions", nil)
	c.okEqual([]int{1, 2, 3}, "GET", "/subjects/"+orders+"/versions?deleted=true", nil)
	c.fails(404, 40402, "GET", "/subjects/"+orders+"/versions/3", nil)
	got = srVersion{}
	c.ok(&got, "GET", "/subjects/"+orders+"/versions/3?deleted=true", nil)
	if got.ID != id3 || got.Version != 3 {
		t.Fatalf("GET a soft-deleted version with deleted=true: %+v", got)
	}
	// The id stays readable while a (soft-deleted) version holds it.
	c.ok(&byID, "GET", fmt.Sprintf("/schemas/ids/%d", id3), nil)
	c.okEqual([]subjectVersion{}, "GET", fmt.Sprintf("/schemas/ids/%d/versions", id3), nil)
	c.okEqual([]subjectVersion{{orders, 3}}, "GET", fmt.Sprintf("/schemas/ids/%d/versions?deleted=true", id3), nil)
	c.fails(404, 40403, "POST", "/subjects/"+orders, srSchemaBody{Schema: bad})
	got = srVersion{}
	c.ok(&got, "POST", "/subjects/"+orders+"?deleted=true", srSchemaBody{Schema: bad})
	if got.Version != 3 || got.ID != id3 {
		t.Fatalf("lookup of a soft-deleted version with deleted=true: %+v", got)
	}
	c.fails(404, 40406, "DELETE", "/subjects/"+orders+"/versions/3", nil)
	c.fails(404, 40407, "DELETE", "/subjects/"+orders+"/versions/2?permanent=true", nil)
	c.okEqual(3, "DELETE", "/subjects/"+orders+"/versions/3?permanent=true", nil)
	c.okEqual([]int{1, 2}, "GET", "/subjects/"+orders+"/versions?deleted=true", nil)
	c.fails(404, 40403, "GET", fmt.Sprintf("/schemas/ids/%d", id3), nil)
	c.fails(404, 40402, "DELETE", "/subjects/"+orders+"/versions/3?permanent=true", nil)
	c.fails(404, 40402, "DELETE", "/subjects/"+orders+"/versions/9", nil)
	c.fails(404, 40401, "DELETE", "/subjects/"+missing+"/versions/1", nil)
	c.fails(422, 42202, "DELETE", "/subjects/"+orders+"/versions/x", nil)
	c.okEqual(2, "DELETE", "/subjects/"+orders+"/versions/latest", nil)
	c.okEqual([]int{1}, "GET", "/subjects/"+orders+"/versions", nil)
	// A new version follows the last one kept, soft-deleted ones included
	// (2), not the permanently deleted 3: as the Confluent registry numbers.
	c.ok(&reg, "POST", "/subjects/"+orders+"/versions", srSchemaBody{Schema: v3})
	c.okEqual([]int{1, 3}, "GET", "/subjects/"+orders+"/versions", nil)

	// --- listing subjects ---
	mine := func(deleted bool) []string {
		var all []string
		q := "?subjectPrefix=" + url.QueryEscape(prefix)
		if deleted {
			q += "&deleted=true"
		}
		c.ok(&all, "GET", "/subjects"+q, nil)
		return all
	}
	var all []string
	c.ok(&all, "GET", "/subjects", nil)
	if !slices.Contains(all, orders) || !slices.Contains(all, money) {
		t.Fatalf("GET /subjects: %v, missing %s or %s", all, orders, money)
	}
	want := []string{prefix + "invoice-value", jsonSubject, jsonSubject + "-any", money, orders, protoSubject}
	slices.Sort(want)
	if got := mine(false); !reflect.DeepEqual(got, want) {
		t.Fatalf("GET /subjects?subjectPrefix=%s: %v, want %v", prefix, got, want)
	}

	// --- deleting subjects: soft, then permanent ---
	c.fails(404, 40405, "DELETE", "/subjects/"+orders+"?permanent=true", nil)
	c.okEqual([]int{1, 3}, "DELETE", "/subjects/"+orders, nil) // the live versions
	c.fails(404, 40404, "DELETE", "/subjects/"+orders, nil)
	c.fails(404, 40401, "GET", "/subjects/"+orders+"/versions", nil)
	c.fails(404, 40401, "GET", "/subjects/"+orders+"/versions/latest", nil)
	c.okEqual([]int{1, 2, 3}, "GET", "/subjects/"+orders+"/versions?deleted=true", nil)
	if got := mine(false); slices.Contains(got, orders) {
		t.Fatalf("a soft-deleted subject is listed: %v", got)
	}
	if got := mine(true); !slices.Contains(got, orders) {
		t.Fatalf("a soft-deleted subject is not listed with deleted=true: %v", got)
	}
	c.okEqual([]int{1, 2, 3}, "DELETE", "/subjects/"+orders+"?permanent=true", nil) // all of them
	if got := mine(true); slices.Contains(got, orders) {
		t.Fatalf("a permanently deleted subject is listed with deleted=true: %v", got)
	}
	c.fails(404, 40403, "GET", fmt.Sprintf("/schemas/ids/%d", id1), nil)
	c.fails(404, 40401, "DELETE", "/subjects/"+orders, nil)
	c.fails(404, 40401, "DELETE", "/subjects/"+missing+"?permanent=true", nil)

	// The referencing subject goes first; then the referenced one may.
	c.okEqual([]int{1}, "DELETE", "/subjects/"+invoice, nil)
	c.okEqual([]int{1}, "DELETE", "/subjects/"+invoice+"?permanent=true", nil)
	c.okEqual([]int{}, "GET", "/subjects/"+money+"/versions/1/referencedby", nil)
	c.okEqual([]int{1}, "DELETE", "/subjects/"+money, nil)
	c.okEqual([]int{1}, "DELETE", "/subjects/"+money+"?permanent=true", nil)
	c.fails(404, 40403, "GET", fmt.Sprintf("/schemas/ids/%d", moneyID), nil)

	// A subject name with a slash, escaped in the path (confluent's
	// Protobuf serializer names referenced files so).
	slashed := prefix + "dir/file.proto"
	c.ok(&reg, "POST", "/subjects/"+esc(slashed)+"/versions", srSchemaBody{Schema: protoV1, SchemaType: "PROTOBUF"})
	if reg.ID != protoID {
		t.Fatalf("the same PROTOBUF schema under %s: id %d, want %d", slashed, reg.ID, protoID)
	}
	c.okEqual([]subjectVersion{{slashed, 1}, {protoSubject, 1}}, "GET", fmt.Sprintf("/schemas/ids/%d/versions", protoID), nil)
	c.okEqual([]int{1}, "GET", "/subjects/"+esc(slashed)+"/versions", nil)

	// Nothing of the run is left (a Pulsar keeps the registry's state).
	for _, s := range []string{slashed, protoSubject, jsonSubject, jsonSubject + "-any"} {
		c.okEqual([]int{1}, "DELETE", "/subjects/"+esc(s), nil)
		c.okEqual([]int{1}, "DELETE", "/subjects/"+esc(s)+"?permanent=true", nil)
	}
	c.fails(404, 40403, "GET", fmt.Sprintf("/schemas/ids/%d", protoID), nil)
	if got := mine(true); len(got) != 0 {
		t.Fatalf("subjects left after deleting them all: %v", got)
	}
}
