package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// join sends JoinGroup, redoing it once with the member id handed out.
func join(t *testing.T, cl *kgo.Client, group, memberID string, session, rebalance int32) *kmsg.JoinGroupResponse {
	t.Helper()
	for {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = group, memberID, "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = session, rebalance
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("m")}}
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode != kerr.MemberIDRequired.Code {
			return resp
		}
		memberID = resp.MemberID
	}
}

func syncGroup(t *testing.T, cl *kgo.Client, group string, j *kmsg.JoinGroupResponse) int16 {
	t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.Generation, req.MemberID = group, j.Generation, j.MemberID
	for _, m := range j.Members {
		req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: m.MemberID, MemberAssignment: []byte("a")})
	}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.ErrorCode
}

func heartbeat(t *testing.T, cl *kgo.Client, group string, j *kmsg.JoinGroupResponse) int16 {
	t.Helper()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.Generation, req.MemberID = group, j.Generation, j.MemberID
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.ErrorCode
}

// A member that does not rejoin within the rebalance timeout is dropped and
// the round completes with the others; a member that stops heartbeating is
// dropped after its session timeout.
func TestGroupTimeouts(t *testing.T) {
	t.Parallel() // mostly sleeping through a session timeout
	addr := startGateway(t)
	a, b := newClient(t, addr), newClient(t, addr)
	const group = "timers"

	ja := join(t, a, group, "", 6000, 500)
	if ja.ErrorCode != 0 || syncGroup(t, a, group, ja) != 0 {
		t.Fatalf("first member: join %d", ja.ErrorCode)
	}
	start := time.Now()
	jb := join(t, b, group, "", 6000, 500) // waits for a, which never rejoins
	if jb.ErrorCode != 0 || jb.Generation != ja.Generation+1 || jb.LeaderID != jb.MemberID || len(jb.Members) != 1 {
		t.Fatalf("second member's join: %+v", jb)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Fatalf("join completed after %v, want about the 500ms rebalance timeout", d)
	}
	if code := heartbeat(t, a, group, ja); code != kerr.UnknownMemberID.Code {
		t.Fatalf("dropped member's heartbeat: %d", code)
	}
	if code := syncGroup(t, b, group, jb); code != 0 {
		t.Fatalf("sync: %d", code)
	}
	if code := heartbeat(t, b, group, jb); code != 0 {
		t.Fatalf("heartbeat: %d", code)
	}

	time.Sleep(6500 * time.Millisecond) // b's session runs out
	if code := heartbeat(t, b, group, jb); code != kerr.UnknownMemberID.Code {
		t.Fatalf("expired member's heartbeat: %d", code)
	}
	desc := kmsg.NewPtrDescribeGroupsRequest()
	desc.Groups = []string{group}
	dr, err := desc.RequestWith(testCtx(t), a)
	if err != nil || dr.Groups[0].State != "Empty" || len(dr.Groups[0].Members) != 0 {
		t.Fatalf("after expiry: %+v %v", dr, err)
	}
}
