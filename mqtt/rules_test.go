package mqtt

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
)

// The gateway's one rule set seen from MQTT: a/b is the topic a.b, so a
// user allowed to read orders.eu subscribes to orders/eu; wildcards need
// READ on every name they can match.
const mqttRules = `
acls:
  - {principal: "User:dev", resource: topic, name: orders.eu, operations: [read, write]}
  - {principal: "User:dev", resource: topic, name: site., pattern: prefixed, operations: [read]}
  - {principal: "User:dev", resource: topic, name: site.private., pattern: prefixed, operations: [read], permission: deny}
  - {principal: "User:admin", resource: topic, name: "*", operations: [all]}
`

func rulesAuth(t *testing.T) *Auth {
	t.Helper()
	dir := t.TempDir()
	pw, rf := filepath.Join(dir, "passwd"), filepath.Join(dir, "acl.yaml")
	if err := os.WriteFile(pw, []byte(mosquittoPasswd+sha512Line("admin", "root")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rf, []byte(mqttRules), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := authz.New(authz.Options{File: rf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rules.Close)
	a, err := LoadAuth(pw, "", false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a.WithRules(rules)
}

func TestRulesEnforced(t *testing.T) {
	g := startGateway(t, "", func(o *Options) { o.Auth = rulesAuth(t) })
	admin := login5(t, g, "admin", "admin", "root")
	admin.sub(t, "#", 1)
	dev := login5(t, g, "dev5", "dev", "s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	sa, err := dev.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "orders/eu", QoS: 1},    // allowed: orders.eu
		{Topic: "orders/us", QoS: 1},    // no rule
		{Topic: "site/+/temp", QoS: 1},  // would match site/private/temp
		{Topic: "site/room1/+", QoS: 1}, // every site.room1.* name
		{Topic: "site/#", QoS: 1},       // overlaps the denied site.private.*
		{Topic: "#", QoS: 1},            // far more than site.*
		{Topic: "site/room1/#", QoS: 1}, // site.room1 and site.room1.*
		{Topic: "$share/g/orders/eu", QoS: 1},
	}})
	if sa == nil {
		t.Fatal(err)
	}
	want := []byte{1, 0x87, 0x87, 1, 0x87, 0x87, 1, 1}
	for i, w := range want {
		if sa.Reasons[i] != w {
			t.Fatalf("SUBACK %#v, want %#v", sa.Reasons, want)
		}
	}
	r, _ := dev.Publish(ctx, &paho.Publish{Topic: "site/room1/temp", QoS: 1, Payload: []byte("read only")})
	if r == nil || r.ReasonCode != 0x87 {
		t.Fatalf("publish without WRITE: %+v, want PUBACK 0x87", r)
	}
	r, _ = dev.Publish(ctx, &paho.Publish{Topic: "orders/eu", QoS: 1, Payload: []byte("o1")})
	if r == nil || r.ReasonCode != 0 {
		t.Fatalf("publish with WRITE: %+v", r)
	}
	if m := expect(t, admin.got, 1)[0]; m.payload != "o1" {
		t.Fatalf("admin got %+v, want only the allowed message", m)
	}
	got := payloads(expect(t, dev.got, 2)) // orders/eu and $share/g/orders/eu
	if got[0] != "o1" || got[1] != "o1" {
		t.Fatalf("dev got %v", got)
	}
	expectNone(t, admin.got, 300*time.Millisecond)
}

// Without a checked login the rules see an anonymous client, whatever
// username it gives.
func TestRulesPrincipalNeedsALogin(t *testing.T) {
	rules, err := authz.New(authz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := (*Auth)(nil).WithRules(rules)
	if p := a.principal("admin", true); p != authz.Anonymous {
		t.Fatalf("an unchecked username is %q, want anonymous", p)
	}
}
