package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestVersionMatchesBuildInfo builds the binary as a developer does (go build
// in the work tree, VCS stamping on) and checks that --version, the start-up
// log line and /metrics all say what the Go tool reads from the same binary
// (go version -m): the module version, the commit and the Go version.
func TestVersionMatchesBuildInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goBin := goTool(t)
	bin := filepath.Join(t.TempDir(), "pulsar-gateway")
	// -buildvcs=auto: stamp the commit when this is a git checkout, whatever
	// GOFLAGS says.
	if out, err := exec.Command(goBin, "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want := goVersionM(t, goBin, bin)
	root := filepath.Dir(goEnv(t, goBin, "GOMOD"))
	if fi, err := os.Stat(filepath.Join(root, ".git")); err == nil && fi.IsDir() {
		// A git clone (not a worktree, whose .git is a file the Go tool does
		// not follow): the commit must be the checked-out one.
		head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		if h := strings.TrimSpace(string(head)); strings.TrimSuffix(want.Revision, "-modified") != h {
			t.Errorf("binary stamped with commit %q, HEAD is %s", want.Revision, h)
		}
	}

	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	if got := string(out); got != want.String()+"\n" {
		t.Errorf("--version printed %q, want %q", got, want.String()+"\n")
	}
	if !strings.HasPrefix(string(out), "pulsar-gateway "+want.Version+" (commit ") || !strings.HasSuffix(string(out), ", "+want.GoVersion+")\n") {
		t.Errorf("--version printed %q: not pulsar-gateway VERSION (commit C, GOVERSION)", out)
	}

	logs := &logBuffer{}
	cmd := exec.Command(bin, portZeroArgs(t)...)
	cmd.Env = append(os.Environ(), "PULSAR_GATEWAY_LOG_FORMAT=json")
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("still running 30 s after SIGTERM")
		}
	}()
	addrs := listeningAddrs(t, logs.String, 5)

	var starting logLine
	for _, l := range parseLogs(t, strings.NewReader(logs.String())) {
		if l.str("msg") == "starting" {
			starting = l
		}
	}
	if starting == nil {
		t.Fatalf("no starting line in the log:\n%s", logs)
	}
	if starting.str("level") != "info" || starting.str("version") != want.Version ||
		starting.str("revision") != want.Revision || starting.str("go_version") != want.GoVersion {
		t.Errorf("starting line %v, want level info, version %q, revision %q, go_version %q",
			starting, want.Version, want.Revision, want.GoVersion)
	}

	code, metrics := httpGet(t, "http://"+addrs["http"]+"/metrics")
	series := fmt.Sprintf("pulsar_gateway_build_info{goversion=%q,revision=%q,version=%q} 1",
		want.GoVersion, want.Revision, want.Version)
	if code != 200 || !strings.Contains(metrics, "\n"+series+"\n") {
		t.Errorf("/metrics (%d) lacks %s; its build_info lines:\n%s", code, series, grepLines(metrics, "build_info"))
	}
}

// goVersionM is the binary's build information as go version -m prints it.
func goVersionM(t *testing.T, goBin, bin string) buildInfo {
	t.Helper()
	out, err := exec.Command(goBin, "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	b := buildInfo{Revision: "unknown"}
	modified := false
	for i, line := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.TrimSpace(line), "\t")
		switch {
		case i == 0: // BIN: go1.26.8
			_, b.GoVersion, _ = strings.Cut(line, ": ")
		case f[0] == "mod" && len(f) >= 3:
			b.Version = f[2]
		case f[0] == "build" && len(f) == 2 && strings.HasPrefix(f[1], "vcs.revision="):
			b.Revision = strings.TrimPrefix(f[1], "vcs.revision=")
		case f[0] == "build" && len(f) == 2 && f[1] == "vcs.modified=true":
			modified = true
		}
	}
	if modified {
		b.Revision += "-modified"
	}
	if b.Version == "" || b.GoVersion == "" {
		t.Fatalf("go version -m printed no module or Go version:\n%s", out)
	}
	return b
}

func grepLines(s, substr string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestVersionLine: the --version line's shape, and a commit cut to seven
// digits as git log --oneline shows it.
func TestVersionLine(t *testing.T) {
	for _, c := range []struct {
		b    buildInfo
		want string
	}{
		{buildInfo{"v1.2.3", "0123456789abcdef0123456789abcdef01234567", "go1.26.8"}, "pulsar-gateway v1.2.3 (commit 0123456, go1.26.8)"},
		{buildInfo{"(devel)", "0123456789abcdef0123456789abcdef01234567-modified", "go1.26.8"}, "pulsar-gateway (devel) (commit 0123456-modified, go1.26.8)"},
		{buildInfo{"v0.3.0", "unknown", "go1.26.8"}, "pulsar-gateway v0.3.0 (commit unknown, go1.26.8)"},
	} {
		if got := c.b.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.b, got, c.want)
		}
	}
}

// TestRunVersion: --version prints one line on stdout and exits 0 before
// reading any configuration, so a broken config does not hide the version.
func TestRunVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := func(k string) string {
		if k == "PULSAR_GATEWAY_BACKEND" {
			return "no-such-backend"
		}
		return ""
	}
	if code := run(context.Background(), []string{"--version"}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("--version exit code %d, want 0; stderr %q", code, stderr.String())
	}
	if want := readBuildInfo().String() + "\n"; stdout.String() != want {
		t.Errorf("--version printed %q, want %q", stdout.String(), want)
	}
	if stderr.Len() != 0 {
		t.Errorf("--version wrote to stderr: %q", stderr.String())
	}
}
