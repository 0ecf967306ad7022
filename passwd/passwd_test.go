package passwd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// A watched file's changes take effect at the next check; a broken file
// keeps the last good users.
func TestWatched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	write := func(s string) {
		t.Helper()
		// A new size or time is what marks a change: make sure of the time.
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Duration(len(s)) * time.Second)
		os.Chtimes(path, later, later)
	}
	write("alice:" + Hash("a-pw") + "\n")
	w, err := Watch(path)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Check("alice", []byte("a-pw")) {
		t.Fatal("alice at the start")
	}
	write("bob:" + Hash("b-pw") + "\n#\n")
	if w.Check("alice", []byte("a-pw")) || !w.Check("bob", []byte("b-pw")) {
		t.Fatal("after alice was replaced by bob")
	}
	write("carol:clear-text-password\n")
	if !w.Check("bob", []byte("b-pw")) || w.Has("carol") {
		t.Fatal("a broken file did not keep the last good users")
	}
}
