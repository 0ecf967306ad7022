// Package authz is the gateway's one rule set: who may do what to which
// resource, for Kafka, MQTT and AMQP alike. A rule is a Kafka ACL
// (principal, host, resource type, pattern, name, operation, allow or deny)
// so kafka-acls manages it as on Kafka; MQTT topics and AMQP queues are the
// same topic resources under their mapped names (DESIGN.md, names across
// protocols), and AMQP's vhosts and exchanges are resource types of their
// own.
//
// Evaluation is Kafka's (AclAuthorizer): super users may do everything; a
// matching deny wins; otherwise a matching allow of the operation (or ALL,
// or one that implies it) grants; nothing else does. Rules come from a
// file (auth.acl_file, read again when it changes) and from a state table
// every gateway shares, where CreateAcls puts them.
package authz

import (
	"os"
	"regexp"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// Resource is a resource type; Kafka's codes, and AMQP's types past them.
type Resource int8

// Resource types. Topic, Group, Cluster and TransactionalID are Kafka's
// (kmsg.ACLResourceType); VHost and Exchange are AMQP's, which Kafka
// clients neither see nor create.
const (
	AnyResource     Resource = 1
	Topic           Resource = 2
	Group           Resource = 3
	Cluster         Resource = 4
	TransactionalID Resource = 5
	VHost           Resource = 64
	Exchange        Resource = 65
)

// Pattern is how a rule's name matches.
type Pattern int8

// Kafka's pattern types; AnyPattern and Match only in filters.
const (
	AnyPattern Pattern = 1
	Match      Pattern = 2
	Literal    Pattern = 3
	Prefixed   Pattern = 4
	// Regex is the gateway's own (RabbitMQ's permissions): the name is a
	// regular expression found anywhere in a resource's name, as RabbitMQ
	// matches its permission regexes ("^orders\\." for names starting
	// orders.). Only the rule file has it; Kafka's ACL APIs neither show
	// nor make it.
	Regex Pattern = 64
)

// Op is an operation: Kafka's codes (kmsg.ACLOperation).
type Op int8

// Operations.
const (
	AnyOp           Op = 1
	All             Op = 2
	Read            Op = 3
	Write           Op = 4
	Create          Op = 5
	Delete          Op = 6
	Alter           Op = 7
	Describe        Op = 8
	ClusterAction   Op = 9
	DescribeConfigs Op = 10
	AlterConfigs    Op = 11
	IdempotentWrite Op = 12
)

// Permission is allow or deny.
type Permission int8

// Kafka's permission types; AnyPermission only in filters.
const (
	AnyPermission Permission = 1
	Deny          Permission = 2
	Allow         Permission = 3
)

// ClusterName is the one cluster resource's name, as Kafka's.
const ClusterName = "kafka-cluster"

// Wildcard is the name matching every resource, and with "User:" every
// principal; as a host, every host.
const Wildcard = "*"

// Anonymous is the principal of a client that did not log in.
const Anonymous = "User:ANONYMOUS"

// Principal is the principal of a user name: "User:name".
func Principal(user string) string { return "User:" + user }

// Rule is one ACL.
type Rule struct {
	Principal  string     `json:"principal"` // "User:alice", "User:*"
	Host       string     `json:"host"`      // "*" or an address
	Resource   Resource   `json:"resource"`
	Pattern    Pattern    `json:"pattern"`
	Name       string     `json:"name"`
	Op         Op         `json:"op"`
	Permission Permission `json:"permission"`
}

// Who is the subject of a check: a principal from a host.
type Who struct {
	Principal string
	Host      string
}

// Authorizer answers checks from its rules. A nil *Authorizer is
// authorization off: everything is allowed.
type Authorizer struct {
	super map[string]bool // principals
	log   *zap.Logger

	path      string      // the rule file, "" for none
	fileStat  os.FileInfo // as last read; followFile's own
	store     Store
	stopWatch func()
	quit      chan struct{}
	closeOnce sync.Once

	mu     sync.RWMutex
	file   []Rule
	stored map[string]Rule // by key (store.go)
	rules  []Rule          // file and stored: what checks see
	gen    uint64          // counts changes of rules
	cache  map[check]bool  // answers for rules of this gen
}

type check struct {
	who  Who
	op   Op
	res  Resource
	name string
	kind uint8 // 0 one name, 1 every name with the prefix, 2 any name
}

// maxCache bounds the answers kept; past it the cache starts again.
const maxCache = 1 << 16

func newAuthorizer(superUsers []string, log *zap.Logger) *Authorizer {
	if log == nil {
		log = zap.NewNop()
	}
	a := &Authorizer{super: map[string]bool{}, log: log, stored: map[string]Rule{}, cache: map[check]bool{}}
	for _, u := range superUsers {
		a.super[Principal(u)] = true
	}
	return a
}

// setRulesLocked rebuilds what checks see, after the file or the store changed.
func (a *Authorizer) setRulesLocked() {
	rules := make([]Rule, 0, len(a.file)+len(a.stored))
	rules = append(rules, a.file...)
	for _, r := range a.stored {
		rules = append(rules, r)
	}
	a.rules = rules
	a.gen++
	clear(a.cache)
}

// Super reports whether a principal is a super user.
func (a *Authorizer) Super(principal string) bool { return a == nil || a.super[principal] }

// Allowed tells whether who may do op on the resource named name.
func (a *Authorizer) Allowed(who Who, op Op, res Resource, name string) bool {
	return a.decide(check{who: who, op: op, res: res, name: name})
}

// AllowedPrefix tells whether who may do op on every resource whose name
// starts with prefix (an MQTT wildcard subscription): an allow covering
// all of them, and no deny that could match one of them.
func (a *Authorizer) AllowedPrefix(who Who, op Op, res Resource, prefix string) bool {
	return a.decide(check{who: who, op: op, res: res, name: prefix, kind: 1})
}

// AllowedAny tells whether who may do op on some resource of the type
// (KIP-679: WRITE on any topic lets a producer be idempotent).
func (a *Authorizer) AllowedAny(who Who, op Op, res Resource) bool {
	return a.decide(check{who: who, op: op, res: res, kind: 2})
}

func (a *Authorizer) decide(c check) bool {
	if a == nil || a.super[c.who.Principal] {
		return true
	}
	a.mu.RLock()
	ok, hit := a.cache[c]
	rules, gen := a.rules, a.gen
	a.mu.RUnlock()
	if hit {
		return ok
	}
	ok = evaluate(rules, c)
	a.mu.Lock()
	if len(a.cache) >= maxCache {
		clear(a.cache)
	}
	if a.gen == gen {
		a.cache[c] = ok // not if the rules changed meanwhile
	}
	a.mu.Unlock()
	if !ok {
		a.log.Debug("denied", zap.String("principal", c.who.Principal), zap.String("host", c.who.Host),
			zap.Int8("op", int8(c.op)), zap.Int8("resource", int8(c.res)), zap.String("name", c.name))
	}
	return ok
}

func evaluate(rules []Rule, c check) bool {
	allowed := false
	for _, r := range rules {
		if r.Resource != c.res || !r.appliesTo(c.who) {
			continue
		}
		switch r.Permission {
		case Deny:
			if (r.Op == c.op || r.Op == All) && r.mayMatch(c) {
				return false
			}
		case Allow:
			if !allowed && grants(r.Op, c.op) && r.covers(c) {
				allowed = true
			}
		}
	}
	return allowed
}

func (r Rule) appliesTo(who Who) bool {
	return (r.Principal == who.Principal || r.Principal == "User:"+Wildcard) &&
		(r.Host == Wildcard || r.Host == who.Host)
}

// grants tells whether allowing have allows want: itself, ALL, and the
// implications Kafka makes (READ, WRITE, DELETE and ALTER imply DESCRIBE;
// ALTER_CONFIGS implies DESCRIBE_CONFIGS).
func grants(have, want Op) bool {
	switch {
	case have == want || have == All:
		return true
	case want == Describe:
		return have == Read || have == Write || have == Delete || have == Alter
	case want == DescribeConfigs:
		return have == AlterConfigs
	}
	return false
}

// matchesName tells whether the rule matches one name.
func (r Rule) matchesName(name string) bool {
	switch r.Pattern {
	case Prefixed:
		return strings.HasPrefix(name, r.Name)
	case Regex:
		re := compiled(r.Name)
		return re != nil && re.MatchString(name)
	}
	return r.Name == Wildcard || r.Name == name
}

// regexps are the rules' compiled regular expressions, by source: the rule
// file's only (CreateAcls makes none), so they stay few.
var regexps sync.Map

// compiled is expr compiled (nil: it does not compile; Valid refuses it).
func compiled(expr string) *regexp.Regexp {
	if re, ok := regexps.Load(expr); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil
	}
	regexps.Store(expr, re)
	return re
}

