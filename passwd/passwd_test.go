package passwd

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	f, err := Parse("# users\nalice:" + Hash("alice-secret") + "\n\nbob:" + Hash("b") + "\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, pass string
		want       bool
	}{{"alice", "alice-secret", true}, {"alice", "wrong", false}, {"bob", "b", true}, {"carol", "b", false}, {"bob", "", false}} {
		if got := f.Check(c.user, []byte(c.pass)); got != c.want {
			t.Errorf("Check(%q, %q) = %v, want %v", c.user, c.pass, got, c.want)
		}
	}
}

func TestParseRefusesClearPasswords(t *testing.T) {
	_, err := Parse("alice:hunter2\n")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("clear password: err %v (must fail without echoing it)", err)
	}
}

// A file written by Mosquitto's own tool is read as Mosquitto reads it.
func TestMosquittoPasswdFile(t *testing.T) {
	tool, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Fatal("mosquitto_passwd not installed: apt-get install mosquitto (scripts/test.sh does)")
	}
	path := filepath.Join(t.TempDir(), "pw")
	if out, err := exec.Command(tool, "-c", "-b", path, "dev", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Check("dev", []byte("s3cret")) || f.Check("dev", []byte("s3cre")) {
		t.Fatal("the mosquitto_passwd file does not check as written")
	}
}

func FuzzCheckHash(f *testing.F) {
	f.Add(Hash("x"), []byte("x"))
	f.Add("$6$c2FsdA==$aGFzaA==", []byte("p"))
	f.Add("$7$99999999$$", []byte(""))
	f.Fuzz(func(t *testing.T, hash string, pw []byte) {
		CheckHash(hash, pw) // must not panic or run unbounded
	})
}
