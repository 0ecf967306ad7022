package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate runs the generator as go generate does and compares its output with
// the committed methods_gen.go byte for byte.
func TestGeneratedUpToDate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "methods_gen.go")
	if err := run("", out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../methods_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("amqp/wire/methods_gen.go is stale: run go generate ./amqp/wire/")
	}
}
