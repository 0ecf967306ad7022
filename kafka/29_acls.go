package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
)

// DescribeAcls, CreateAcls and DeleteAcls v0-v3 (v1 adds pattern types),
// so kafka-acls manages the gateway's rules as a Kafka cluster's. Rules
// made here are stored where every gateway reads them (authz); those of
// auth.acl_file are described too but deleted only by editing the file.
// Without authorization they answer SECURITY_DISABLED, as Kafka without an
// authorizer. AMQP's vhost and exchange rules are not Kafka resources and
// are not shown, nor the file's regex rules (RabbitMQ's permissions).
func init() {
	register(29, 0, 3, handleDescribeAcls)
	register(30, 0, 3, handleCreateAcls)
	register(31, 0, 3, handleDeleteAcls)
}

const aclWriteTimeout = 10 * time.Second

// kafkaResource reports whether a resource type is one of Kafka's.
func kafkaResource(t authz.Resource) bool {
	return t == authz.Topic || t == authz.Group || t == authz.Cluster || t == authz.TransactionalID
}

// aclRefusal is the error of an ACL request before any filter is looked at.
func (r *request) aclRefusal(op authz.Op) (int16, *string) {
	switch {
	case !r.c.h.authzOn():
		return kerr.SecurityDisabled.Code, kmsg.StringPtr("No Authorizer is configured on the broker")
	case !r.allowedCluster(op):
		return kerr.ClusterAuthorizationFailed.Code, nil
	}
	return 0, nil
}

// aclFilter checks and converts a Describe/DeleteAcls filter.
func aclFilter(res kmsg.ACLResourceType, name *string, pattern kmsg.ACLResourcePatternType,
	principal, host *string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) (authz.Filter, string) {
	f := authz.Filter{Resource: authz.Resource(res), Name: name, Pattern: authz.Pattern(pattern),
		Principal: principal, Host: host, Op: authz.Op(op), Permission: authz.Permission(perm)}
	switch {
	case f.Resource != authz.AnyResource && !kafkaResource(f.Resource):
		return f, "unsupported resource type"
	case f.Pattern < authz.AnyPattern || f.Pattern > authz.Prefixed:
		return f, "unknown pattern type"
	case f.Op < authz.AnyOp || f.Op > authz.IdempotentWrite:
		return f, "unknown operation"
	case f.Permission < authz.AnyPermission || f.Permission > authz.Allow:
		return f, "unknown permission type"
	}
	return f, ""
}

func handleDescribeAcls(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeACLsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	if resp.ErrorCode, resp.ErrorMessage = r.aclRefusal(authz.Describe); resp.ErrorCode != 0 {
		return resp, nil
	}
	f, bad := aclFilter(req.ResourceType, req.ResourceName, req.ResourcePatternType, req.Principal, req.Host, req.Operation, req.PermissionType)
	if bad != "" {
		resp.ErrorCode, resp.ErrorMessage = kerr.InvalidRequest.Code, kmsg.StringPtr(bad)
		return resp, nil
	}
	type resKey struct {
		t       authz.Resource
		name    string
		pattern authz.Pattern
	}
	at := map[resKey]int{}
	for _, rule := range h.opts.Authz.Rules(f) {
		if !kafkaResource(rule.Resource) || rule.Pattern == authz.Regex {
			continue
		}
		k := resKey{rule.Resource, rule.Name, rule.Pattern}
		i, ok := at[k]
		if !ok {
			i = len(resp.Resources)
			at[k] = i
			rr := kmsg.NewDescribeACLsResponseResource()
			rr.ResourceType, rr.ResourceName, rr.ResourcePatternType = kmsg.ACLResourceType(k.t), k.name, kmsg.ACLResourcePatternType(k.pattern)
			resp.Resources = append(resp.Resources, rr)
		}
		a := kmsg.NewDescribeACLsResponseResourceACL()
		a.Principal, a.Host, a.Operation, a.PermissionType = rule.Principal, rule.Host, kmsg.ACLOperation(rule.Op), kmsg.ACLPermissionType(rule.Permission)
		resp.Resources[i].ACLs = append(resp.Resources[i].ACLs, a)
	}
	return resp, nil
}

func handleCreateAcls(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.CreateACLsRequest)
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	code, msg := r.aclRefusal(authz.Alter)
	ctx, cancel := context.WithTimeout(r.ctx, aclWriteTimeout)
	defer cancel()
	for _, c := range req.Creations {
		res := kmsg.NewCreateACLsResponseResult()
		res.ErrorCode, res.ErrorMessage = code, msg
		if code == 0 {
			rule := authz.Rule{Principal: c.Principal, Host: c.Host, Resource: authz.Resource(c.ResourceType),
				Pattern: authz.Pattern(c.ResourcePatternType), Name: c.ResourceName, Op: authz.Op(c.Operation),
				Permission: authz.Permission(c.PermissionType)}
			switch err := rule.Valid(); {
			case !kafkaResource(rule.Resource):
				res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, kmsg.StringPtr("unsupported resource type")
			case rule.Pattern != authz.Literal && rule.Pattern != authz.Prefixed:
				res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, kmsg.StringPtr("pattern type must be LITERAL or PREFIXED")
			case err != nil:
				res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, kmsg.StringPtr(err.Error())
			default:
				if err := h.opts.Authz.Create(ctx, rule); err != nil {
					res.ErrorCode, res.ErrorMessage = errorCode(err), kmsg.StringPtr(err.Error())
				}
			}
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}

func handleDeleteAcls(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteACLsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	code, msg := r.aclRefusal(authz.Alter)
	ctx, cancel := context.WithTimeout(r.ctx, aclWriteTimeout)
	defer cancel()
	for _, rf := range req.Filters {
		res := kmsg.NewDeleteACLsResponseResult()
		res.ErrorCode, res.ErrorMessage = code, msg
		if code == 0 {
			f, bad := aclFilter(rf.ResourceType, rf.ResourceName, rf.ResourcePatternType, rf.Principal, rf.Host, rf.Operation, rf.PermissionType)
			if bad != "" {
				res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, kmsg.StringPtr(bad)
				resp.Results = append(resp.Results, res)
				continue
			}
			// Only CreateAcls stores rules, so only Kafka's resource
			// types are deleted.
			gone, err := h.opts.Authz.Delete(ctx, f)
			if err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), kmsg.StringPtr(err.Error())
			}
			for _, g := range gone {
				m := kmsg.NewDeleteACLsResponseResultMatchingACL()
				m.ResourceType, m.ResourceName, m.ResourcePatternType = kmsg.ACLResourceType(g.Resource), g.Name, kmsg.ACLResourcePatternType(g.Pattern)
				m.Principal, m.Host, m.Operation, m.PermissionType = g.Principal, g.Host, kmsg.ACLOperation(g.Op), kmsg.ACLPermissionType(g.Permission)
				res.MatchingACLs = append(res.MatchingACLs, m)
			}
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}
