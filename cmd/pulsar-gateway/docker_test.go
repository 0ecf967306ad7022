package main

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDockerfile checks the Dockerfile as far as it can be without a docker
// engine. The build stage's own command (read from the Dockerfile, so the
// two cannot drift) runs in a copy of the build context (.dockerignore
// applied) and must give a static binary. That binary then runs as the
// image runs it: ENTRYPOINT's command, as USER's uid, with a read-only root
// holding only the binary and the CA certificates, and the VOLUME the one
// writable place (bubblewrap: a user namespace in which the uid is the same
// uid outside when the test runs as root, as in a container). There it must
// get ready, carry a Kafka and an MQTT round trip, keep its data in the
// volume, stop cleanly on SIGTERM (docker stop), and fail with one clear
// line when the volume is not writable (a fresh volume owned by root).
func TestDockerfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goBin := goTool(t)
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Fatal("no bwrap on PATH (Debian package bubblewrap; scripts/test.sh installs it)")
	}
	root := filepath.Dir(goEnv(t, goBin, "GOMOD"))
	df := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	checkGoVersion(t, root, df.goImage)

	// Our own folder, not t.TempDir: uid 65532 must reach the binary and the volume.
	base, err := os.MkdirTemp("", "pulsar-gateway-docker-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	src, out := filepath.Join(base, "src"), filepath.Join(base, "out")
	copyBuildContext(t, root, src)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	// The golang image sets no GOFLAGS; /out is the build stage's output folder.
	build := exec.Command("sh", "-c", strings.ReplaceAll(df.build, "/out/", out+"/"))
	build.Dir = src
	build.Env = append(os.Environ(), "GOFLAGS=")
	start := time.Now()
	if o, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the Dockerfile's build command %q: %v\n%s", df.build, err, o)
	}
	t.Logf("the Dockerfile's build command took %v", time.Since(start).Round(time.Millisecond))
	bin := filepath.Join(out, path.Base(df.binary))
	checkStatic(t, bin)

	// The sandbox: an empty read-only root with the image's files bound in.
	sandbox := func(volume string, args ...string) *exec.Cmd {
		a := []string{"--unshare-user", "--uid", df.uid, "--gid", df.gid,
			"--unshare-pid", "--as-pid-1", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
			"--tmpfs", "/",
			"--ro-bind", bin, df.entrypoint[0],
			"--ro-bind", "/etc/ssl/certs", "/etc/ssl/certs", // distroless static has them
			"--bind", volume, df.volume,
			"--dev", "/dev", "--proc", "/proc",
			"--remount-ro", "/",
			"--"}
		a = append(append(a, df.entrypoint...), args...)
		if os.Geteuid() == 0 {
			// Root runs the sandbox as the image's user, so the uid inside is
			// that uid outside too (files it writes are 65532's, as in Docker).
			return exec.Command("setpriv", append([]string{"--reuid=" + df.uid, "--regid=" + df.gid, "--clear-groups", "--", bwrap}, a...)...)
		}
		return exec.Command(bwrap, a...)
	}
	ports := []string{"--kafka-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0", "--amqp-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--schema-registry-addr", "127.0.0.1:0"}

	t.Run("serves", func(t *testing.T) {
		volume := filepath.Join(base, "volume")
		if err := os.Mkdir(volume, 0o755); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			// As the Dockerfile's COPY --chown makes the image's /data.
			uid, _ := strconv.Atoi(df.uid)
			gid, _ := strconv.Atoi(df.gid)
			if err := os.Chown(volume, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		logs := &logBuffer{}
		cmd := sandbox(volume, ports...)
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
		if code, body := httpGet(t, "http://"+addrs["http"]+"/readyz"); code != 200 {
			t.Fatalf("/readyz = %d %q; log:\n%s", code, body, logs)
		}
		kafkaRoundTrip(t, addrs["kafka"])
		mqttRoundTrip(t, addrs["mqtt"])

		// docker stop: SIGTERM to the container's process 1, the gateway.
		gw := sandboxedProcess(t, cmd.Process.Pid)
		if err := syscall.Kill(gw, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v; log:\n%s", err, logs)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("still running 30 s after SIGTERM; log:\n%s", logs)
		}
		for _, l := range parseLogs(t, strings.NewReader(logs.String())) {
			if lvl := l.str("level"); lvl != "info" && lvl != "warn" {
				t.Errorf("log line %v: a read-only root must cost nothing", l)
			}
		}

		// The store is in the volume, written by the image's user.
		var files int
		filepath.WalkDir(volume, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				t.Error(err)
				return nil
			}
			info, _ := d.Info()
			if st, ok := info.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && strconv.Itoa(int(st.Uid)) != df.uid {
				t.Errorf("%s is owned by uid %d, want %s", p, st.Uid, df.uid)
			}
			if !d.IsDir() {
				files++
			}
			return nil
		})
		if files == 0 {
			t.Errorf("nothing written under %s (the volume)", df.volume)
		}
	})

	// Start-up failures: one line naming the folder and the cause, exit 1.
	// The second case also shows the sandbox's root is read-only indeed.
	for _, c := range []struct {
		name, dataDir, cause string
		mode                 os.FileMode
	}{
		// Root's 0755 (a fresh named volume) to uid 65532; 0555 to anyone.
		{"volume not writable", df.volume, "permission denied", 0o555},
		{"data outside the volume", "/var/lib/pulsar-gateway", "read-only file system", 0o777},
	} {
		t.Run(c.name, func(t *testing.T) {
			volume, err := os.MkdirTemp(base, "volume-")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(volume, c.mode); err != nil {
				t.Fatal(err)
			}
			// A later --data-dir wins over ENTRYPOINT's.
			cmd := sandbox(volume, append(ports, "--data-dir", c.dataDir)...)
			stderr := &logBuffer{}
			cmd.Stderr = stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
					t.Errorf("exit: %v, want code %d; stderr:\n%s", err, exitFailure, stderr)
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running after 30 s; stderr:\n%s", stderr)
			}
			lines := plainLines(stderr.String())
			last := ""
			if len(lines) > 0 {
				last = lines[len(lines)-1]
			}
			if !strings.HasPrefix(last, "pulsar-gateway: ") || !strings.Contains(last, c.dataDir) || !strings.Contains(last, c.cause) {
				t.Errorf("last line %q, want one naming %s and %s; stderr:\n%s", last, c.dataDir, c.cause, stderr)
			}
		})
	}
}

