// Package compat parses schemas of the registry's three types (AVRO, JSON,
// PROTOBUF) and checks one schema's compatibility with another, by the
// rules the Confluent Schema Registry applies to each type.
package compat

import "sort"

// Schema is a schema's text as a client registered it, with the schemas it
// references.
type Schema struct {
	Text string
	Refs []Ref
}

// Ref is a referenced schema: Name is how the referencing schema names it
// (AVRO: a full type name; PROTOBUF: an import path; JSON: a $ref URL).
// A referenced schema's own references come along flat in the same list,
// each before the schemas that use it.
type Ref struct {
	Name string
	Text string
}

// Format is one schema type.
type Format interface {
	// Parse checks that s is a valid schema (its references resolved) and
	// returns its canonical text: two schemas with the same canonical text
	// are the same schema and share an id.
	Parse(s Schema) (canonical string, err error)
	// CanRead lists why data written with writer cannot be read with
	// reader; none when it can. Both were parsed without error.
	CanRead(reader, writer Schema) []string
}

var formats = map[string]Format{}

// register adds a format under its type name (from each format's init).
func register(typ string, f Format) { formats[typ] = f }

// Lookup returns the format of a type name ("" is AVRO, as in the
// registry's API).
func Lookup(typ string) (Format, bool) {
	if typ == "" {
		typ = "AVRO"
	}
	f, ok := formats[typ]
	return f, ok
}

// Types lists the type names served.
func Types() []string {
	out := make([]string, 0, len(formats))
	for t := range formats {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
