package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinary builds the real binary, runs it as a process on free ports,
// and stops it with each signal an orchestrator or a terminal sends.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goBin := goTool(t)
	bin := filepath.Join(t.TempDir(), "pulsar-gateway")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			logs := &logBuffer{}
			cmd := exec.Command(bin, portZeroArgs(t)...)
			cmd.Env = append(os.Environ(), "PULSAR_GATEWAY_LOG_FORMAT=json")
			cmd.Stderr = logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					<-exited
				}
			})

			addrs := listeningAddrs(t, logs.String, 5)
			for _, p := range servedByDefault() {
				expectServerCloses(t, addrs[p])
			}
			if code, _ := httpGet(t, "http://"+addrs["http"]+"/readyz"); code != 200 {
				t.Errorf("/readyz = %d, want 200", code)
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("exit: %v, want code 0; log:\n%s", err, logs)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("still running 30s after %v; log:\n%s", sig, logs)
			}
			for _, addr := range addrs {
				expectRefused(t, addr)
			}
			if !strings.Contains(logs.String(), `"msg":"stopped"`) {
				t.Errorf("no stopped line in the log:\n%s", logs)
			}
		})
	}
}