// dockerfile is what the test takes from the Dockerfile.
type dockerfile struct {
	goImage    string   // the build stage's golang image tag, such as 1.26
	build      string   // the build stage's RUN CGO_ENABLED=0 go build ... command
	binary     string   // where the build puts the binary (/out/pulsar-gateway)
	entrypoint []string // ENTRYPOINT, exec form
	uid, gid   string   // USER
	volume     string   // VOLUME
}

func parseDockerfile(t *testing.T, file string) dockerfile {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Instructions, with continuation lines joined and comments dropped.
	var instrs []string
	var cur string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur += s
			continue
		}
		if cur += line; strings.TrimSpace(cur) != "" {
			instrs = append(instrs, strings.TrimSpace(cur))
		}
		cur = ""
	}
	var df dockerfile
	for _, in := range instrs {
		word, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			if m := regexp.MustCompile(`^golang:(\d+\.\d+)\S* AS build$`).FindStringSubmatch(rest); m != nil {
				df.goImage = m[1]
			}
		case "RUN":
			if strings.HasPrefix(rest, "CGO_ENABLED=0 go build ") {
				df.build = rest
				if m := regexp.MustCompile(` -o (\S+)`).FindStringSubmatch(rest); m != nil {
					df.binary = m[1]
				}
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &df.entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT %s: not the exec form: %v", rest, err)
			}
		case "USER":
			df.uid, df.gid, _ = strings.Cut(rest, ":")
		case "VOLUME":
			df.volume = rest
		}
	}
	if df.goImage == "" || df.build == "" || df.binary == "" || len(df.entrypoint) == 0 || df.uid == "" || df.gid == "" || df.volume == "" {
		t.Fatalf("the Dockerfile lacks a golang:X.Y build stage, a RUN CGO_ENABLED=0 go build -o, ENTRYPOINT, numeric USER uid:gid or VOLUME: %+v", df)
	}
	if _, err := strconv.Atoi(df.uid); err != nil || df.uid == "0" {
		t.Errorf("USER %s: want a numeric non-root uid (Kubernetes runAsNonRoot checks it)", df.uid)
	}
	if i := indexOf(df.entrypoint, "--data-dir"); i < 0 || i+1 >= len(df.entrypoint) || df.entrypoint[i+1] != df.volume {
		t.Errorf("ENTRYPOINT %q does not keep its data in the VOLUME %s", df.entrypoint, df.volume)
	}
	return df
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// checkGoVersion: the golang image can build go.mod's go version (the image
// sets GOTOOLCHAIN=local, so it would not fetch a newer toolchain).
func checkGoVersion(t *testing.T, root, image string) {
	t.Helper()
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindStringSubmatch(string(goMod))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	var major, minor int
	fmt.Sscanf(image, "%d.%d", &major, &minor)
	want, _ := strconv.Atoi(m[2])
	if major != 1 || minor < want {
		t.Errorf("Dockerfile builds with golang:%s, go.mod wants go %s.%s", image, m[1], m[2])
	}
}

