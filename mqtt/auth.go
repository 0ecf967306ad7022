package mqtt

import (
	"fmt"
	"os"

	"github.com/pulsar-gateway/pulsar-gateway/passwd"
)

// Auth is who may connect and what each client may publish and subscribe
// to, in Mosquitto's formats, so that a Mosquitto site keeps its files: a
// password_file as mosquitto_passwd writes it and an acl_file (acl.go).
// A nil *Auth lets every client do everything.
type Auth struct {
	users     *passwd.File // nil: any login
	anonymous bool         // with users: clients without a username connect
	acl       *acl         // nil: no restriction
}

// LoadAuth reads the files; both empty is nil (authentication off).
func LoadAuth(passwordFile, aclFile string, allowAnonymous bool) (*Auth, error) {
	if passwordFile == "" && aclFile == "" {
		return nil, nil
	}
	read := func(path string) (string, error) {
		if path == "" {
			return "", nil
		}
		b, err := os.ReadFile(path)
		return string(b), err
	}
	pw, err := read(passwordFile)
	if err != nil {
		return nil, fmt.Errorf("mqtt: password file: %w", err)
	}
	acls, err := read(aclFile)
	if err != nil {
		return nil, fmt.Errorf("mqtt: acl file: %w", err)
	}
	a, err := NewAuth(pw, passwordFile != "", acls, aclFile != "", allowAnonymous)
	if err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	return a, nil
}

// NewAuth parses a password file's and an ACL file's contents; a false
// has* leaves that part off (any login; no restriction).
func NewAuth(passwords string, hasPasswords bool, acls string, hasACL bool, allowAnonymous bool) (*Auth, error) {
	a := &Auth{anonymous: allowAnonymous}
	if hasPasswords {
		var err error
		if a.users, err = passwd.Parse(passwords); err != nil {
			return nil, fmt.Errorf("password file %w", err)
		}
	}
	if hasACL {
		var err error
		if a.acl, err = parseACL(acls); err != nil {
			return nil, fmt.Errorf("acl file %w", err)
		}
	}
	return a, nil
}

// login checks a CONNECT's credentials: ok, or whether the refusal is for
// bad credentials (rather than no credentials where they are required).
func (a *Auth) login(user string, hasUser bool, password []byte) (ok, badCredentials bool) {
	if a == nil || a.users == nil {
		return true, false
	}
	if !hasUser {
		return a.anonymous, false
	}
	return a.users.Check(user, password), true
}
