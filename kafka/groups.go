package kafka

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// The classic group protocol, held in this gateway's memory. Members'
// subscriptions and assignments are opaque bytes: eager and cooperative
// assignors both run in the clients, the coordinator only sequences
// Join/Sync rounds. Offsets are not here but in shared state (offsets.go);
// groups spanning gateways are a later step (DESIGN.md, many gateways).

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

// coordinator holds every group this gateway coordinates.
type coordinator struct {
	log *zap.Logger

	mu     sync.Mutex
	groups map[string]*group
	closed bool
}

type group struct {
	c    *coordinator
	name string

	state        groupState
	generation   int32
	protocolType string
	protocol     string
	leader       string
	members      map[string]*member
	instances    map[string]string    // static instance id -> member id
	pendingIDs   map[string]time.Time // ids handed out by MEMBER_ID_REQUIRED
	rebalance    *time.Timer
}

type member struct {
	id               string
	instanceID       *string
	clientID, host   string
	protocolType     string
	protocols        []kmsg.JoinGroupRequestProtocol
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	assignment       []byte

	join    chan *kmsg.JoinGroupResponse // set while its JoinGroup waits
	sync    chan *kmsg.SyncGroupResponse // set while its SyncGroup waits
	session *time.Timer
}

func newCoordinator(log *zap.Logger) *coordinator {
	return &coordinator{log: log, groups: map[string]*group{}}
}

func (c *coordinator) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, g := range c.groups {
		g.stopTimers()
	}
}

// group returns a group, creating it when create is set; the coordinator
// lock is held by the caller for everything that touches the group.
func (c *coordinator) group(name string, create bool) *group {
	g := c.groups[name]
	if g == nil && create {
		g = &group{c: c, name: name, members: map[string]*member{}, instances: map[string]string{}, pendingIDs: map[string]time.Time{}}
		c.groups[name] = g
	}
	return g
}

func newMemberID(clientID string) string {
	var b [16]byte
	rand.Read(b[:])
	return clientID + "-" + hex.EncodeToString(b[:])
}

func (g *group) stopTimers() {
	if g.rebalance != nil {
		g.rebalance.Stop()
	}
	for _, m := range g.members {
		if m.session != nil {
			m.session.Stop()
		}
	}
}

// supports reports whether a member could run the group's protocol type
// and at least one protocol every current member offers.
func (g *group) supports(protocolType string, protocols []kmsg.JoinGroupRequestProtocol) bool {
	if len(protocols) == 0 || protocolType == "" {
		return false
	}
	if len(g.members) == 0 {
		return true
	}
	if protocolType != g.protocolType {
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
	for _, m := range g.members {
		found := false
		for _, p := range m.protocols {
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
	if g.state == groupPreparingRebalance {
		return
	}
	// Members waiting in SyncGroup learn the round is void.
	for _, m := range g.members {
		if m.sync != nil {
			r := kmsg.NewPtrSyncGroupResponse()
			r.ErrorCode = kerr.RebalanceInProgress.Code
			m.sync <- r
			m.sync = nil
		}
	}
	g.state = groupPreparingRebalance
	timeout := time.Duration(0)
	for _, m := range g.members {
		timeout = max(timeout, m.rebalanceTimeout)
	}
	if g.rebalance != nil {
		g.rebalance.Stop()
	}
	g.rebalance = time.AfterFunc(timeout, func() {
		g.c.mu.Lock()
		defer g.c.mu.Unlock()
		if g.state != groupPreparingRebalance {
			return
		}
		for id, m := range g.members {
			if m.join == nil {
				g.removeMember(id)
			}
		}
		g.completeJoin()
	})
}

// maybeCompleteJoin ends the round once every member has rejoined.
func (g *group) maybeCompleteJoin() {
	if g.state != groupPreparingRebalance {
		return
	}
	for _, m := range g.members {
		if m.join == nil {
			return
		}
	}
	g.completeJoin()
}

// completeJoin picks the protocol and leader, bumps the generation and
// answers every waiting JoinGroup; the leader gets the member list.
func (g *group) completeJoin() {
	if g.rebalance != nil {
		g.rebalance.Stop()
	}
	g.generation++
	if len(g.members) == 0 {
		g.state, g.protocol, g.leader = groupEmpty, "", ""
		return
	}
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if _, ok := g.members[g.leader]; !ok {
		g.leader = ids[0]
	}
	g.protocol = ""
	for _, p := range g.members[g.leader].protocols {
		if g.allSupport(p.Name) {
			g.protocol = p.Name
			break
		}
	}
	g.state = groupCompletingRebalance
	for _, id := range ids {
		m := g.members[id]
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.Generation = g.generation
		resp.ProtocolType = kmsg.StringPtr(g.protocolType)
		resp.Protocol = kmsg.StringPtr(g.protocol)
		resp.LeaderID = g.leader
		resp.MemberID = id
		if id == g.leader {
			for _, mid := range ids {
				o := g.members[mid]
				jm := kmsg.NewJoinGroupResponseMember()
				jm.MemberID, jm.InstanceID, jm.ProtocolMetadata = mid, o.instanceID, o.metadata(g.protocol)
				resp.Members = append(resp.Members, jm)
			}
		}
		if m.join != nil {
			m.join <- resp
			m.join = nil
		}
		g.touch(m)
	}
}

func (m *member) metadata(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// touch restarts a member's session timer: a member silent for its
// session timeout leaves the group.
func (g *group) touch(m *member) {
	if m.session != nil {
		m.session.Stop()
	}
	id := m.id
	m.session = time.AfterFunc(m.sessionTimeout, func() {
		g.c.mu.Lock()
		defer g.c.mu.Unlock()
		if g.members[id] != m || m.join != nil {
			return // rejoined as another, or waiting in JoinGroup
		}
		g.c.log.Debug("group member session expired", zap.String("group", g.name), zap.String("member", id))
		g.removeMember(id)
		g.afterLeave()
	})
}

func (g *group) removeMember(id string) {
	m := g.members[id]
	if m == nil {
		return
	}
	if m.session != nil {
		m.session.Stop()
	}
	if m.join != nil {
		r := kmsg.NewPtrJoinGroupResponse()
		r.ErrorCode = kerr.UnknownMemberID.Code
		m.join <- r
	}
	if m.sync != nil {
		r := kmsg.NewPtrSyncGroupResponse()
		r.ErrorCode = kerr.UnknownMemberID.Code
		m.sync <- r
	}
	if m.instanceID != nil && g.instances[*m.instanceID] == id {
		delete(g.instances, *m.instanceID)
	}
	delete(g.members, id)
}

// afterLeave rebalances the members that remain.
func (g *group) afterLeave() {
	switch {
	case len(g.members) == 0 && g.state != groupPreparingRebalance:
		g.state, g.protocol, g.leader = groupEmpty, "", ""
		g.generation++
	case g.state == groupPreparingRebalance:
		g.maybeCompleteJoin()
	default:
		g.prepareRebalance()
	}
}

// groupErr is the error for a member's request carrying a generation.
func (g *group) memberErr(memberID string, generation int32) (*member, *kerr.Error) {
	m := g.members[memberID]
	if m == nil {
		return nil, kerr.UnknownMemberID
	}
	if generation != g.generation {
		return m, kerr.IllegalGeneration
	}
	return m, nil
}