// copyBuildContext copies what docker build would send: the work tree's
// files (tracked and new, not git-ignored) less what .dockerignore excludes.
func copyBuildContext(t *testing.T, root, dst string) {
	t.Helper()
	var ignore []string
	if raw, err := os.ReadFile(filepath.Join(root, ".dockerignore")); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			l = strings.TrimSpace(l)
			switch {
			case l == "" || strings.HasPrefix(l, "#"):
			case strings.HasPrefix(l, "!"):
				t.Fatalf(".dockerignore exception %q: this test does not apply those", l)
			default:
				ignore = append(ignore, strings.TrimPrefix(strings.TrimSuffix(l, "/"), "/"))
			}
		}
	}
	ls := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z")
	ls.Dir = root
	listed, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimSuffix(string(listed), "\x00"), "\x00") {
		if dockerIgnored(ignore, name) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, name))
		if os.IsNotExist(err) {
			continue // deleted, not yet committed
		} else if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// dockerIgnored matches .dockerignore's patterns as docker does for the
// forms the file uses: a pattern matches a path or any folder above it, and
// a ** element matches any number of folders.
func dockerIgnored(patterns []string, name string) bool {
	parts := strings.Split(name, "/")
	for _, p := range patterns {
		for n := 1; n <= len(parts); n++ {
			if globMatch(strings.Split(p, "/"), parts[:n]) {
				return true
			}
		}
	}
	return false
}

func globMatch(pattern, parts []string) bool {
	if len(pattern) == 0 {
		return len(parts) == 0
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(parts); i++ {
			if globMatch(pattern[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	ok, _ := path.Match(pattern[0], parts[0])
	return ok && globMatch(pattern[1:], parts[1:])
}

// checkStatic: no program interpreter and no shared libraries, so the binary
// runs on an image without libc.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v program header: not static", bin, p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", bin, libs)
	}
}

// sandboxedProcess is the host pid of the gateway, bwrap's child (process 1
// in the sandbox's pid namespace). pid is bwrap, or setpriv that became it.
func sandboxedProcess(t *testing.T, pid int) int {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	kids := strings.Fields(string(raw))
	if len(kids) != 1 {
		t.Fatalf("bwrap (pid %d) has children %q, want the gateway alone", pid, kids)
	}
	child, _ := strconv.Atoi(kids[0])
	return child
}

func kafkaRoundTrip(t *testing.T, addr string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("docker-check"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "docker-check", Value: []byte("hello from kafka")}).FirstErr(); err != nil {
		t.Fatalf("Kafka produce: %v", err)
	}
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("Kafka consume: nothing in 30 s")
		}
		for _, r := range fs.Records() {
			if string(r.Value) == "hello from kafka" {
				return
			}
		}
	}
}

func mqttRoundTrip(t *testing.T, addr string) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("docker-check").
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("MQTT connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	got := make(chan string, 1)
	if tok := c.Subscribe("docker/check", 1, func(_ paho.Client, m paho.Message) {
		select {
		case got <- string(m.Payload()):
		default:
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("MQTT subscribe: %v", tok.Error())
	}
	if tok := c.Publish("docker/check", 1, false, "hello from mqtt"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("MQTT publish: %v", tok.Error())
	}
	select {
	case m := <-got:
		if m != "hello from mqtt" {
			t.Errorf("MQTT got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("MQTT: the message did not come back in 10 s")
	}
}
