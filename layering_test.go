// The house rules of docs/ARCHITECTURE.md as a test: a protocol package (kafka, mqtt, amqp,
// rocketmq and their subpackages) imports no other protocol and no backend (bridge/pulsar,
// bridge/embedded); the bridge side (bridge, bridge/bridgetest and the other non-backend
// packages under bridge/) imports no protocol, and no backend either, since every backend
// is built on it. A copy of another project under third_party imports only itself, so
// it can be rebased (third_party/README.md). Imports count transitively; test files may
// import anything.
package gateway_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/pulsar-gateway/pulsar-gateway/"

var protocolRoots = []string{"kafka", "mqtt", "amqp", "rocketmq"}
var backendRoots = []string{"bridge/pulsar", "bridge/embedded"}

// thirdPartyRoots is the third_party copy rel belongs to (third_party/<name>), if any.
func thirdPartyRoots(rel string) []string {
	parts := strings.SplitN(rel, "/", 3)
	if len(parts) < 2 || parts[0] != "third_party" {
		return nil
	}
	return []string{parts[0] + "/" + parts[1]}
}

// under reports whether the module-relative path rel is root or below it.
func under(rel string, roots ...string) (string, bool) {
	for _, r := range roots {
		if rel == r || strings.HasPrefix(rel, r+"/") {
			return r, true
		}
	}
	return "", false
}

// forbidden says why package from may not depend on package to (module-relative paths),
// or "" when it may.
func forbidden(from, to string) string {
	toProtocol, isProtocol := under(to, protocolRoots...)
	_, isBackend := under(to, backendRoots...)
	if p, ok := under(from, protocolRoots...); ok {
		switch {
		case isProtocol && toProtocol != p:
			return "a protocol imports another protocol"
		case isBackend:
			return "a protocol imports a backend"
		}
	}
	if _, ok := under(from, "bridge"); ok {
		if _, backend := under(from, backendRoots...); !backend {
			switch {
			case isProtocol:
				return "the bridge imports a protocol"
			case isBackend:
				return "the bridge imports a backend"
			}
		}
	}
	if _, ok := under(from, backendRoots...); ok && isProtocol {
		return "a backend imports a protocol"
	}
	if copyRoot, ok := under(from, thirdPartyRoots(from)...); ok {
		if _, own := under(to, copyRoot); !own {
			return "a third_party copy imports the gateway"
		}
	}
	return ""
}

type listedPackage struct {
	ImportPath string
	Imports    []string
}

// modulePackages lists the module's packages and their direct (non-test) imports, by
// module-relative path.
func modulePackages(t *testing.T) map[string][]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("no go tool on PATH")
	}
	// -e: a package that does not compile still lists its imports.
	out, err := exec.Command(goTool, "list", "-e", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var own []string
		for _, imp := range p.Imports {
			if rel, ok := strings.CutPrefix(imp, module); ok {
				own = append(own, rel)
			}
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = own
	}
	return pkgs
}

func TestLayering(t *testing.T) {
	pkgs := modulePackages(t)
	for _, must := range []string{"bridge", "bridge/embedded", "kafka", "mqtt", "amqp", "third_party/mochi-mqtt-server"} {
		if _, ok := pkgs[must]; !ok {
			t.Fatalf("go list does not show package %s: the rules below would check nothing", must)
		}
	}
	for from := range pkgs {
		// Walk the transitive imports breadth first, keeping the chain that reached each.
		chain := map[string][]string{from: {from}}
		queue := []string{from}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, imp := range pkgs[p] {
				if _, seen := chain[imp]; seen {
					continue
				}
				chain[imp] = append(append([]string(nil), chain[p]...), imp)
				if why := forbidden(from, imp); why != "" {
					t.Errorf("%s (docs/ARCHITECTURE.md): %s", why, strings.Join(chain[imp], " -> "))
					continue
				}
				queue = append(queue, imp)
			}
		}
	}
}
