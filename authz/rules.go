package authz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The rule file (auth.acl_file), YAML:
//
//	acls:
//	  - principal: User:alice        # User:* is every user
//	    resource: topic              # topic, group, transactional_id, cluster, vhost, exchange
//	    name: orders.                # "*" is every name; the cluster's is kafka-cluster
//	    pattern: prefixed            # literal (the default), prefixed, or regex
//	    operations: [read, describe]
//	    permission: allow            # allow (the default) or deny
//	    host: "*"                    # the default
//	rabbitmq_permissions:            # rabbitmqctl set_permissions, as rules
//	  - {user: alice, vhost: /, configure: "^orders\\.", write: ".*", read: ".*"}
type fileRules struct {
	ACLs                []fileRule      `yaml:"acls"`
	RabbitMQPermissions []rabbitmqPerms `yaml:"rabbitmq_permissions"`
}

// rabbitmqPerms is RabbitMQ's permission triple of a user on a vhost: the
// regexes of the queue and exchange names it may configure, write and
// read; "" is none, as RabbitMQ's. It stands for these rules: DESCRIBE on
// the vhost (its access), and on topics (queues) and exchanges whose name
// the regex finds, CREATE and DELETE for configure, WRITE for write, READ
// for read. Names are not per vhost in the rules: a user's permissions on
// two vhosts add up.
type rabbitmqPerms struct {
	User      string `yaml:"user"`
	VHost     string `yaml:"vhost"`
	Configure string `yaml:"configure"`
	Write     string `yaml:"write"`
	Read      string `yaml:"read"`
}

func (p rabbitmqPerms) rules() ([]Rule, error) {
	if p.User == "" || p.VHost == "" {
		return nil, errors.New("user and vhost are required")
	}
	base := Rule{Principal: Principal(p.User), Host: Wildcard, Pattern: Regex, Permission: Allow}
	vhost := base
	vhost.Resource, vhost.Pattern, vhost.Name, vhost.Op = VHost, Literal, p.VHost, Describe
	out := []Rule{vhost}
	for _, g := range []struct {
		expr string
		ops  []Op
	}{{p.Configure, []Op{Create, Delete}}, {p.Write, []Op{Write}}, {p.Read, []Op{Read}}} {
		if g.expr == "" {
			continue
		}
		for _, res := range []Resource{Topic, Exchange} {
			for _, op := range g.ops {
				r := base
				r.Resource, r.Name, r.Op = res, g.expr, op
				if err := r.Valid(); err != nil {
					return nil, err
				}
				out = append(out, r)
			}
		}
	}
	return out, nil
}

type fileRule struct {
	Principal  string   `yaml:"principal"`
	Resource   string   `yaml:"resource"`
	Name       string   `yaml:"name"`
	Pattern    string   `yaml:"pattern"`
	Operations []string `yaml:"operations"`
	Permission string   `yaml:"permission"`
	Host       string   `yaml:"host"`
}

var resourceNames = map[string]Resource{
	"topic": Topic, "group": Group, "cluster": Cluster, "transactional_id": TransactionalID,
	"vhost": VHost, "exchange": Exchange,
}

var opNames = map[string]Op{
	"all": All, "read": Read, "write": Write, "create": Create, "delete": Delete, "alter": Alter,
	"describe": Describe, "cluster_action": ClusterAction, "describe_configs": DescribeConfigs,
	"alter_configs": AlterConfigs, "idempotent_write": IdempotentWrite,
}

// resourceOps are the operations each resource type has, as Kafka's
// (AclEntry.supportedOperations) and, for AMQP's, RabbitMQ's configure
// (create, delete), write, read, and describe (passive declares; a vhost's
// access).
var resourceOps = map[Resource][]Op{
	Topic:           {All, Read, Write, Create, Delete, Alter, Describe, DescribeConfigs, AlterConfigs},
	Group:           {All, Read, Describe, Delete},
	Cluster:         {All, Create, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, Alter, Describe},
	TransactionalID: {All, Describe, Write},
	VHost:           {All, Describe},
	Exchange:        {All, Create, Delete, Read, Write, Describe},
}

