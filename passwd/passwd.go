// Package passwd reads Mosquitto password files (as mosquitto_passwd
// writes them) and checks passwords against them, so one file of users
// serves every protocol of the gateway and a Mosquitto site keeps its own.
//
// A line is user:$7$iterations$salt$hash (PBKDF2-SHA512, mosquitto_passwd
// since 2.0) or user:$6$salt$hash (salted SHA-512, older files); salts and
// hashes in standard base64. Blank lines and lines starting with # are
// skipped. A password in clear is refused, never echoed.
package passwd

import (
	"bufio"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// File is a parsed password file: user name to hash.
type File struct{ users map[string]string }

// Load reads and parses a password file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	f, err := Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("password file %s: %w", path, err)
	}
	return f, nil
}

// Parse parses a password file's contents.
func Parse(contents string) (*File, error) {
	f := &File{users: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(contents))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" || !(strings.HasPrefix(hash, "$6$") || strings.HasPrefix(hash, "$7$")) {
			// The line is not quoted: it may hold a password in clear.
			return nil, fmt.Errorf("line %d: want user:$7$... or user:$6$... (mosquitto_passwd)", n)
		}
		f.users[user] = hash
	}
	return f, nil
}

// Has reports whether the file names user.
func (f *File) Has(user string) bool {
	_, ok := f.users[user]
	return ok
}

// Check reports whether password is user's. For an unknown user it spends
// the time a check takes, so timing does not tell which users exist.
func (f *File) Check(user string, password []byte) bool {
	hash, ok := f.users[user]
	if !ok {
		CheckHash("$7$101$AAAAAAAAAAAAAAAA$", password)
		return false
	}
	return CheckHash(hash, password)
}

// CheckHash compares password with one Mosquitto password hash.
func CheckHash(hash string, password []byte) bool {
	parts := strings.Split(hash, "$") // "", "7", iterations, salt, hash
	var want, got []byte
	switch {
	case len(parts) == 5 && parts[1] == "7":
		iter, err := strconv.Atoi(parts[2])
		salt, err2 := base64.StdEncoding.DecodeString(parts[3])
		want, _ = base64.StdEncoding.DecodeString(parts[4])
		if err != nil || err2 != nil || iter < 1 || iter > 1e6 {
			return false
		}
		got, err = pbkdf2.Key(sha512.New, string(password), salt, iter, sha512.Size)
		if err != nil {
			return false
		}
	case len(parts) == 4 && parts[1] == "6":
		salt, err := base64.StdEncoding.DecodeString(parts[2])
		if err != nil {
			return false
		}
		want, _ = base64.StdEncoding.DecodeString(parts[3])
		h := sha512.New()
		h.Write(password)
		h.Write(salt)
		got = h.Sum(nil)
	default:
		return false
	}
	return len(want) == len(got) && subtle.ConstantTimeCompare(want, got) == 1
}

// Hash makes a $7$ line's hash for password, as mosquitto_passwd does
// (101 iterations, 12-byte salt): for tests and for writing a file.
func Hash(password string) string {
	salt := make([]byte, 12)
	rand.Read(salt)
	key, _ := pbkdf2.Key(sha512.New, password, salt, 101, sha512.Size)
	return "$7$101$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(key)
}

// Watched is a password file read again when it changes (its size or
// time), so users added, removed or given a new password take effect
// without a restart. A file that no longer reads or parses keeps the last
// good users.
type Watched struct {
	path string

	mu   sync.Mutex
	f    *File
	mod  time.Time
	size int64
}

// Watch loads a password file; it must read and parse now.
func Watch(path string) (*Watched, error) {
	w := &Watched{path: path}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	if w.f, err = Load(path); err != nil {
		return nil, err
	}
	w.mod, w.size = st.ModTime(), st.Size()
	return w, nil
}

// current is the file's users as of now.
func (w *Watched) current() *File {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, err := os.Stat(w.path)
	if err != nil || (st.ModTime().Equal(w.mod) && st.Size() == w.size) {
		return w.f
	}
	if f, err := Load(w.path); err == nil {
		w.f, w.mod, w.size = f, st.ModTime(), st.Size()
	}
	return w.f
}

// Check is File.Check on the file as of now.
func (w *Watched) Check(user string, password []byte) bool { return w.current().Check(user, password) }

// Has is File.Has on the file as of now.
func (w *Watched) Has(user string) bool { return w.current().Has(user) }
