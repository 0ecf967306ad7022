package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/pulsar-gateway/pulsar-gateway/config"
)

// TestREADMEListsEverySetting keeps the README's configuration table true:
// every setting's YAML key and environment variable appear in it.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings() {
		row := "| `" + s.Key + "` |"
		if !strings.Contains(string(readme), row) || !strings.Contains(string(readme), s.Env) {
			t.Errorf("README.md configuration table lacks %s (%s)", s.Key, s.Env)
		}
	}
}

// TestREADMESecurityExample: the README's security example is a config
// file the gateway takes (its files aside, which the example names only).
func TestREADMESecurityExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Security")
	if !ok {
		t.Fatal("README.md has no Security section")
	}
	_, block, ok := strings.Cut(after, "```yaml\n")
	if !ok {
		t.Fatal("the Security section has no yaml example")
	}
	block, _, _ = strings.Cut(block, "```")
	path := t.TempDir() + "/gateway.yaml"
	if err := os.WriteFile(path, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = config.Load([]string{"--config", path}, func(string) string { return "" })
	// The example's files (TLS, the Pulsar token) do not exist here: the
	// only complaint may be about them.
	if err != nil {
		for _, part := range strings.Split(strings.TrimPrefix(err.Error(), "config: "), "; ") {
			if !strings.Contains(part, ".tls: ") && !strings.Contains(part, "open /etc/pulsar-gateway/") {
				t.Errorf("the README's security example: %s", part)
			}
		}
	}
}
