package kafka

import (
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The classic group protocol as a deterministic state machine. Every
// command (a member's JoinGroup, SyncGroup, Heartbeat, LeaveGroup, a
// commit's generation check, a tick of the clock) is appended to the
// group's log in the backend (grouplog.go), and every gateway serving the
// group applies the log in its one order, with the log's own time as the
// clock. So every gateway holds the same group, whichever gateway each
// member reached, with no gateway-to-gateway protocol (DESIGN.md, "Many
// gateways"). apply never reads the wall clock, random numbers or anything
// but the group and the command.
//
// Members' subscriptions and assignments are opaque bytes: eager and
// cooperative assignors both run in the clients, the coordinator only
// sequences Join/Sync rounds. Offsets are not here but in shared state
// (offsets.go).

type groupState int

const (
	groupEmpty groupState = iota
	groupPreparingRebalance
	groupCompletingRebalance
	groupStable
)

func (s groupState) String() string {
	return [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable"}[s]
}

// Kafka's group.min/max.session.timeout.ms defaults.
const (
	minSessionTimeout = 6 * time.Second
	maxSessionTimeout = 30 * time.Minute
)

// group is one group's state; exported fields are its snapshot (JSON).
type group struct {
	Name         string
	State        groupState
	Generation   int32
	ProtocolType string
	Protocol     string
	Leader       string
	Members      map[string]*member
	Instances    map[string]string // static instance id -> member id
	Pending      map[string]int64  // ids handed out by MEMBER_ID_REQUIRED -> when (ms)
	Rebalance    int64             // the round's deadline (ms), while preparing
	Now          int64             // the log's clock (ms), never going back
	// Txn is the transaction of a transactional id, in the transaction
	// coordinator's logs (txns.go), where the key is that id.
	Txn *txnState `json:",omitempty"`

	out []groupEffect // answers of the command being applied
}

type member struct {
	ID           string
	Instance     *string
	ClientID     string
	Host         string
	ProtocolType string
	Protocols    []groupProtocol
	Session      int64 // ms
	RebalanceMs  int64
	Assignment   []byte
	Expires      int64  // session deadline (ms)
	JoinToken    string // its JoinGroup waiting for the round to end
	JoinVersion  int16
	SyncToken    string // its SyncGroup waiting for the leader's
}

type groupProtocol struct {
	Name     string
	Metadata []byte
}

// groupCmd is one log entry.
type groupCmd struct {
	Kind       string // join, sync, heartbeat, leave, commit, tick, delete
	Group      string
	Token      string // the waiting request (gateway/sequence); "" for none
	Member     string
	Instance   *string
	NewID      string // the id a joining member without one gets
	ClientID   string
	Host       string
	Version    int16
	Generation int32
	ProtoType  string
	Protocol   string // SyncGroup v5: the protocol the member thinks chosen; "" unsaid
	Protocols  []groupProtocol
	Session    int64 // ms
	Rebalance  int64 // ms
	Assign     map[string][]byte
	Leavers    []leaver
	// Grace: the log was away for its sender, whose members' heartbeats
	// could not be logged meanwhile. Every member gets a full session from
	// now, as Kafka gives one when a new coordinator loads a group.
	Grace bool
	// Txn: a command of the transaction coordinator (Kind "txn").
	Txn *txnCmd `json:",omitempty"`
}

type leaver struct {
	Member   string
	Instance *string
}

// groupEffect is an answer for the request with token, on whichever
// gateway holds it: a response, or an error code (commit, delete).
type groupEffect struct {
	token string
	resp  any
}

func newGroup(name string) *group {
	return &group{Name: name, Members: map[string]*member{}, Instances: map[string]string{}, Pending: map[string]int64{}}
}

// apply runs one command at log time now (ms) and returns the answers.
func (g *group) apply(cmd *groupCmd, now int64) []groupEffect {
	g.out = nil
	if cmd.Grace {
		g.Now = max(g.Now, now)
		for _, m := range g.Members {
			m.Expires = max(m.Expires, g.Now+m.Session)
		}
	}
	g.advance(now)
	switch cmd.Kind {
	case "join":
		g.join(cmd)
	case "sync":
		g.sync(cmd)
	case "heartbeat":
		g.heartbeat(cmd)
	case "leave":
		g.leave(cmd)
	case "commit":
		g.emit(cmd.Token, g.commitAllowed(cmd.Member, cmd.Instance, cmd.Generation))
	case "delete":
		code := int16(0)
		if len(g.Members) > 0 {
			code = kerr.NonEmptyGroup.Code
		} else {
			*g = *newGroup(g.Name)
			g.Now = now
		}
		g.emit(cmd.Token, code)
	case "tick":
		g.emit(cmd.Token, int16(0))
	case "txn":
		if cmd.Txn != nil {
			g.emit(cmd.Token, g.applyTxn(cmd.Txn))
		}
	}
	out := g.out
	g.out = nil
	return out
}

func (g *group) emit(token string, resp any) {
	if token != "" {
		g.out = append(g.out, groupEffect{token, resp})
	}
}

// advance moves the clock: silent members leave, a round whose deadline
// passed ends without the members that did not rejoin.
func (g *group) advance(now int64) {
	if now > g.Now {
		g.Now = now
	}
	for id, at := range g.Pending { // ids never used to rejoin
		if g.Now-at > maxSessionTimeout.Milliseconds() {
			delete(g.Pending, id)
		}
	}
	left := false
	for _, id := range g.memberIDs() {
		if m := g.Members[id]; m.JoinToken == "" && m.Expires <= g.Now {
			g.removeMember(id)
			left = true
		}
	}
	if g.State == groupPreparingRebalance && g.Rebalance <= g.Now {
		for _, id := range g.memberIDs() {
			if g.Members[id].JoinToken == "" {
				g.removeMember(id)
			}
		}
		g.completeJoin()
		return
	}
	if left {
		g.afterLeave()
	}
}

func (g *group) memberIDs() []string {
	ids := make([]string, 0, len(g.Members))
	for id := range g.Members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func joinFail(e *kerr.Error, memberID string) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.ErrorCode, r.MemberID, r.Generation = e.Code, memberID, -1
	return r
}

func (g *group) join(cmd *groupCmd) {
	if !g.supports(cmd.ProtoType, cmd.Protocols) {
		g.emit(cmd.Token, joinFail(kerr.InconsistentGroupProtocol, cmd.Member))
		return
	}
	id := cmd.Member
	if cmd.Instance != nil && id != "" {
		if cur, ok := g.Instances[*cmd.Instance]; ok && cur != id {
			g.emit(cmd.Token, joinFail(kerr.FencedInstanceID, id))
			return
		}
	}
	switch {
	case id == "" && cmd.Instance != nil && g.Instances[*cmd.Instance] != "":
		// A static member restarting (KIP-345): it takes its old member's
		// place under a new id, which fences the old process.
		if g.replaceStatic(cmd) {
			return
		}
		id = cmd.NewID
	case id == "":
		id = cmd.NewID
		if cmd.Version >= 4 && cmd.Instance == nil {
			g.Pending[id] = g.Now
			g.emit(cmd.Token, joinFail(kerr.MemberIDRequired, id))
			return
		}
	case g.Members[id] == nil:
		if _, ok := g.Pending[id]; !ok {
			g.emit(cmd.Token, joinFail(kerr.UnknownMemberID, id))
			return
		}
		delete(g.Pending, id)
	}
	m := g.Members[id]
	if m == nil {
		// A member's instance is fixed when it joins (Kafka keeps it so).
		m = &member{ID: id, Instance: cmd.Instance}
		g.Members[id] = m
	}
	if m.JoinToken != "" { // an earlier JoinGroup of the same member is void
		g.emit(m.JoinToken, joinFail(kerr.RebalanceInProgress, id))
	}
	m.ClientID, m.Host = cmd.ClientID, cmd.Host
	m.ProtocolType, m.Protocols = cmd.ProtoType, cmd.Protocols
	m.Session, m.RebalanceMs = cmd.Session, cmd.Rebalance
	m.JoinToken, m.JoinVersion = cmd.Token, cmd.Version
	m.Expires = g.Now + m.Session
	if m.Instance != nil {
		g.Instances[*m.Instance] = id
	}
	if len(g.Members) == 1 {
		g.ProtocolType = cmd.ProtoType
	}
	g.prepareRebalance()
	g.maybeCompleteJoin()
}

// replaceStatic gives a restarting static member's place (its assignment,
// and leadership) to cmd.NewID and fences the old id's waiting requests.
// In a Stable group, with the same protocols, that is all, as on Kafka:
// it is answered at once with the current generation and no rebalance
// (true). Otherwise the caller goes on with a join under the new id.
func (g *group) replaceStatic(cmd *groupCmd) bool {
	old := g.Instances[*cmd.Instance]
	m := g.Members[old]
	if m == nil {
		delete(g.Instances, *cmd.Instance)
		return false
	}
	if m.JoinToken != "" {
		g.emit(m.JoinToken, joinFail(kerr.FencedInstanceID, old))
		m.JoinToken = ""
	}
	if m.SyncToken != "" {
		r := kmsg.NewPtrSyncGroupResponse()
		r.ErrorCode = kerr.FencedInstanceID.Code
		g.emit(m.SyncToken, r)
		m.SyncToken = ""
	}
	delete(g.Members, old)
	m.ID = cmd.NewID
	g.Members[m.ID] = m
	g.Instances[*cmd.Instance] = m.ID
	wasLeader := g.Leader == old
	if wasLeader {
		g.Leader = m.ID
	}
	same := g.State == groupStable && m.ProtocolType == cmd.ProtoType && protocolsEqual(m.Protocols, cmd.Protocols)
	if !same {
		return false // the join goes on under the new id and rebalances
	}
	m.ClientID, m.Host = cmd.ClientID, cmd.Host
	m.Session, m.RebalanceMs = cmd.Session, cmd.Rebalance
	g.touch(m)
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = cmd.Version
	resp.Generation = g.Generation
	resp.ProtocolType, resp.Protocol = kmsg.StringPtr(g.ProtocolType), kmsg.StringPtr(g.Protocol)
	resp.LeaderID, resp.MemberID = g.Leader, m.ID
	switch {
	case wasLeader && cmd.Version < 9:
		// Kafka answers the old leader id: the member does not take itself
		// for the leader and so does not assign anew in a Stable group.
		resp.LeaderID = old
	case wasLeader:
		// v9 (KIP-814): the leader sees the members, told to skip assigning.
		resp.SkipAssignment = true
		for _, mid := range g.memberIDs() {
			o := g.Members[mid]
			jm := kmsg.NewJoinGroupResponseMember()
			jm.MemberID, jm.InstanceID, jm.ProtocolMetadata = mid, o.Instance, o.metadata(g.Protocol)
			resp.Members = append(resp.Members, jm)
		}
	}
	g.emit(cmd.Token, resp)
	return true
}

func protocolsEqual(a, b []groupProtocol) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || string(a[i].Metadata) != string(b[i].Metadata) {
			return false
		}
	}
	return true
}

