package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterUserScramCredentials v0 (kafka-configs --alter --add-config
// 'SCRAM-SHA-256=[password=...]' --entity-type users): upserts and
// deletions of credentials in the shared table, checked as Kafka checks
// them. With logins on, only a super user may change them (Kafka asks for
// ALTER on the cluster): anyone else could take over any account.
func init() { register(51, 0, 0, handleAlterUserScramCredentials) }

func handleAlterUserScramCredentials(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	results := map[string]*kmsg.AlterUserSCRAMCredentialsResponseResult{}
	var order []string
	fail := func(user string, code int16, msg string) {
		res := results[user]
		if res == nil {
			x := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
			x.User = user
			res = &x
			results[user] = res
			order = append(order, user)
		}
		if res.ErrorCode == 0 && code != 0 {
			res.ErrorCode, res.ErrorMessage = code, &msg
		}
	}
	// Every user named gets a result; one (user, mechanism) twice in a
	// request fails that user, as Kafka's controller does.
	type cred struct {
		user string
		mech int8
	}
	count := map[cred]int{}
	for _, d := range req.Deletions {
		fail(d.Name, 0, "")
		count[cred{d.Name, d.Mechanism}]++
	}
	for _, u := range req.Upsertions {
		fail(u.Name, 0, "")
		count[cred{u.Name, u.Mechanism}]++
	}
	superUser := r.mayOnCluster(authz.Alter)
	for _, user := range order {
		if !superUser {
			fail(user, kerr.ClusterAuthorizationFailed.Code, "Cluster authorization failed.")
		}
		if user == "" {
			fail(user, kerr.UnacceptableCredential.Code, "Username must not be empty")
		}
	}
	for c, n := range count {
		if n > 1 {
			fail(c.user, kerr.DuplicateResource.Code, "A user credential cannot be altered twice in the same request")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, d := range req.Deletions {
		m, ok := scramByCode(d.Mechanism)
		switch {
		case results[d.Name].ErrorCode != 0:
		case !ok:
			fail(d.Name, kerr.UnsupportedSaslMechanism.Code, "Unknown SCRAM mechanism")
		default:
			if _, exists := h.scram.get(d.Name, m); !exists {
				fail(d.Name, kerr.ResourceNotFound.Code, "Attempt to delete a user credential that does not exist")
			} else if err := h.scram.delete(ctx, d.Name, m); err != nil {
				fail(d.Name, errorCode(err), err.Error())
			}
		}
	}
	for _, u := range req.Upsertions {
		m, ok := scramByCode(u.Mechanism)
		switch {
		case results[u.Name].ErrorCode != 0:
		case !ok:
			fail(u.Name, kerr.UnsupportedSaslMechanism.Code, "Unknown SCRAM mechanism")
		case u.Iterations < scramMinIterations:
			fail(u.Name, kerr.UnacceptableCredential.Code, fmt.Sprintf("Too few iterations: %d (at least %d)", u.Iterations, scramMinIterations))
		case u.Iterations > scramMaxIterations:
			fail(u.Name, kerr.UnacceptableCredential.Code, fmt.Sprintf("Too many iterations: %d (at most %d)", u.Iterations, scramMaxIterations))
		case len(u.Salt) == 0 || len(u.SaltedPassword) == 0:
			fail(u.Name, kerr.UnacceptableCredential.Code, "A credential needs a salt and a salted password")
		default:
			c := newScramCred(m, u.Salt, u.SaltedPassword, int(u.Iterations))
			if err := h.scram.put(ctx, u.Name, m, c); err != nil {
				fail(u.Name, errorCode(err), err.Error())
			}
		}
	}
	for _, user := range order {
		resp.Results = append(resp.Results, *results[user])
	}
	return resp, nil
}
