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
