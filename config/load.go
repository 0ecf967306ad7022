package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// ErrHelp is returned by Load when the arguments ask for -h or --help.
// Print Usage and exit 0.
var ErrHelp = flag.ErrHelp

// ErrVersion is returned by Load when the arguments ask for --version.
// Print the version and exit 0.
var ErrVersion = errors.New("version requested")

// ConfigEnv names the config file when --config is not given.
const ConfigEnv = EnvPrefix + "CONFIG"

// Load builds the effective configuration: defaults, then the YAML file
// (--config, else $PULSAR_GATEWAY_CONFIG), then environment variables, then
// flags, and validates it. env is os.Getenv in production; tests pass a map's
// lookup. Every error is one line that names the key at fault.
func Load(args []string, env func(string) string) (*Config, error) {
	fs, configPath := newFlagSet()
	showVersion := fs.Bool("version", false, versionUsage)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ErrHelp
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	if *showVersion {
		return nil, ErrVersion
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("config: unexpected argument %q (settings are flags, such as --kafka-addr)", fs.Arg(0))
	}

	cfg := Default()
	path := *configPath
	if path == "" {
		path = env(ConfigEnv)
	}
	if path != "" {
		if err := loadFile(cfg, path); err != nil {
			return nil, err
		}
	}
	if err := applyEnv(cfg, env); err != nil {
		return nil, err
	}
	// Flags were checked while parsing; setting them again cannot fail.
	fs.Visit(func(f *flag.Flag) {
		if v, ok := f.Value.(*flagValue); ok {
			_ = v.setting.set(cfg, v.raw)
		}
	})
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func applyEnv(cfg *Config, env func(string) string) error {
	for _, s := range Settings() {
		raw := env(s.Env)
		if raw == "" {
			continue
		}
		if err := s.set(cfg, raw); err != nil {
			return fmt.Errorf("config: %s (from %s): %w", s.Key, s.Env, err)
		}
	}
	return nil
}

// flagValue holds a flag's raw text until Load applies it above the file and
// the environment; parsing it early reports a bad value as a flag error.
type flagValue struct {
	setting Setting
	raw     string
}

func (v *flagValue) String() string { return v.raw }

func (v *flagValue) Set(raw string) error {
	if err := v.setting.set(Default(), raw); err != nil {
		return err
	}
	v.raw = raw
	return nil
}

func (v *flagValue) IsBoolFlag() bool { return v.setting.isBool() }

const versionUsage = "print the version, commit and Go version, and exit"

func newFlagSet() (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("pulsar-gateway", flag.ContinueOnError)
	// Errors come back from Parse as one line; usage is printed by the caller.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	configPath := fs.String("config", "", "YAML config file (env "+ConfigEnv+")")
	for _, s := range Settings() {
		if s.Flag != "" {
			fs.Var(&flagValue{setting: s}, s.Flag, s.Usage)
		}
	}
	return fs, configPath
}

// Usage writes the --help text: every flag with its YAML key, environment
// variable and default.
func Usage(w io.Writer) {
	def := Default()
	var b strings.Builder
	b.WriteString("Usage: pulsar-gateway [flags]\n\n")
	b.WriteString("Serves Kafka, MQTT and AMQP 0-9-1 clients and stores their messages in Apache Pulsar\n")
	b.WriteString("or in an embedded local store.\n\n")
	b.WriteString("Precedence: defaults < YAML file < environment < flags. Unknown YAML keys are errors.\n\n")
	b.WriteString("  --config FILE\n      YAML config file (env " + ConfigEnv + ")\n")
	b.WriteString("  --version\n      " + versionUsage + "\n")
	for _, s := range Settings() {
		name := "(no flag)"
		if s.Flag != "" {
			name = "--" + s.Flag
			switch {
			case s.typ == durationType:
				name += " duration"
			case !s.isBool():
				name += " " + s.typ.Kind().String()
			}
		}
		fmt.Fprintf(&b, "  %s\n      %s\n      yaml %s, env %s", name, s.Usage, s.Key, s.Env)
		if d := s.Get(def); d != "" {
			fmt.Fprintf(&b, ", default %s", d)
		}
		b.WriteString("\n")
	}
	io.WriteString(w, b.String())
}