func (g *group) sync(cmd *groupCmd) {
	resp := kmsg.NewPtrSyncGroupResponse()
	m, e := g.memberErr(cmd.Member, cmd.Instance, cmd.Generation)
	if e == nil && (cmd.ProtoType != "" && cmd.ProtoType != g.ProtocolType || cmd.Protocol != "" && cmd.Protocol != g.Protocol) {
		e = kerr.InconsistentGroupProtocol // v5 says what it thinks it joined, as Kafka checks
	}
	if e != nil {
		resp.ErrorCode = e.Code
		g.emit(cmd.Token, resp)
		return
	}
	resp.ProtocolType, resp.Protocol = kmsg.StringPtr(g.ProtocolType), kmsg.StringPtr(g.Protocol)
	switch g.State {
	case groupStable:
		resp.MemberAssignment = m.Assignment
		g.emit(cmd.Token, resp)
		return
	case groupCompletingRebalance:
	default:
		resp.ErrorCode = kerr.RebalanceInProgress.Code
		g.emit(cmd.Token, resp)
		return
	}
	g.touch(m)
	if cmd.Member != g.Leader {
		m.SyncToken = cmd.Token
		return
	}
	g.State = groupStable
	for _, id := range g.memberIDs() {
		o := g.Members[id]
		o.Assignment = cmd.Assign[id]
		if o.SyncToken != "" {
			sr := kmsg.NewPtrSyncGroupResponse()
			sr.ProtocolType, sr.Protocol, sr.MemberAssignment = resp.ProtocolType, resp.Protocol, o.Assignment
			g.emit(o.SyncToken, sr)
			o.SyncToken = ""
		}
	}
	resp.MemberAssignment = m.Assignment
	g.emit(cmd.Token, resp)
}

