package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

const modulePath = "github.com/pulsar-gateway/pulsar-gateway"

// TestGoInstallAtVersion installs the gateway as the README tells a user to,
// go install github.com/pulsar-gateway/pulsar-gateway/cmd/pulsar-gateway@VERSION,
// from a module proxy holding this tree as that version (a folder, GOPROXY=file://;
// dependencies come from the module cache or the usual proxy). The go command
// refuses to install a module whose go.mod has a replace or exclude directive,
// so this fails if one comes back. The installed binary must report the version.
func TestGoInstallAtVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goBin := goTool(t)
	root := filepath.Dir(goEnv(t, goBin, "GOMOD"))
	// A new version each run: the module cache keeps a version's files for good,
	// so a reused one would install an older tree.
	version := fmt.Sprintf("v0.0.0-installtest.%d", time.Now().UnixNano())
	proxy := t.TempDir()
	writeModuleProxy(t, proxy, root, version)
	modCache := goEnv(t, goBin, "GOMODCACHE")
	t.Cleanup(func() { removeFromModCache(t, modCache, version) })

	gobin := t.TempDir()
	install := exec.Command(goBin, "install", modulePath+"/cmd/pulsar-gateway@"+version)
	install.Dir = t.TempDir() // outside this module, as in a user's shell
	install.Env = append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+","+goEnv(t, goBin, "GOPROXY"),
		// The checksum database has never seen this version: do not ask it.
		// (Not GOPRIVATE: that would also bypass the proxy for the module.)
		"GONOSUMDB="+modulePath,
		"GOFLAGS=", "GOWORK=off", "GOBIN="+gobin)
	start := time.Now()
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install ...@%s: %v\n%s", version, err, out)
	}
	t.Logf("go install took %v", time.Since(start).Round(time.Millisecond))

	out, err := exec.Command(filepath.Join(gobin, "pulsar-gateway"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("pulsar-gateway --version: %v\n%s", err, out)
	}
	// No commit: go install ...@version builds from the module zip, not a checkout.
	want := fmt.Sprintf("pulsar-gateway %s (commit unknown, %s)\n", version, runtime.Version())
	if string(out) != want {
		t.Errorf("pulsar-gateway --version printed %q, want %q", out, want)
	}
}

func goEnv(t *testing.T, goBin, name string) string {
	t.Helper()
	out, err := exec.Command(goBin, "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" || v == os.DevNull {
		t.Fatalf("go env %s is %q", name, v)
	}
	return v
}

// writeModuleProxy lays out a GOPROXY folder (the go help goproxy protocol)
// serving the module in root as version: the files git would commit (tracked
// and new ones, not ignored ones), as they are in the work tree now.
func writeModuleProxy(t *testing.T, proxy, root, version string) {
	t.Helper()
	ls := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z")
	ls.Dir = root
	listed, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files in %s: %v", root, err)
	}
	var files []modzip.File
	for _, name := range strings.Split(strings.TrimSuffix(string(listed), "\x00"), "\x00") {
		info, err := os.Lstat(filepath.Join(root, name))
		if os.IsNotExist(err) {
			continue // deleted, not yet committed
		} else if err != nil {
			t.Fatal(err)
		}
		files = append(files, treeFile{root: root, name: filepath.ToSlash(name), info: info})
	}
	dir := filepath.Join(proxy, filepath.FromSlash(modulePath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var zip bytes.Buffer
	if err := modzip.Create(&zip, module.Version{Path: modulePath, Version: version}, files); err != nil {
		t.Fatalf("module zip: %v", err)
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	info := fmt.Sprintf(`{"Version":%q,"Time":%q}`, version, time.Now().UTC().Format(time.RFC3339))
	for name, data := range map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": []byte(info),
		version + ".mod":  goMod,
		version + ".zip":  zip.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// treeFile is one work-tree file for modzip.Create.
type treeFile struct {
	root, name string
	info       os.FileInfo
}

func (f treeFile) Path() string                { return f.name }
func (f treeFile) Lstat() (os.FileInfo, error) { return f.info, nil }
func (f treeFile) Open() (io.ReadCloser, error) {
	return os.Open(filepath.Join(f.root, filepath.FromSlash(f.name)))
}

// removeFromModCache deletes what go install put in the module cache for this
// test's version (the cache makes its files read-only), so runs do not pile up.
func removeFromModCache(t *testing.T, modCache, version string) {
	extracted := filepath.Join(modCache, filepath.FromSlash(modulePath)+"@"+version)
	downloads := filepath.Join(modCache, "cache", "download", filepath.FromSlash(modulePath), "@v")
	paths, _ := filepath.Glob(filepath.Join(downloads, version+".*"))
	// list names the versions seen; the go command makes it again when needed.
	paths = append(paths, filepath.Join(downloads, "list"), extracted)
	for _, p := range paths {
		filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(path, 0o755)
			}
			return nil
		})
		if err := os.RemoveAll(p); err != nil {
			t.Errorf("cleaning the module cache: %v", err)
		}
	}
}
