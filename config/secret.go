package config

// Secret is a string that never shows up in logs or formatted output: fmt,
// JSON and zap's reflection all print "REDACTED". Reveal returns the value
// for the one place that needs it.
type Secret string

const redacted = "REDACTED"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// MarshalText is what encoding/json and zap use for a Secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }
