package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// SCRAM users as kafka-configs manages them: a super user adds alice's
// SCRAM-SHA-256 and -512 credentials through one gateway; she logs in with
// either through the other, a wrong password or an unknown user is
// SASL_AUTHENTICATION_FAILED, a user who is no super user may neither
// change nor list credentials, and a deleted credential stops working.
func TestSCRAMUsers(t *testing.T) {
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	plainUsers := map[string]string{"admin": "admin-secret", "bob": "bob-secret"}
	set := func(o *Options) {
		o.Authenticate = func(user, password string) bool { p, ok := plainUsers[user]; return ok && p == password }
		o.SuperUsers = []string{"admin"}
	}
	a, other := serveWith(t, b, set), serveWith(t, b, set)
	ctx := testCtx(t)
	admin := kadm.NewClient(newClient(t, a, kgo.SASL(plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism())))
	altered, err := admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "alice-pw"},
		{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "alice-pw"},
	})
	if err != nil || altered.Error() != nil {
		t.Fatalf("adding alice: %v %v", err, altered.Error())
	}
	login := func(addr string, m sasl.Mechanism) error {
		cl := newClient(t, addr, kgo.SASL(m), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
		defer cl.Close()
		return cl.Ping(shortCtx(t))
	}
	alice := scram.Auth{User: "alice", Pass: "alice-pw"}
	for name, m := range map[string]sasl.Mechanism{"SHA-256": alice.AsSha256Mechanism(), "SHA-512": alice.AsSha512Mechanism()} {
		if err := login(other, m); err != nil {
			t.Errorf("alice with SCRAM-%s through the other gateway: %v", name, err)
		}
	}
	for what, m := range map[string]sasl.Mechanism{
		"a wrong password":  scram.Auth{User: "alice", Pass: "nope"}.AsSha256Mechanism(),
		"an unknown user":   scram.Auth{User: "mallory", Pass: "alice-pw"}.AsSha512Mechanism(),
		"a PLAIN-only user": scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha256Mechanism(),
	} {
		if err := login(a, m); !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Errorf("SCRAM with %s: %v, want SASL_AUTHENTICATION_FAILED", what, err)
		}
	}

	described, err := admin.DescribeUserSCRAMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := described["alice"]; len(d.CredInfos) != 2 || d.CredInfos[0].Iterations != 4096 || d.CredInfos[1].Iterations != 8192 {
		t.Fatalf("alice described: %+v", d)
	}
	if d, err := admin.DescribeUserSCRAMs(ctx, "nobody"); err != nil || !errors.Is(d["nobody"].Err, kerr.ResourceNotFound) {
		t.Fatalf("describing an unknown user: %+v %v, want RESOURCE_NOT_FOUND", d, err)
	}

	bob := kadm.NewClient(newClient(t, a, kgo.SASL(plain.Auth{User: "bob", Pass: "bob-secret"}.AsMechanism())))
	altered, err = bob.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "taken"}})
	if !errors.Is(err, kerr.ClusterAuthorizationFailed) && !errors.Is(altered["alice"].Err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("bob changing alice's password: %+v %v, want CLUSTER_AUTHORIZATION_FAILED", altered, err)
	}
	if _, err := bob.DescribeUserSCRAMs(ctx); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("bob listing credentials: %v, want CLUSTER_AUTHORIZATION_FAILED", err)
	}
	if err := login(a, alice.AsSha256Mechanism()); err != nil {
		t.Fatalf("alice after bob's attempt: %v", err)
	}

	// kadm checks the bounds itself; a raw request as other clients send it.
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	up.Name, up.Mechanism, up.Iterations, up.Salt, up.SaltedPassword = "carol", 1, 1000, []byte("salt"), make([]byte, 32)
	req.Upsertions = append(req.Upsertions, up, up)
	resp, err := req.RequestWith(ctx, newClient(t, a, kgo.SASL(plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism())))
	if err != nil || len(resp.Results) != 1 || resp.Results[0].ErrorCode != kerr.DuplicateResource.Code {
		t.Fatalf("one credential twice in a request: %+v %v, want DUPLICATE_RESOURCE", resp, err)
	}
	req.Upsertions = req.Upsertions[:1]
	resp, err = req.RequestWith(ctx, newClient(t, a, kgo.SASL(plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism())))
	if err != nil || len(resp.Results) != 1 || resp.Results[0].ErrorCode != kerr.UnacceptableCredential.Code {
		t.Fatalf("1000 iterations: %+v %v, want UNACCEPTABLE_CREDENTIAL", resp, err)
	}
	altered, err = admin.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "alice", Mechanism: kadm.ScramSha512}}, nil)
	if err != nil || altered.Error() != nil {
		t.Fatalf("deleting alice's SHA-512: %v %v", err, altered.Error())
	}
	if err := login(other, alice.AsSha512Mechanism()); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("a deleted credential: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if err := login(other, alice.AsSha256Mechanism()); err != nil {
		t.Errorf("the credential left: %v", err)
	}
}

// Whatever a client sends as SCRAM messages, the server answers or fails,
// never panics, and never lets a login through without the password.
func FuzzSCRAMConversation(f *testing.F) {
	f.Add("n,,n=alice,r=abc", "c=biws,r=abcdef,p=AAAA")
	f.Add("n,a=bob,n=alice,r=x", "")
	f.Add("", "c=biws")
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	defer b.Close()
	t, err := b.State(context.Background(), scramTable)
	if err != nil {
		f.Fatal(err)
	}
	creds := scramCreds{t}
	m, _ := scramByName("SCRAM-SHA-256")
	if err := creds.put(context.Background(), "alice", m, newScramCred(m, []byte("salt"), make([]byte, 32), 4096)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, first, final string) {
		srv := &scramServer{m: m, creds: creds}
		if _, _, err := srv.step(first); err != nil {
			return
		}
		if _, _, err := srv.step(final); err == nil {
			t.Fatalf("a login went through with %q, %q", first, final)
		}
	})
}
