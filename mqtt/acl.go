package mqtt

import (
	"bufio"
	"fmt"
	"strings"
)

// acl is a Mosquitto acl_file: "topic [read|write|readwrite|deny] T" lines
// before any "user" line are anonymous clients' rules, after "user NAME"
// that user's; "pattern [access] T" lines apply to every client, with %u
// the username and %c the client id. What no rule grants is denied.
type acl struct {
	anonymous []aclRule
	users     map[string][]aclRule
	patterns  []aclRule
}

type aclRule struct {
	filter string
	read   bool
	write  bool
	deny   bool
}

func parseACL(text string) (*acl, error) {
	a := &acl{users: map[string][]aclRule{}}
	var user *string
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		kind, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch kind {
		case "user":
			if rest == "" {
				return nil, fmt.Errorf("line %d: user without a name", n)
			}
			u := rest
			user = &u
			continue
		case "topic", "pattern":
		default:
			return nil, fmt.Errorf("line %d: %q: want user, topic or pattern", n, kind)
		}
		r := aclRule{read: true, write: true}
		access, filter, _ := strings.Cut(rest, " ")
		switch access {
		case "read":
			r.write = false
		case "write":
			r.read = false
		case "readwrite":
		case "deny":
			r.deny = true
		default:
			filter = rest // "topic T": read and write
		}
		r.filter = strings.TrimSpace(filter)
		if r.filter == "" {
			return nil, fmt.Errorf("line %d: %s without a topic", n, kind)
		}
		switch {
		case kind == "pattern":
			a.patterns = append(a.patterns, r)
		case user == nil:
			a.anonymous = append(a.anonymous, r)
		default:
			a.users[*user] = append(a.users[*user], r)
		}
	}
	return a, nil
}

// allowed tells whether client id, logged in as user (hasUser false:
// anonymous), may publish to topic (write) or subscribe to filter. A
// subscription needs a read rule covering every topic its filter matches,
// and no deny rule that overlaps it: messages are not checked one by one.
func (a *acl) allowed(user string, hasUser bool, id, topic string, write bool) bool {
	if a == nil {
		return true
	}
	rules := a.anonymous
	if hasUser {
		rules = a.users[user]
	}
	granted := false
	check := func(r aclRule, filter string) bool {
		if r.deny {
			if write && MatchFilter(filter, topic) || !write && filtersOverlap(filter, topic) {
				return false
			}
		} else if write && r.write && MatchFilter(filter, topic) || !write && r.read && filterCovers(filter, topic) {
			granted = true
		}
		return true
	}
	for _, r := range rules {
		if !check(r, r.filter) {
			return false
		}
	}
	for _, r := range a.patterns {
		f, ok := substitute(r.filter, user, hasUser, id)
		if ok && !check(r, f) {
			return false
		}
	}
	return granted
}

// substitute fills %u and %c in a pattern; false when it cannot apply: no
// username for %u, or a value that would reach into other levels.
func substitute(pattern, user string, hasUser bool, id string) (string, bool) {
	if strings.Contains(pattern, "%u") {
		if !hasUser || strings.ContainsAny(user, "+#/") {
			return "", false
		}
		pattern = strings.ReplaceAll(pattern, "%u", user)
	}
	if strings.Contains(pattern, "%c") {
		if strings.ContainsAny(id, "+#/") {
			return "", false
		}
		pattern = strings.ReplaceAll(pattern, "%c", id)
	}
	return pattern, true
}

// filterCovers tells whether every topic filter f matches is matched by
// rule r: "a/#" covers "a/+/b" and "a/#"; "a/+" does not cover "a/#".
func filterCovers(r, f string) bool {
	rl, fl := strings.Split(r, "/"), strings.Split(f, "/")
	for i, l := range rl {
		if l == "#" {
			return i > 0 || !strings.HasPrefix(f, "$")
		}
		if i >= len(fl) {
			return false
		}
		switch {
		case fl[i] == "#":
			return false
		case l == "+":
			if i == 0 && strings.HasPrefix(fl[i], "$") {
				return false // wildcards do not reach $SYS and the like
			}
		case l != fl[i]:
			return false
		}
	}
	return len(rl) == len(fl)
}

// filtersOverlap tells whether some topic matches both filters.
func filtersOverlap(a, b string) bool {
	al, bl := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(al) && i < len(bl); i++ {
		x, y := al[i], bl[i]
		if x == "#" || y == "#" {
			return true
		}
		if x != "+" && y != "+" && x != y {
			return false
		}
	}
	return len(al) == len(bl) ||
		len(al) == len(bl)+1 && al[len(bl)] == "#" ||
		len(bl) == len(al)+1 && bl[len(al)] == "#"
}
