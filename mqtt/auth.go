package mqtt

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/jwtauth"
	"github.com/pulsar-gateway/pulsar-gateway/passwd"
)

// Auth is who may connect and what each client may publish and subscribe
// to, in Mosquitto's formats, so that a Mosquitto site keeps its files: a
// password_file as mosquitto_passwd writes it and an acl_file (acl.go).
// A nil *Auth lets every client do everything.
type Auth struct {
	users     checker           // nil: any login (unless tokens)
	tokens    Tokens            // nil: no token logins
	anonymous bool              // with users or tokens: clients without a username connect
	identity  bool              // a client certificate's CN is the username (use_identity_as_username)
	acl       *acl              // nil: no restriction
	rules     *authz.Authorizer // the gateway's one rule set; nil: off
}

// WithRules makes the gateway's one rule set apply too (nil: it is off):
// a PUBLISH needs WRITE and a SUBSCRIBE READ on the topics' mapped names
// (a/b is the topic a.b), besides what the ACL file says.
func (a *Auth) WithRules(rules *authz.Authorizer) *Auth {
	if rules == nil {
		return a
	}
	if a == nil {
		a = &Auth{anonymous: true}
	}
	a.rules = rules
	return a
}

// principal is who the rules see: the username only when a login checked
// it (a password, a token or a certificate), else anonymous.
func (a *Auth) principal(user string, hasUser bool) string {
	if hasUser && (a.users != nil || a.tokens != nil || a.identity) {
		return authz.Principal(user)
	}
	return authz.Anonymous
}

// ruleAllows checks a publish (write) to a topic or a subscription to a
// filter against the rule set. A filter with wildcards needs READ on every
// name it can match: "a/#" on a.b and on every a.* name, "a/+/c" on every
// a.* name.
func (a *Auth) ruleAllows(who authz.Who, topic string, write bool) bool {
	if a.rules == nil {
		return true
	}
	if write || !HasWildcards(topic) {
		name, err := EncodeTopic(topic)
		if err != nil {
			return false
		}
		op := authz.Read
		if write {
			op = authz.Write
		}
		return a.rules.Allowed(who, op, authz.Topic, name)
	}
	levels := strings.Split(topic, "/")
	i := slices.IndexFunc(levels, func(l string) bool { return l == "+" || l == "#" })
	if i == 0 {
		return a.rules.AllowedPrefix(who, authz.Read, authz.Topic, "")
	}
	head := encodeBytes(strings.Join(levels[:i], "/"), true)
	if levels[i] == "#" && !a.rules.Allowed(who, authz.Read, authz.Topic, head) {
		return false // "a/#" matches a itself
	}
	return a.rules.AllowedPrefix(who, authz.Read, authz.Topic, head+".")
}

// checker checks a password: a password file, as read once or watched.
type checker interface {
	Check(user string, password []byte) bool
}

// Tokens checks a JWT given as the password (device fleets): it must be
// valid and its subject the CONNECT's username.
type Tokens interface {
	Validate(token string) (principal string, err error)
}

// LoadAuth reads the files, watching the password file for changes (users
// added or removed take effect at the next CONNECT); all off is nil
// (authentication off).
//
// With useIdentity the CN of the client's certificate (the listener
// requires one) is the username, as Mosquitto's use_identity_as_username:
// the client is logged in by its certificate, the CONNECT's username and
// password are not used.
func LoadAuth(passwordFile, aclFile string, allowAnonymous, useIdentity bool, tokens Tokens) (*Auth, error) {
	if passwordFile == "" && aclFile == "" && tokens == nil && !useIdentity {
		return nil, nil
	}
	read := func(path string) (string, error) {
		if path == "" {
			return "", nil
		}
		b, err := os.ReadFile(path)
		return string(b), err
	}
	acls, err := read(aclFile)
	if err != nil {
		return nil, fmt.Errorf("mqtt: acl file: %w", err)
	}
	a, err := NewAuth("", false, acls, aclFile != "", allowAnonymous)
	if err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	if passwordFile != "" {
		w, err := passwd.Watch(passwordFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: %w", err)
		}
		a.users = w
	}
	a.tokens, a.identity = tokens, useIdentity
	return a, nil
}

// NewAuth parses a password file's and an ACL file's contents; a false
// has* leaves that part off (any login; no restriction).
func NewAuth(passwords string, hasPasswords bool, acls string, hasACL bool, allowAnonymous bool) (*Auth, error) {
	a := &Auth{anonymous: allowAnonymous}
	if hasPasswords {
		f, err := passwd.Parse(passwords)
		if err != nil {
			return nil, fmt.Errorf("password file %w", err)
		}
		a.users = f
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
	if a == nil || (a.users == nil && a.tokens == nil) {
		return true, false
	}
	if !hasUser {
		return a.anonymous, false
	}
	if a.tokens != nil && jwtauth.LooksLikeJWT(string(password)) {
		sub, err := a.tokens.Validate(string(password))
		return err == nil && sub == user, true
	}
	if a.users == nil {
		return false, true
	}
	return a.users.Check(user, password), true
}
