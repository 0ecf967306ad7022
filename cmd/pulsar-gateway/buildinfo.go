package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// buildInfo is what the Go tool stamped into the binary: the module version
// (v1.2.3 from go install ...@v1.2.3; in a git clone a pseudo-version of the
// commit, "+dirty" with local changes; "(devel)" without git information, as
// in a git worktree, with -buildvcs=false or in the Docker build, whose
// context leaves out .git), the git commit (only when built in a git clone,
// not by go install ...@version, which builds from the module zip) and the Go
// version.
type buildInfo struct {
	Version   string
	Revision  string // the full commit, with "-modified" for uncommitted changes; "unknown" without VCS information
	GoVersion string
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: "unknown", Revision: "unknown", GoVersion: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	b.GoVersion = bi.GoVersion
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.Revision != "unknown" {
		b.Revision += "-modified"
	}
	return b
}

// String is the --version line: pulsar-gateway v1.2.3 (commit abcdef0, go1.26.8).
func (b buildInfo) String() string {
	commit := b.Revision
	// Seven hex digits, as git log --oneline shows, keeping "-modified".
	if hash, suffix, _ := strings.Cut(commit, "-"); len(hash) > 7 && commit != "unknown" {
		commit = hash[:7]
		if suffix != "" {
			commit += "-" + suffix
		}
	}
	return fmt.Sprintf("pulsar-gateway %s (commit %s, %s)", b.Version, commit, b.GoVersion)
}

// logFields are the start-up line's fields.
func (b buildInfo) logFields() []zap.Field {
	return []zap.Field{zap.String("version", b.Version), zap.String("revision", b.Revision), zap.String("go_version", b.GoVersion)}
}

// collector is pulsar_gateway_build_info{version,revision,goversion} 1, the
// Prometheus convention for joining a binary's build to its other series.
func (b buildInfo) collector() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "pulsar_gateway_build_info",
		Help:        "Always 1; the labels say which build of the gateway is running.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion},
	})
	g.Set(1)
	return g
}
