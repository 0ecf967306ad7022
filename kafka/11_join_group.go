package kafka

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup v0-v9: v4 asks new members to rejoin with an id we hand out
// (MEMBER_ID_REQUIRED), v5 static membership, v9 skip-assignment (set for
// a static leader that restarts into a Stable group, groups.go).
func init() { register(11, 0, 9, handleJoinGroup) }

func handleJoinGroup(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.JoinGroupRequest)
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	rebalance := time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 {
		rebalance = session
	}
	switch {
	case !r.allowed(authz.Read, authz.Group, req.Group):
		return joinFail(kerr.GroupAuthorizationFailed, req.MemberID), nil
	case req.Group == "":
		return joinFail(kerr.InvalidGroupID, req.MemberID), nil
	case session < minSessionTimeout || session > maxSessionTimeout:
		return joinFail(kerr.InvalidSessionTimeout, req.MemberID), nil
	}
	cmd := &groupCmd{Kind: "join", Group: req.Group, Member: req.MemberID, Instance: req.InstanceID,
		ClientID: r.hdr.clientID, Host: clientHost(r.c.nc.RemoteAddr()), Version: req.Version,
		ProtoType: req.ProtocolType, Session: session.Milliseconds(), Rebalance: rebalance.Milliseconds()}
	if req.MemberID == "" {
		cmd.NewID = newMemberID(r.hdr.clientID)
	}
	for _, p := range req.Protocols {
		cmd.Protocols = append(cmd.Protocols, groupProtocol{Name: p.Name, Metadata: p.Metadata})
	}
	resp, err := h.groups.do(r.ctx, cmd)
	if err != nil {
		if r.ctx.Err() != nil {
			return nil, r.ctx.Err()
		}
		return joinFail(kerr.CoordinatorNotAvailable, req.MemberID), nil
	}
	return resp.(*kmsg.JoinGroupResponse), nil
}

// newMemberID is Kafka's: the client id, a dash and a random UUID.
func newMemberID(clientID string) string {
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80 // version 4, RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return clientID + "-" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// clientHost is a member's host as Kafka shows it (Java's
// InetAddress.toString of the connection's address): "/127.0.0.1".
func clientHost(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return "/" + t.IP.String()
	}
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return "/" + host
	}
	return a.String()
}
