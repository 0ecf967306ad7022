package kafka

import (
	"sort"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeUserScramCredentials v0 (kafka-configs --describe --entity-type
// users): each user's mechanisms and iterations, never a key. With logins
// on, only a super user may ask, as Kafka asks for DESCRIBE on the cluster.
func init() { register(50, 0, 0, handleDescribeUserScramCredentials) }

func handleDescribeUserScramCredentials(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !r.mayOnCluster(authz.Describe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	all := h.scram.users()
	describe := func(user string) kmsg.DescribeUserSCRAMCredentialsResponseResult {
		res := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		res.User = user
		mechs := all[user]
		if len(mechs) == 0 {
			res.ErrorCode = kerr.ResourceNotFound.Code
			msg := "Attempt to describe a user credential that does not exist"
			res.ErrorMessage = &msg
			return res
		}
		for _, m := range mechs {
			c, ok := h.scram.get(user, m)
			if !ok {
				continue
			}
			info := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
			info.Mechanism, info.Iterations = m.code, int32(c.Iters)
			res.CredentialInfos = append(res.CredentialInfos, info)
		}
		return res
	}
	if req.Users == nil { // all of them
		users := make([]string, 0, len(all))
		for u := range all {
			users = append(users, u)
		}
		sort.Strings(users)
		for _, u := range users {
			resp.Results = append(resp.Results, describe(u))
		}
		return resp, nil
	}
	seen := map[string]int{}
	for _, u := range req.Users {
		seen[u.Name]++
	}
	for _, u := range req.Users {
		switch n := seen[u.Name]; {
		case n > 1: // named twice: one answer, that error
			res := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
			res.User, res.ErrorCode = u.Name, kerr.DuplicateResource.Code
			msg := "Cannot describe SCRAM credentials for the same user twice in a single request: " + u.Name
			res.ErrorMessage = &msg
			resp.Results = append(resp.Results, res)
			seen[u.Name] = -1
		case n == 1:
			resp.Results = append(resp.Results, describe(u.Name))
		}
	}
	return resp, nil
}