func (g *group) heartbeat(cmd *groupCmd) {
	resp := kmsg.NewPtrHeartbeatResponse()
	m, e := g.memberErr(cmd.Member, cmd.Instance, cmd.Generation)
	if m != nil {
		g.touch(m)
	}
	switch {
	case e != nil:
		resp.ErrorCode = e.Code
	case g.State == groupPreparingRebalance:
		resp.ErrorCode = kerr.RebalanceInProgress.Code
	}
	g.emit(cmd.Token, resp)
}

// leave answers with one code per leaver.
func (g *group) leave(cmd *groupCmd) {
	codes := make([]int16, len(cmd.Leavers))
	left := 0
	for i, l := range cmd.Leavers {
		id := l.Member
		if l.Instance != nil {
			cur, ok := g.Instances[*l.Instance]
			if ok && id != "" && cur != id {
				codes[i] = kerr.FencedInstanceID.Code
				continue
			}
			if id == "" {
				id = cur
			}
		}
		if g.Members[id] == nil {
			codes[i] = kerr.UnknownMemberID.Code
			continue
		}
		g.removeMember(id)
		left++
	}
	if left > 0 {
		g.afterLeave()
	}
	g.emit(cmd.Token, codes)
}

// commitAllowed checks a member's commit against the group, as Kafka does:
// it must carry its current generation, and none may land while an
// assignment is being handed out.
func (g *group) commitAllowed(memberID string, instance *string, generation int32) int16 {
	m, e := g.memberErr(memberID, instance, generation)
	if e != nil {
		if len(g.Members) == 0 && e != kerr.FencedInstanceID {
			return kerr.IllegalGeneration.Code
		}
		return e.Code
	}
	if g.State == groupCompletingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	g.touch(m)
	return 0
}