// matchesAll tells whether a rule matches every name: "*", an empty
// prefix, or a regex that matches anything (RabbitMQ's ".*").
func (r Rule) matchesAll() bool {
	switch r.Pattern {
	case Prefixed:
		return r.Name == ""
	case Regex:
		switch r.Name {
		case ".*", "^.*", ".*$", "^.*$":
			return true
		}
		return false
	}
	return r.Name == Wildcard
}

// covers tells whether the rule matches every name the check is about.
func (r Rule) covers(c check) bool {
	switch c.kind {
	case 1:
		return r.matchesAll() || r.Pattern == Prefixed && strings.HasPrefix(c.name, r.Name)
	case 2:
		return true
	}
	return r.matchesName(c.name)
}

// mayMatch tells whether the rule matches some name the check is about.
// A deny never matches "any name": one topic denied leaves the others.
func (r Rule) mayMatch(c check) bool {
	switch c.kind {
	case 1:
		switch r.Pattern {
		case Prefixed:
			return strings.HasPrefix(c.name, r.Name) || strings.HasPrefix(r.Name, c.name)
		case Regex:
			return true // it may match some name with the prefix: deny
		}
		return r.Name == Wildcard || strings.HasPrefix(r.Name, c.name)
	case 2:
		return r.matchesAll()
	}
	return r.matchesName(c.name)
}
