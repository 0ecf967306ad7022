package authz

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

var alice = Who{Principal: "User:alice", Host: "10.0.0.1"}
var bob = Who{Principal: "User:bob", Host: "10.0.0.2"}

func parse(t *testing.T, yaml string) *Authorizer {
	t.Helper()
	rules, err := ParseFile([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthorizer([]string{"admin"}, nil)
	a.file = rules
	a.setRulesLocked()
	return a
}

func TestKafkaSemantics(t *testing.T) {
	a := parse(t, `
acls:
  - {principal: "User:alice", resource: topic, name: orders., pattern: prefixed, operations: [read, write]}
  - {principal: "User:alice", resource: topic, name: orders.secret, operations: [read], permission: deny}
  - {principal: "User:*", resource: topic, name: public, operations: [read]}
  - {principal: "User:bob", resource: topic, name: "*", operations: [describe], host: 10.0.0.2}
  - {principal: "User:alice", resource: group, name: g1, operations: [read]}
  - {principal: "User:alice", resource: cluster, name: kafka-cluster, operations: [alter_configs]}
`)
	cases := []struct {
		who  Who
		op   Op
		res  Resource
		name string
		want bool
	}{
		{alice, Read, Topic, "orders.eu", true},
		{alice, Write, Topic, "orders.eu", true},
		{alice, Describe, Topic, "orders.eu", true}, // implied by read/write
		{alice, Delete, Topic, "orders.eu", false},
		{alice, Read, Topic, "orders.secret", false}, // deny wins
		{alice, Write, Topic, "orders.secret", true}, // only read denied
		{alice, Read, Topic, "ordersX", false},       // prefix "orders." not "orders"
		{alice, Read, Topic, "public", true},         // User:*
		{bob, Read, Topic, "public", true},
		{bob, Write, Topic, "public", false},
		{bob, Describe, Topic, "anything", true},                                    // name *
		{Who{Principal: "User:bob", Host: "10.9.9.9"}, Describe, Topic, "x", false}, // host
		{alice, Read, Group, "g1", true},
		{alice, Describe, Group, "g1", true},
		{alice, Read, Group, "g2", false},
		{alice, DescribeConfigs, Cluster, ClusterName, true}, // implied by alter_configs
		{alice, Alter, Cluster, ClusterName, false},
		{Who{Principal: "User:admin"}, Delete, Topic, "orders.secret", true}, // super user
		{Who{Principal: Anonymous}, Read, Topic, "orders.eu", false},
	}
	for _, c := range cases {
		if got := a.Allowed(c.who, c.op, c.res, c.name); got != c.want {
			t.Errorf("%s op %d on %d %q: got %v, want %v", c.who.Principal, c.op, c.res, c.name, got, c.want)
		}
	}
	// Asked twice, from the cache: the same answers.
	if a.Allowed(alice, Read, Topic, "orders.secret") || !a.Allowed(alice, Read, Topic, "orders.eu") {
		t.Fatal("cached answers differ")
	}
}

func TestPrefixAndAny(t *testing.T) {
	a := parse(t, `
acls:
  - {principal: "User:alice", resource: topic, name: site., pattern: prefixed, operations: [read]}
  - {principal: "User:alice", resource: topic, name: site.private, pattern: prefixed, operations: [read], permission: deny}
  - {principal: "User:bob", resource: topic, name: site.a, operations: [write]}
`)
	if !a.AllowedPrefix(alice, Read, Topic, "site.room1.") {
		t.Error("site.room1.* is inside the allowed prefix and outside the denied one")
	}
	if a.AllowedPrefix(alice, Read, Topic, "site.") {
		t.Error("site.* overlaps the denied site.private*")
	}
	if a.AllowedPrefix(alice, Read, Topic, "") {
		t.Error("every topic is more than site.*")
	}
	if a.AllowedPrefix(bob, Write, Topic, "site.") {
		t.Error("a literal allow does not cover a prefix")
	}
	if !a.AllowedAny(bob, Write, Topic) || a.AllowedAny(bob, Read, Topic) {
		t.Error("bob writes one topic and reads none")
	}
}

func TestFileErrors(t *testing.T) {
	for _, bad := range []string{
		"acls: [{principal: alice, resource: topic, name: t, operations: [read]}]",          // no User:
		"acls: [{principal: 'User:a', resource: queue, name: t, operations: [read]}]",       // resource
		"acls: [{principal: 'User:a', resource: topic, name: t, operations: [fly]}]",        // op
		"acls: [{principal: 'User:a', resource: group, name: g, operations: [write]}]",      // op of type
		"acls: [{principal: 'User:a', resource: cluster, name: c, operations: [alter]}]",    // cluster name
		"acls: [{principal: 'User:a', resource: topic, name: t}]",                           // no ops
		"acls: [{principal: 'User:a', resource: topic, name: '', operations: [read]}]",      // no name
		"acls: [{principal: 'User:a', resource: topic, name: t, operations: [read], x: 1}]", // unknown key
		"acls: [{principal: 'User:a', resource: topic, name: t, operations: [read], permission: maybe}]",
	} {
		if _, err := ParseFile([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if r, err := ParseFile(nil); err != nil || len(r) != 0 {
		t.Errorf("an empty file is no rules: %v %v", r, err)
	}
}

func TestFileChangesApply(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acl.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`acls: [{principal: "User:alice", resource: topic, name: t, operations: [read]}]`)
	a, err := New(Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if !a.Allowed(alice, Read, Topic, "t") {
		t.Fatal("not allowed from the file")
	}
	write(`acls: [{principal: "User:alice", resource: topic, name: t, operations: [read], permission: deny}, {principal: "User:alice", resource: topic, name: u, operations: [read]}]`)
	waitFor(t, func() bool { return !a.Allowed(alice, Read, Topic, "t") && a.Allowed(alice, Read, Topic, "u") })
	write(`acls: [{bad`) // keeps the last good rules
	time.Sleep(2 * fileCheckEvery)
	if !a.Allowed(alice, Read, Topic, "u") {
		t.Fatal("a broken file dropped the rules")
	}
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatal("timed out")
}

// Rules made on one authorizer hold on another on the same store, as on
// two gateways, and deleting them takes them back on both.
func TestStoredRulesShared(t *testing.T) {
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	open := func() *Authorizer {
		st, err := b.State(ctx, "acls")
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(Options{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		return a
	}
	one, two := open(), open()
	r := Rule{Principal: "User:alice", Host: Wildcard, Resource: Topic, Pattern: Literal, Name: "t", Op: Write, Permission: Allow}
	if err := one.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if !one.Allowed(alice, Write, Topic, "t") {
		t.Fatal("not allowed where made")
	}
	waitFor(t, func() bool { return two.Allowed(alice, Write, Topic, "t") })
	if err := one.Create(ctx, r); err != nil { // again: still one rule
		t.Fatal(err)
	}
	all := Filter{Resource: AnyResource, Pattern: AnyPattern, Op: AnyOp, Permission: AnyPermission}
	if n := len(one.Rules(all)); n != 1 {
		t.Fatalf("%d rules, want 1", n)
	}
	three := open() // a gateway started later reads what is stored
	if !three.Allowed(alice, Write, Topic, "t") {
		t.Fatal("a later gateway does not see the stored rule")
	}
	name := "t"
	gone, err := two.Delete(ctx, Filter{Resource: Topic, Name: &name, Pattern: Match, Op: AnyOp, Permission: AnyPermission})
	if err != nil || len(gone) != 1 {
		t.Fatalf("deleted %v, %v", gone, err)
	}
	waitFor(t, func() bool { return !one.Allowed(alice, Write, Topic, "t") })
	if err := one.Create(ctx, Rule{Principal: "alice", Host: "*", Resource: Topic, Pattern: Literal, Name: "t", Op: Read, Permission: Allow}); err == nil {
		t.Fatal("a principal without User: was stored")
	}
}

func TestFilterMatch(t *testing.T) {
	lit := Rule{Principal: "User:a", Host: "*", Resource: Topic, Pattern: Literal, Name: "orders", Op: Read, Permission: Allow}
	pre := Rule{Principal: "User:a", Host: "*", Resource: Topic, Pattern: Prefixed, Name: "ord", Op: Read, Permission: Allow}
	star := Rule{Principal: "User:a", Host: "*", Resource: Topic, Pattern: Literal, Name: "*", Op: Read, Permission: Allow}
	other := Rule{Principal: "User:a", Host: "*", Resource: Topic, Pattern: Literal, Name: "other", Op: Read, Permission: Allow}
	name := "orders"
	match := Filter{Resource: Topic, Name: &name, Pattern: Match, Op: AnyOp, Permission: AnyPermission}
	for _, c := range []struct {
		r    Rule
		want bool
	}{{lit, true}, {pre, true}, {star, true}, {other, false}} {
		if got := match.Matches(c.r); got != c.want {
			t.Errorf("MATCH orders on %q (%d): %v", c.r.Name, c.r.Pattern, got)
		}
	}
	literal := Filter{Resource: Topic, Name: &name, Pattern: Literal, Op: AnyOp, Permission: AnyPermission}
	if !literal.Matches(lit) || literal.Matches(pre) || literal.Matches(star) {
		t.Error("a LITERAL filter selects exactly its name")
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add([]byte(`acls: [{principal: "User:a", resource: topic, name: t, pattern: prefixed, operations: [read, all], permission: deny, host: 1.2.3.4}]`))
	f.Add([]byte("acls:\n  - principal: User:*\n    resource: cluster\n    name: kafka-cluster\n    operations: [idempotent_write]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseFile(data)
		if err != nil {
			return
		}
		for _, r := range rules {
			if err := r.Valid(); err != nil {
				t.Fatalf("parsed an invalid rule %+v: %v", r, err)
			}
		}
	})
}

// The README's example rule file is one this package reads.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\n# acls.yaml")
	if !ok {
		t.Fatal("README has no acls.yaml example")
	}
	_, rest, _ = strings.Cut(rest, "\n") // the comment line
	block, _, _ := strings.Cut(rest, "```")
	rules, err := ParseFile([]byte(block))
	if err != nil || len(rules) < 5 {
		t.Fatalf("README's acls.yaml: %d rules, %v", len(rules), err)
	}
}

// The cost of a check on a request's path: a cache hit, the common case.
func BenchmarkAllowedCached(b *testing.B) {
	rules, err := ParseFile([]byte(`acls: [{principal: "User:alice", resource: topic, name: orders., pattern: prefixed, operations: [read, write]}]`))
	if err != nil {
		b.Fatal(err)
	}
	a := newAuthorizer(nil, nil)
	a.file = rules
	a.setRulesLocked()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !a.Allowed(alice, Write, Topic, "orders.eu") {
				b.Fatal("denied")
			}
		}
	})
}

// A stored rule comes from another gateway, maybe of another version: any
// value is applied without a panic, and only a valid rule counts.
func FuzzStoredRule(f *testing.F) {
	good := Rule{Principal: "User:a", Host: Wildcard, Resource: Topic, Pattern: Literal, Name: "t", Op: Read, Permission: Allow}
	f.Add(good.key(), []byte(good.key()))
	f.Add("k", []byte(`{"principal":"User:a","resource":9,"op":3}`))
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		a := newAuthorizer(nil, nil)
		a.stored1(key, value)
		for _, r := range a.rules {
			if err := r.Valid(); err != nil {
				t.Fatalf("stored an invalid rule %+v: %v", r, err)
			}
		}
		a.stored1(key, nil)
		if len(a.rules) != 0 {
			t.Fatal("a deleted rule stays")
		}
	})
}

// RabbitMQ's permissions, as rabbitmqctl set_permissions gives them: a
// regex found anywhere in the name, per kind of access; "" is none.
func TestRabbitMQPermissions(t *testing.T) {
	a := parse(t, `
rabbitmq_permissions:
  - {user: alice, vhost: /, configure: "^alice-", write: ".*", read: "^(alice-|shared\\.)"}
  - {user: bob, vhost: /, configure: "", write: "", read: "^shared\\."}
acls:
  - {principal: "User:alice", resource: topic, name: "secret", pattern: regex, operations: [read], permission: deny}
`)
	bobWho := Who{Principal: "User:bob", Host: "h"}
	cases := []struct {
		who  Who
		op   Op
		res  Resource
		name string
		want bool
	}{
		{alice, Describe, VHost, "/", true},
		{alice, Describe, VHost, "other", false},
		{alice, Create, Topic, "alice-q", true},
		{alice, Delete, Exchange, "alice-x", true},
		{alice, Create, Topic, "bob-q", false},
		{alice, Create, Topic, "x-alice-q", false}, // anchored with ^
		{alice, Write, Exchange, "amq.topic", true},
		{alice, Write, Topic, "anything", true},
		{alice, Read, Topic, "shared.news", true},
		{alice, Read, Topic, "alice-secret", false}, // the deny regex finds "secret" anywhere
		{alice, Read, Topic, "bob-q", false},
		{bobWho, Read, Topic, "shared.news", true},
		{bobWho, Write, Topic, "shared.news", false}, // "" is no permission
		{bobWho, Create, Topic, "bob-q", false},
	}
	for _, c := range cases {
		if got := a.Allowed(c.who, c.op, c.res, c.name); got != c.want {
			t.Errorf("%s op %d on %d %q: got %v, want %v", c.who.Principal, c.op, c.res, c.name, got, c.want)
		}
	}
	// A regex that is not "everything" covers no MQTT wildcard; ".*" does.
	if a.AllowedPrefix(bobWho, Read, Topic, "shared.") {
		t.Error("a regex allow covered a prefix")
	}
	if !a.AllowedPrefix(alice, Write, Topic, "site.") {
		t.Error("write .* should cover every name")
	}
	if a.AllowedPrefix(alice, Read, Topic, "alice-") {
		t.Error("a regex deny may match under the prefix: refused")
	}
	if _, err := ParseFile([]byte(`rabbitmq_permissions: [{user: a, vhost: /, configure: "(", write: "", read: ""}]`)); err == nil {
		t.Error("a regex that does not compile was accepted")
	}
	if _, err := ParseFile([]byte(`rabbitmq_permissions: [{vhost: /, configure: ".*"}]`)); err == nil {
		t.Error("a permission without a user was accepted")
	}
}