// supports reports whether a member could run the group's protocol type
// and at least one protocol every current member offers.
func (g *group) supports(protocolType string, protocols []groupProtocol) bool {
	if len(protocols) == 0 || protocolType == "" {
		return false
	}
	if len(g.Members) == 0 {
		return true
	}
	if protocolType != g.ProtocolType {
		return false
	}
	for _, p := range protocols {
		if g.allSupport(p.Name) {
			return true
		}
	}
	return false
}

func (g *group) allSupport(name string) bool {
	for _, m := range g.Members {
		found := false
		for _, p := range m.Protocols {
			if p.Name == name {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// prepareRebalance starts a round: every member must rejoin within the
// largest rebalance timeout, or is dropped when it ends.
func (g *group) prepareRebalance() {
	if g.State == groupPreparingRebalance {
		return
	}
	// Members waiting in SyncGroup learn the round is void.
	for _, id := range g.memberIDs() {
		m := g.Members[id]
		if m.SyncToken != "" {
			r := kmsg.NewPtrSyncGroupResponse()
			r.ErrorCode = kerr.RebalanceInProgress.Code
			g.emit(m.SyncToken, r)
			m.SyncToken = ""
		}
	}
	g.State = groupPreparingRebalance
	timeout := int64(0)
	for _, m := range g.Members {
		timeout = max(timeout, m.RebalanceMs)
	}
	g.Rebalance = g.Now + timeout
}

// maybeCompleteJoin ends the round once every member has rejoined.
func (g *group) maybeCompleteJoin() {
	if g.State != groupPreparingRebalance {
		return
	}
	for _, m := range g.Members {
		if m.JoinToken == "" {
			return
		}
	}
	g.completeJoin()
}

// completeJoin picks the protocol and leader, bumps the generation and
// answers every waiting JoinGroup; the leader gets the member list.
func (g *group) completeJoin() {
	g.Rebalance = 0
	g.Generation++
	if len(g.Members) == 0 {
		g.State, g.Protocol, g.Leader = groupEmpty, "", ""
		return
	}
	ids := g.memberIDs()
	if _, ok := g.Members[g.Leader]; !ok {
		g.Leader = ids[0]
	}
	g.Protocol = ""
	for _, p := range g.Members[g.Leader].Protocols {
		if g.allSupport(p.Name) {
			g.Protocol = p.Name
			break
		}
	}
	g.State = groupCompletingRebalance
	for _, id := range ids {
		m := g.Members[id]
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.Version = m.JoinVersion
		resp.Generation = g.Generation
		resp.ProtocolType = kmsg.StringPtr(g.ProtocolType)
		resp.Protocol = kmsg.StringPtr(g.Protocol)
		resp.LeaderID = g.Leader
		resp.MemberID = id
		if id == g.Leader {
			for _, mid := range ids {
				o := g.Members[mid]
				jm := kmsg.NewJoinGroupResponseMember()
				jm.MemberID, jm.InstanceID, jm.ProtocolMetadata = mid, o.Instance, o.metadata(g.Protocol)
				resp.Members = append(resp.Members, jm)
			}
		}
		g.emit(m.JoinToken, resp)
		m.JoinToken = ""
		g.touch(m)
	}
}

func (m *member) metadata(protocol string) []byte {
	for _, p := range m.Protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// touch restarts a member's session: a member silent for its session
// timeout leaves the group.
func (g *group) touch(m *member) { m.Expires = g.Now + m.Session }

func (g *group) removeMember(id string) {
	m := g.Members[id]
	if m == nil {
		return
	}
	if m.JoinToken != "" {
		g.emit(m.JoinToken, joinFail(kerr.UnknownMemberID, id))
	}
	if m.SyncToken != "" {
		r := kmsg.NewPtrSyncGroupResponse()
		r.ErrorCode = kerr.UnknownMemberID.Code
		g.emit(m.SyncToken, r)
	}
	if m.Instance != nil && g.Instances[*m.Instance] == id {
		delete(g.Instances, *m.Instance)
	}
	delete(g.Members, id)
}

// afterLeave rebalances the members that remain.
func (g *group) afterLeave() {
	switch {
	case len(g.Members) == 0 && g.State != groupPreparingRebalance:
		g.State, g.Protocol, g.Leader = groupEmpty, "", ""
		g.Generation++
	case g.State == groupPreparingRebalance:
		g.maybeCompleteJoin()
	default:
		g.prepareRebalance()
	}
}

// memberErr checks a request's member against the group: a static
// instance now held by another member id is fenced (Kafka's
// FENCED_INSTANCE_ID: a newer process of that instance took its place).
func (g *group) memberErr(memberID string, instance *string, generation int32) (*member, *kerr.Error) {
	if instance != nil {
		if cur, ok := g.Instances[*instance]; ok && cur != memberID {
			return nil, kerr.FencedInstanceID
		}
	}
	m := g.Members[memberID]
	if m == nil {
		return nil, kerr.UnknownMemberID
	}
	if generation != g.Generation {
		return m, kerr.IllegalGeneration
	}
	return m, nil
}
