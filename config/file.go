package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// loadFile decodes a YAML file over cfg. Keys the gateway does not know are
// errors, so a typo never silently leaves a default in place.
func loadFile(cfg *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// A first pass over the node tree names an unknown key by its full path
	// (kafka.adr), which the decoder's own message does not.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("config: %s: %s", path, oneLine(err, nil))
	}
	keyAt, err := checkKeys(&root)
	if err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %s: %s", path, oneLine(err, keyAt))
	}
	return nil
}

// checkKeys walks the document and reports the first key that is not a
// setting or a section of settings. It returns the key of each line, so a
// decoder error about a line can name its key.
func checkKeys(root *yaml.Node) (map[int]string, error) {
	keyAt := map[int]string{}
	if root.Kind == 0 || len(root.Content) == 0 {
		return keyAt, nil // empty file
	}
	doc := root.Content[0]
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return keyAt, nil
	}
	if doc.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the file must be a mapping of keys, such as \"kafka:\"", doc.Line)
	}
	known := map[string]bool{}
	for _, s := range Settings() {
		known[s.Key] = false // a leaf
		for i := range len(s.Key) {
			if s.Key[i] == '.' {
				known[s.Key[:i]] = true // a section
			}
		}
	}
	var walk func(n *yaml.Node, prefix string) error
	walk = func(n *yaml.Node, prefix string) error {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := prefix + k.Value
			section, ok := known[key]
			if !ok {
				return fmt.Errorf("line %d: unknown key %q", k.Line, key)
			}
			keyAt[v.Line] = key
			if section && v.Kind == yaml.MappingNode {
				if err := walk(v, key+"."); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(doc, ""); err != nil {
		return nil, err
	}
	return keyAt, nil
}

var (
	yamlLine         = regexp.MustCompile(`^line (\d+): `)
	yamlDurationType = regexp.MustCompile("cannot unmarshal !!\\w+ `([^`]*)` into time.Duration")
)

// oneLine turns yaml's multi-line errors into one line without the
// package's prefix, names the key of each line, and explains durations,
// which need a unit.
func oneLine(err error, keyAt map[int]string) string {
	var te *yaml.TypeError
	var parts []string
	if errors.As(err, &te) {
		parts = te.Errors
	} else {
		parts = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	for i, p := range parts {
		p = yamlDurationType.ReplaceAllString(p, "`$1` is not a duration (such as 500ms, 10s, 1m; write 0s for zero)")
		if m := yamlLine.FindStringSubmatch(p); m != nil {
			if line, _ := strconv.Atoi(m[1]); keyAt[line] != "" {
				p = m[0] + keyAt[line] + ": " + p[len(m[0]):]
			}
		}
		parts[i] = p
	}
	return strings.Join(parts, "; ")
}
