package compat

import (
	"strings"
	"testing"
)

func avroFmt(t testing.TB) Format {
	t.Helper()
	f, ok := Lookup("AVRO")
	if !ok {
		t.Fatal("AVRO not registered")
	}
	if g, _ := Lookup(""); g != f {
		t.Fatal(`"" is not AVRO`)
	}
	return f
}

func TestAvroParse(t *testing.T) {
	f := avroFmt(t)
	cases := []struct {
		name    string
		s       Schema
		want    string // canonical; "" when an error is expected
		wantErr string
	}{
		{name: "primitive", s: Schema{Text: `"int"`}, want: `"int"`},
		{name: "primitive object", s: Schema{Text: ` { "type" : "long" } `}, want: `{"type":"long"}`},
		{
			name: "record keeps doc and default",
			s: Schema{Text: `{
				"type": "record", "name": "User", "namespace": "com.acme", "doc": "a user",
				"fields": [ {"name": "id", "type": "long"}, {"name": "n", "type": "string", "default": "x"} ]
			}`},
			want: `{"type":"record","name":"User","namespace":"com.acme","doc":"a user","fields":[{"name":"id","type":"long"},{"name":"n","type":"string","default":"x"}]}`,
		},
		{name: "union", s: Schema{Text: `["null", "string"]`}, want: `["null","string"]`},
		{name: "bare word is not JSON", s: Schema{Text: `int`}, wantErr: "invalid JSON"},
		{name: "unknown type", s: Schema{Text: `{"type":"nope"}`}, wantErr: "nope"},
		{name: "record without fields", s: Schema{Text: `{"type":"record","name":"A"}`}, wantErr: "fields"},
		{name: "bad default", s: Schema{Text: `{"type":"record","name":"A","fields":[{"name":"a","type":"int","default":"x"}]}`}, wantErr: "default"},
		{name: "enum bad symbol", s: Schema{Text: `{"type":"enum","name":"E","symbols":["1a"]}`}, wantErr: "symbol"},
		{name: "duplicate union branch", s: Schema{Text: `["int","int"]`}, wantErr: "unique"},
		{name: "unresolved name", s: Schema{Text: `{"type":"record","name":"A","fields":[{"name":"b","type":"com.acme.B"}]}`}, wantErr: "com.acme.B"},
		{
			name: "reference resolved by full name",
			s: Schema{
				Text: `{"type":"record","name":"A","fields":[{"name":"b","type":"com.acme.B"},{"name":"c","type":"com.acme.C"}]}`,
				Refs: []Ref{
					{Name: "com.acme.C", Text: `{"type":"enum","name":"C","namespace":"com.acme","symbols":["X"]}`},
					{Name: "com.acme.B", Text: `{"type":"record","name":"B","namespace":"com.acme","fields":[{"name":"c","type":"com.acme.C"}]}`},
				},
			},
			want: `{"type":"record","name":"A","fields":[{"name":"b","type":"com.acme.B"},{"name":"c","type":"com.acme.C"}]}`,
		},
		{
			name: "reference out of order",
			s: Schema{
				Text: `"com.acme.B"`,
				Refs: []Ref{
					{Name: "com.acme.B", Text: `{"type":"record","name":"B","namespace":"com.acme","fields":[{"name":"c","type":"com.acme.C"}]}`},
					{Name: "com.acme.C", Text: `{"type":"enum","name":"C","namespace":"com.acme","symbols":["X"]}`},
				},
			},
			wantErr: "com.acme.C",
		},
		{name: "invalid reference", s: Schema{Text: `"int"`, Refs: []Ref{{Name: "x.Y", Text: `{`}}}, wantErr: "x.Y"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := f.Parse(c.s)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("canonical\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestAvroCanonicalWhitespace(t *testing.T) {
	f := avroFmt(t)
	a, err := f.Parse(Schema{Text: `{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Parse(Schema{Text: "{\n  \"type\": \"record\",\n  \"name\": \"A\",\n  \"fields\": [ { \"name\": \"x\", \"type\": \"int\" } ]\n}\n"})
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("whitespace changed the canonical text:\n%s\n%s", a, b)
	}
	c, err := f.Parse(Schema{Text: `{"type":"record","name":"A","fields":[{"name":"x","type":"int","default":1}]}`})
	if err != nil {
		t.Fatal(err)
	}
	if a == c {
		t.Fatal("a default must change the canonical text")
	}
}

func avroRec(fields string) string {
	return `{"type":"record","name":"R","namespace":"ns","fields":[` + fields + `]}`
}

// Cases follow the Avro specification's "Schema Resolution" section and
// Confluent's "Schema Evolution and Compatibility" documentation (Avro:
// backward compatibility = the new schema, as reader, reads data written
// with the old one).
func TestAvroCanRead(t *testing.T) {
	f := avroFmt(t)
	enumABC := `{"type":"enum","name":"E","symbols":["A","B","C"]}`
	enumAB := `{"type":"enum","name":"E","symbols":["A","B"]}`
	enumABdef := `{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}`
	cases := []struct {
		name           string
		reader, writer string
		ok             bool
	}{
		{"same record", avroRec(`{"name":"a","type":"int"}`), avroRec(`{"name":"a","type":"int"}`), true},
		// Spec: reader field absent from writer uses its default, else error.
		// Confluent docs: adding a field without default is not backward compatible.
		{"reader field added without default", avroRec(`{"name":"a","type":"int"},{"name":"b","type":"string"}`), avroRec(`{"name":"a","type":"int"}`), false},
		{"reader field added with default", avroRec(`{"name":"a","type":"int"},{"name":"b","type":"string","default":""}`), avroRec(`{"name":"a","type":"int"}`), true},
		// Spec: writer field absent from reader is ignored. Confluent docs: deleting a field is backward compatible.
		{"field removed", avroRec(`{"name":"a","type":"int"}`), avroRec(`{"name":"a","type":"int"},{"name":"b","type":"string"}`), true},
		// Spec: int is promotable to long, float, double; long to float, double; float to double; string <-> bytes.
		{"int to long", avroRec(`{"name":"a","type":"long"}`), avroRec(`{"name":"a","type":"int"}`), true},
		{"long to int", avroRec(`{"name":"a","type":"int"}`), avroRec(`{"name":"a","type":"long"}`), false},
		{"int to double", `"double"`, `"int"`, true},
		{"long to float", `"float"`, `"long"`, true},
		{"float to double", `"double"`, `"float"`, true},
		{"double to float", `"float"`, `"double"`, false},
		{"string to bytes", `"bytes"`, `"string"`, true},
		{"bytes to string", `"string"`, `"bytes"`, true},
		{"int to string", `"string"`, `"int"`, false},
		// Spec: a writer symbol missing from the reader is an error unless the reader's enum has a default.
		{"enum symbol added by reader", enumABC, enumAB, true},
		{"enum symbol removed by reader", enumAB, enumABC, false},
		{"enum symbol removed, reader default", enumABdef, enumABC, true},
		{"enum renamed", `{"type":"enum","name":"F","symbols":["A","B"]}`, enumAB, false},
		{"enum alias", `{"type":"enum","name":"F","aliases":["E"],"symbols":["A","B"]}`, enumAB, true},
		// Spec: unions. Reader union: the first branch matching the writer is used; writer union: every branch must resolve.
		{"union branch added", `["null","int","string"]`, `["null","int"]`, true},
		{"union branch removed", `["null","int"]`, `["null","int","string"]`, false},
		{"non-union to union", `["null","int"]`, `"int"`, true},
		{"union to non-union", `"int"`, `["null","int"]`, false},
		{"union of one to its type", `"int"`, `["int"]`, true},
		{"union branch promoted", `["null","long"]`, `["null","int"]`, true},
		{"union branch narrowed", `["null","int"]`, `["null","long"]`, false},
		{"field made optional", avroRec(`{"name":"a","type":["null","int"],"default":null}`), avroRec(`{"name":"a","type":"int"}`), true},
		{"field made required", avroRec(`{"name":"a","type":"int"}`), avroRec(`{"name":"a","type":["null","int"],"default":null}`), false},
		// Spec: arrays and maps resolve their items and values.
		{"array items promoted", `{"type":"array","items":"long"}`, `{"type":"array","items":"int"}`, true},
		{"array items narrowed", `{"type":"array","items":"int"}`, `{"type":"array","items":"long"}`, false},
		{"map values promoted", `{"type":"map","values":"double"}`, `{"type":"map","values":"float"}`, true},
		{"map values changed", `{"type":"map","values":"int"}`, `{"type":"map","values":"string"}`, false},
		// Spec: fixed needs the same name and size.
		{"fixed same", `{"type":"fixed","name":"F","size":4}`, `{"type":"fixed","name":"F","size":4}`, true},
		{"fixed size changed", `{"type":"fixed","name":"F","size":8}`, `{"type":"fixed","name":"F","size":4}`, false},
		// Spec: records need the same unqualified name (or a reader alias); reader field aliases match writer names.
		{"record renamed", `{"type":"record","name":"S","fields":[]}`, `{"type":"record","name":"R","fields":[]}`, false},
		{"record alias", `{"type":"record","name":"S","aliases":["ns.R"],"fields":[]}`, avroRec(``), true},
		{"field renamed with alias", avroRec(`{"name":"b","aliases":["a"],"type":"int"}`), avroRec(`{"name":"a","type":"int"}`), true},
		{"nested field change", avroRec(`{"name":"a","type":{"type":"record","name":"In","fields":[{"name":"x","type":"int"}]}}`),
			avroRec(`{"name":"a","type":{"type":"record","name":"In","fields":[{"name":"x","type":"string"}]}}`), false},
		{"recursive record", avroRec(`{"name":"next","type":["null","ns.R"],"default":null},{"name":"v","type":"long"}`),
			avroRec(`{"name":"next","type":["null","ns.R"],"default":null},{"name":"v","type":"int"}`), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, s := range []string{c.reader, c.writer} {
				if _, err := f.Parse(Schema{Text: s}); err != nil {
					t.Fatalf("parse %s: %v", s, err)
				}
			}
			msgs := f.CanRead(Schema{Text: c.reader}, Schema{Text: c.writer})
			if got := len(msgs) == 0; got != c.ok {
				t.Fatalf("compatible = %v, want %v (messages %q)", got, c.ok, msgs)
			}
		})
	}
}

func TestAvroCanReadWithRefs(t *testing.T) {
	f := avroFmt(t)
	ref := func(fields string) []Ref {
		return []Ref{{Name: "com.acme.B", Text: `{"type":"record","name":"B","namespace":"com.acme","fields":[` + fields + `]}`}}
	}
	main := `{"type":"record","name":"A","fields":[{"name":"b","type":"com.acme.B"}]}`
	w := Schema{Text: main, Refs: ref(`{"name":"x","type":"int"}`)}
	if msgs := f.CanRead(Schema{Text: main, Refs: ref(`{"name":"x","type":"long"}`)}, w); len(msgs) != 0 {
		t.Fatalf("promotion inside a reference: %q", msgs)
	}
	if msgs := f.CanRead(Schema{Text: main, Refs: ref(`{"name":"x","type":"int"},{"name":"y","type":"int"}`)}, w); len(msgs) == 0 {
		t.Fatal("a field without default added inside a reference went unnoticed")
	}
}

func FuzzAvroParse(f *testing.F) {
	for _, s := range []string{
		`"int"`, `["null","string"]`, avroRec(`{"name":"a","type":"int","default":1}`),
		`{"type":"enum","name":"E","symbols":["A"],"default":"A"}`,
		`{"type":"fixed","name":"F","size":16,"logicalType":"decimal","precision":4,"scale":2}`,
		`{"type":"array","items":{"type":"map","values":"long"}}`,
		avroRec(`{"name":"next","type":["null","ns.R"]}`), `{"type":["int"]}`, `{}`, `[]`, `null`,
	} {
		f.Add(s, `{"type":"record","name":"B","namespace":"ns","fields":[]}`)
	}
	fm := avroFmt(f)
	f.Fuzz(func(t *testing.T, text, ref string) {
		s := Schema{Text: text, Refs: []Ref{{Name: "ns.B", Text: ref}}}
		_, err := fm.Parse(s)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatal(err)
			}
			return
		}
		if msgs := fm.CanRead(s, s); len(msgs) != 0 {
			t.Fatalf("a schema cannot read its own data: %q", msgs)
		}
	})
}
