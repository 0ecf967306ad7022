package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hamba/avro/v2"
)

// avroFormat is the AVRO schema type. Parsing and schema resolution are
// hamba/avro's; the canonical text is the registered JSON, compacted.
type avroFormat struct{}

func init() { register("AVRO", avroFormat{}) }

// Parse checks s (references parsed first, in order, into one cache so the
// main schema can name their types) and returns its compacted JSON.
func (avroFormat) Parse(s Schema) (string, error) {
	if _, err := parseAvro(s); err != nil {
		return "", err
	}
	return compactSchemaJSON(s.Text)
}

// CanRead applies the Avro specification's schema resolution rules: data
// written with writer must be readable with reader.
func (avroFormat) CanRead(reader, writer Schema) []string {
	r, err := parseAvro(reader)
	if err != nil {
		return []string{"reader schema: " + err.Error()}
	}
	w, err := parseAvro(writer)
	if err != nil {
		return []string{"writer schema: " + err.Error()}
	}
	if err := avroCompatible(r, w); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// avroCompatible wraps hamba's check. A fresh SchemaCompatibility is used
// for each check: hamba memoizes results by (reader, writer) fingerprint,
// and a fingerprint (Parsing Canonical Form) ignores defaults and aliases,
// so a cache shared across checks could answer for a different schema pair.
func avroCompatible(reader, writer avro.Schema) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("avro: internal error in schema resolution: %v", p)
		}
	}()
	if err := avro.NewSchemaCompatibility().Compatible(reader, writer); err != nil {
		return fmt.Errorf("reader schema cannot read data written with the writer schema: %w", err)
	}
	return nil
}

// parseAvro parses the references in order, then the main schema, into a
// cache private to this call (hamba's default cache is process-wide).
func parseAvro(s Schema) (sch avro.Schema, err error) {
	defer func() {
		if p := recover(); p != nil {
			sch, err = nil, fmt.Errorf("avro: internal error parsing the schema: %v", p)
		}
	}()
	cache := &avro.SchemaCache{}
	for _, ref := range s.Refs {
		// hamba falls back to reading non-JSON text as a bare type name;
		// the registry wants JSON (Confluent's parser does too).
		if !json.Valid([]byte(ref.Text)) {
			return nil, fmt.Errorf("reference %q: invalid JSON", ref.Name)
		}
		if _, err := avro.ParseWithCache(ref.Text, "", cache); err != nil {
			return nil, fmt.Errorf("reference %q: %w", ref.Name, err)
		}
	}
	if !json.Valid([]byte(s.Text)) {
		return nil, errors.New("avro: invalid JSON")
	}
	sch, err = avro.ParseWithCache(s.Text, "", cache)
	if err != nil {
		return nil, err
	}
	return sch, nil
}

// compactJSON is the JSON text without insignificant whitespace.
func compactSchemaJSON(text string) (string, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(strings.TrimSpace(text))); err != nil {
		return "", fmt.Errorf("invalid JSON: %w", err)
	}
	return b.String(), nil
}