// ParseFile parses a rule file's contents.
func ParseFile(data []byte) ([]Rule, error) {
	var f fileRules
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return nil, err
	}
	var out []Rule
	for i, fr := range f.ACLs {
		rules, err := fr.rules()
		if err != nil {
			return nil, fmt.Errorf("acl %d: %w", i+1, err)
		}
		out = append(out, rules...)
	}
	for i, p := range f.RabbitMQPermissions {
		rules, err := p.rules()
		if err != nil {
			return nil, fmt.Errorf("rabbitmq_permissions %d: %w", i+1, err)
		}
		out = append(out, rules...)
	}
	return out, nil
}

func (fr fileRule) rules() ([]Rule, error) {
	r := Rule{Principal: fr.Principal, Host: fr.Host, Name: fr.Name, Pattern: Literal, Permission: Allow}
	if r.Host == "" {
		r.Host = Wildcard
	}
	var ok bool
	if r.Resource, ok = resourceNames[fr.Resource]; !ok {
		return nil, fmt.Errorf("resource %q: want topic, group, transactional_id, cluster, vhost or exchange", fr.Resource)
	}
	switch fr.Pattern {
	case "", "literal":
	case "prefixed":
		r.Pattern = Prefixed
	case "regex":
		r.Pattern = Regex
	default:
		return nil, fmt.Errorf("pattern %q: want literal, prefixed or regex", fr.Pattern)
	}
	switch fr.Permission {
	case "", "allow":
	case "deny":
		r.Permission = Deny
	default:
		return nil, fmt.Errorf("permission %q: want allow or deny", fr.Permission)
	}
	if len(fr.Operations) == 0 {
		return nil, errors.New("no operations")
	}
	var out []Rule
	for _, name := range fr.Operations {
		op, ok := opNames[name]
		if !ok {
			return nil, fmt.Errorf("operation %q is not one of Kafka's (read, write, create, delete, alter, describe, cluster_action, describe_configs, alter_configs, idempotent_write, all)", name)
		}
		r.Op = op
		if err := r.Valid(); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Valid checks a rule as Kafka checks a new ACL: a User principal, a name,
// an operation the resource type has, the cluster's own name.
func (r Rule) Valid() error {
	user, ok := strings.CutPrefix(r.Principal, "User:")
	if !ok || user == "" {
		return fmt.Errorf("principal %q: want User:name or User:*", r.Principal)
	}
	if r.Host == "" {
		return errors.New("empty host")
	}
	ops, ok := resourceOps[r.Resource]
	if !ok {
		return fmt.Errorf("resource type %d is not one rules name", r.Resource)
	}
	if r.Pattern != Literal && r.Pattern != Prefixed && r.Pattern != Regex {
		return fmt.Errorf("pattern type %d: want literal, prefixed or regex", r.Pattern)
	}
	if r.Pattern == Regex && compiled(r.Name) == nil {
		_, err := regexp.Compile(r.Name)
		return fmt.Errorf("regex %q: %w", r.Name, err)
	}
	if r.Permission != Allow && r.Permission != Deny {
		return fmt.Errorf("permission %d: want allow or deny", r.Permission)
	}
	if r.Name == "" {
		return errors.New("empty resource name")
	}
	if r.Resource == Cluster && r.Name != ClusterName {
		return fmt.Errorf("the cluster resource is named %s, not %q", ClusterName, r.Name)
	}
	for _, op := range ops {
		if op == r.Op {
			return nil
		}
	}
	return fmt.Errorf("operation %d is not one of resource type %d", r.Op, r.Resource)
}

// readFile reads and parses a rule file.
func readFile(path string) ([]Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("acl file: %w", err)
	}
	rules, err := ParseFile(data)
	if err != nil {
		return nil, fmt.Errorf("acl file %s: %w", path, err)
	}
	return rules, nil
}
