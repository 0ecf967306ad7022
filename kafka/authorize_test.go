package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"go.uber.org/zap/zaptest"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// aclRules: alice reads and writes orders.*, may not read orders.secret,
// consumes in group g1 and produces transactionally as t1; bob may only
// describe orders.eu; admin is a super user.
const aclRules = `
acls:
  - {principal: "User:alice", resource: topic, name: orders., pattern: prefixed, operations: [read, write]}
  - {principal: "User:alice", resource: topic, name: orders.secret, operations: [read], permission: deny}
  - {principal: "User:alice", resource: group, name: g1, operations: [read]}
  - {principal: "User:alice", resource: transactional_id, name: t1, operations: [write]}
  - {principal: "User:bob", resource: topic, name: orders.eu, operations: [describe]}
`

// startAuthzGateway serves Kafka with PLAIN logins and the rules above,
// and returns a client per user.
func startAuthzGateway(t *testing.T) (addr string, login func(user string, opts ...kgo.Opt) *kgo.Client) {
	t.Helper()
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	rules, err := authz.ParseFile([]byte(aclRules))
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.State(context.Background(), "acls")
	if err != nil {
		t.Fatal(err)
	}
	az, err := authz.New(authz.Options{SuperUsers: []string{"admin"}, Store: st, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(az.Close)
	for _, r := range rules {
		if err := az.Create(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	addr = serveWith(t, b, func(o *Options) {
		o.Authenticate = func(user, password string) bool { return password == user+"-pw" }
		o.Authz = az
		o.SuperUsers = []string{"admin"}
		o.DisableAutoCreate = true
	})
	login = func(user string, opts ...kgo.Opt) *kgo.Client {
		return newClient(t, addr, append(opts, kgo.SASL(plain.Auth{User: user, Pass: user + "-pw"}.AsMechanism()))...)
	}
	admin := kadm.NewClient(login("admin"))
	for _, topic := range []string{"orders.eu", "orders.secret", "payments"} {
		if _, err := admin.CreateTopic(testCtx(t), 1, -1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	return addr, login
}

func TestAuthorizationProduceConsume(t *testing.T) {
	_, login := startAuthzGateway(t)
	alice := login("alice", kgo.RecordRetries(1), kgo.RequestRetries(1))
	ctx := testCtx(t)
	if err := alice.ProduceSync(ctx, &kgo.Record{Topic: "orders.eu", Value: []byte("o1")}).FirstErr(); err != nil {
		t.Fatalf("alice writes orders.eu: %v", err)
	}
	err := alice.ProduceSync(ctx, &kgo.Record{Topic: "payments", Value: []byte("p")}).FirstErr()
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("alice writes payments: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	// Her group reads what she wrote; orders.secret is denied to her.
	cons := login("alice", kgo.ConsumeTopics("orders.eu"), kgo.ConsumerGroup("g1"), kgo.DisableAutoCommit())
	got := consume(t, cons, 1)
	if string(got[0].Value) != "o1" {
		t.Fatalf("consumed %q", got[0].Value)
	}
	if err := cons.CommitRecords(ctx, got...); err != nil {
		t.Fatalf("commit in g1: %v", err)
	}
	denied := login("alice", kgo.ConsumeTopics("orders.secret"), kgo.ConsumePartitions(nil))
	fetches := denied.PollFetches(shortCtx(t))
	if err := fetches.Err(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("alice reads orders.secret: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	other := login("alice", kgo.ConsumeTopics("orders.eu"), kgo.ConsumerGroup("g2"))
	fetches = other.PollFetches(shortCtx(t))
	if err := fetches.Err(); !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Fatalf("alice joins g2: %v, want GROUP_AUTHORIZATION_FAILED", err)
	}
}

func TestAuthorizationMetadataFiltered(t *testing.T) {
	_, login := startAuthzGateway(t)
	ctx := testCtx(t)
	list := func(user string) []string {
		topics, err := kadm.NewClient(login(user)).ListTopics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return topics.Names()
	}
	if got := list("bob"); !slices.Equal(got, []string{"orders.eu"}) {
		t.Fatalf("bob sees %v, want only orders.eu", got)
	}
	if got := list("alice"); !slices.Equal(got, []string{"orders.eu", "orders.secret"}) {
		t.Fatalf("alice sees %v (write implies describe), want orders.*", got)
	}
	if got := list("admin"); len(got) != 3 {
		t.Fatalf("the super user sees %v, want all 3", got)
	}
	// Asked by name, a topic bob may not describe is refused, not hidden.
	if _, err := kadm.NewClient(login("bob")).Metadata(ctx, "payments"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("bob's metadata of payments: %v", err)
	}
	// Nor may he create one.
	_, err := kadm.NewClient(login("bob")).CreateTopic(ctx, 1, -1, nil, "bobs")
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("bob creates a topic: %v", err)
	}
}

// KIP-679: an idempotent producer needs WRITE on some topic (or
// IDEMPOTENT_WRITE); a transactional one WRITE on its id.
func TestAuthorizationProducerIDs(t *testing.T) {
	_, login := startAuthzGateway(t)
	ctx := testCtx(t)
	// bob writes no topic: his idempotent producer is refused.
	bob := login("bob", kgo.RecordRetries(1), kgo.RequestRetries(1))
	err := bob.ProduceSync(ctx, &kgo.Record{Topic: "orders.eu", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.ClusterAuthorizationFailed) && !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("bob produces: %v", err)
	}
	txn := login("alice", kgo.TransactionalID("t1"), kgo.DefaultProduceTopic("orders.eu"))
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, &kgo.Record{Value: []byte("in txn")}).FirstErr(); err != nil {
		t.Fatalf("alice's transaction as t1: %v", err)
	}
	if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit t1: %v", err)
	}
	other := login("alice", kgo.TransactionalID("t2"), kgo.DefaultProduceTopic("orders.eu"), kgo.RequestRetries(1))
	err = other.BeginTransaction() // kgo asks for its producer id here
	if err == nil {
		err = other.ProduceSync(ctx, &kgo.Record{Value: []byte("no")}).FirstErr()
	}
	if !errors.Is(err, kerr.TransactionalIDAuthorizationFailed) && !strings.Contains(fmt.Sprint(err), "TRANSACTIONAL_ID_AUTHORIZATION_FAILED") {
		t.Fatalf("alice's transaction as t2: %v, want TRANSACTIONAL_ID_AUTHORIZATION_FAILED", err)
	}
}

// kafka-acls' requests, as kadm makes them: only who may alter the cluster
// makes rules, and a rule made holds at once.
func TestACLAPIs(t *testing.T) {
	_, login := startAuthzGateway(t)
	ctx := testCtx(t)
	adm := kadm.NewClient(login("admin"))
	bobAdm := kadm.NewClient(login("bob"))
	b := kadm.NewACLs().Allow("User:bob").Topics("payments").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral)
	res, err := bobAdm.CreateACLs(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("bob makes a rule: %v, want CLUSTER_AUTHORIZATION_FAILED", res[0].Err)
	}
	if res, err = adm.CreateACLs(ctx, b); err != nil || res[0].Err != nil {
		t.Fatalf("admin makes a rule: %v %v", err, res)
	}
	// bob now reads payments.
	if _, err := bobAdm.Metadata(ctx, "payments"); err != nil {
		t.Fatalf("bob's metadata of payments after the grant: %v", err)
	}
	// Everything, as kafka-acls --list asks.
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	described, err := req.RequestWith(ctx, login("admin"))
	if err != nil || described.ErrorCode != 0 {
		t.Fatalf("describe: %v %v", err, described)
	}
	n := 0
	for _, r := range described.Resources {
		n += len(r.ACLs)
	}
	if n != 7 { // 6 from the file (one per operation) + 1
		t.Fatalf("described %d rules, want 7: %+v", n, described.Resources)
	}
	deleted, err := adm.DeleteACLs(ctx, kadm.NewACLs().Allow("User:bob").AllowHosts().Topics("payments").Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil || len(deleted) != 1 || len(deleted[0].Deleted) != 1 {
		t.Fatalf("delete: %v %+v", err, deleted)
	}
	// A new client: kgo answers a Metadata request from its recent cache.
	if _, err := kadm.NewClient(login("bob")).Metadata(ctx, "payments"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("bob's metadata of payments after the delete: %v", err)
	}
}

// Without authorization the ACL APIs say so, as Kafka without an authorizer.
func TestACLAPIsWithoutAuthorizer(t *testing.T) {
	addr := startGateway(t)
	adm := kadm.NewClient(newClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := adm.CreateACLs(ctx, kadm.NewACLs().Allow("User:x").Topics("t").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, kerr.SecurityDisabled) {
		t.Fatalf("CreateAcls without an authorizer: %v, want SECURITY_DISABLED", res[0].Err)
	}
}

// TxnOffsetCommit refuses the partitions of a topic the principal may not
// read and hands the others to the transaction, as Kafka does.
func TestAuthorizationTxnOffsetCommitPerTopic(t *testing.T) {
	_, login := startAuthzGateway(t)
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = "t1", "g1", 1, 0
	for _, topic := range []string{"orders.eu", "orders.secret"} {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Offset = 1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(testCtx(t), login("alice"))
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int16{}
	for _, rt := range resp.Topics {
		codes[rt.Topic] = rt.Partitions[0].ErrorCode
	}
	if codes["orders.secret"] != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("orders.secret: %v, want TOPIC_AUTHORIZATION_FAILED", kerr.ErrorForCode(codes["orders.secret"]))
	}
	// No such transaction: the transaction's own answer, not authorization's.
	if c := codes["orders.eu"]; c == 0 || c == kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("orders.eu: %v, want the transaction's error", kerr.ErrorForCode(c))
	}
}
