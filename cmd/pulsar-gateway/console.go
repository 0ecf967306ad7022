package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/config"
	"github.com/pulsar-gateway/pulsar-gateway/console"
	"github.com/pulsar-gateway/pulsar-gateway/jwtauth"
	"github.com/pulsar-gateway/pulsar-gateway/kafka"
	"github.com/pulsar-gateway/pulsar-gateway/mqtt"
	"github.com/pulsar-gateway/pulsar-gateway/passwd"
)

// consolePrefix is where the console lives on the HTTP address.
const consolePrefix = "/console/"

// newConsole builds the web console from what the gateway serves: the
// registry /metrics serves, the backend's topics, and the views of the
// protocol handlers that are on.
func (g *gateway) newConsole() (*console.Console, error) {
	opts := console.Options{
		Metrics: g.registry,
		Backend: backendName(g.cfg),
		Ready:   g.ready.Load,
		Logger:  g.log.Named("console"),
	}
	login, err := consoleLogin(g.cfg, g.tokens, g.authz)
	if err != nil {
		return nil, err
	}
	opts.Login = login
	namespace := g.cfg.Tenant + "/" + g.cfg.Namespace
	var groups func(context.Context) ([]kafka.GroupView, error)
	producers := map[string]func(func(string)){} // by protocol
	for _, pl := range g.listeners {
		if p, ok := pl.handler.(interface{ ProducerTopics(func(string)) }); ok {
			producers[pl.protocol] = p.ProducerTopics
		}
		switch h := pl.handler.(type) {
		case *kafka.Handler:
			groups = h.Groups
			opts.Groups = h.Groups
		case *mqtt.Server:
			opts.Sessions = h.Sessions
		case *amqp.Server:
			opts.Queues = func(ctx context.Context) ([]console.Queue, error) { return queuesOf(ctx, h) }
		}
	}
	opts.Topics = func(ctx context.Context) ([]console.Topic, error) {
		return topicsOf(ctx, g.backend.Admin(), namespace, groups, producers)
	}
	return console.New(opts)
}

func backendName(cfg *config.Config) string {
	if cfg.Backend == config.BackendPulsar {
		return "Pulsar at " + cfg.Pulsar.URL
	}
	return "embedded at " + cfg.DataDir
}

// consoleLogin is the console's login check: the logins of auth.password_file
// and token logins, as the protocols take them; with authorization on,
// only who may describe the cluster (super users among them). nil when
// no login is configured.
func consoleLogin(cfg *config.Config, tokens *jwtauth.Validator, rules *authz.Authorizer) (func(user, password string) bool, error) {
	var users *passwd.Watched
	if cfg.Auth.PasswordFile != "" {
		var err error
		if users, err = passwd.Watch(cfg.Auth.PasswordFile); err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
	}
	check := checkLogin(protocolDeps{Config: cfg, Tokens: tokens}, users)
	if check == nil {
		return nil, nil
	}
	return func(user, password string) bool {
		if !check(user, []byte(password)) {
			return false
		}
		return rules == nil || rules.Allowed(authz.Who{Principal: user}, authz.Describe, authz.Cluster, authz.ClusterName)
	}, nil
}

// topicsOf lists a namespace's topics with their subscriptions, each
// named with the protocol that owns it by DESIGN.md's names.
func topicsOf(ctx context.Context, admin bridge.Admin, namespace string, groups func(context.Context) ([]kafka.GroupView, error),
	producers map[string]func(func(string))) ([]console.Topic, error) {
	// This gateway's producers by short topic name and protocol.
	producing := map[string]map[string]int{}
	for protocol, each := range producers {
		each(func(topic string) {
			name := shortTopic(topic)
			if producing[name] == nil {
				producing[name] = map[string]int{}
			}
			producing[name][protocol]++
		})
	}
	kafkaGroups := map[string]bool{}
	if groups != nil {
		gs, err := groups(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			kafkaGroups[g.Name] = true
		}
	}
	list, err := admin.ListTopics(ctx, namespace)
	if err != nil {
		return nil, err
	}
	out := make([]console.Topic, 0, len(list))
	for _, ti := range list {
		short := shortTopic(ti.Name)
		if strings.HasPrefix(short, "__") {
			continue // the gateway's own state and logs
		}
		t := console.Topic{Name: short, Partitions: ti.Partitions}
		subs, err := admin.Subscriptions(ctx, ti.Name)
		if errors.Is(err, bridge.ErrTopicNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			protocol := "pulsar"
			switch {
			case s.Name == "amqp":
				protocol = "amqp"
			case strings.HasPrefix(s.Name, "mqtt-"):
				protocol = "mqtt"
			case strings.HasPrefix(s.Name, "rocketmq-"):
				protocol = "rocketmq" // a RocketMQ group's mirrored offsets
			case kafkaGroups[s.Name]:
				protocol = "kafka"
			}
			t.Subscriptions = append(t.Subscriptions, console.Subscription{Name: s.Name, Protocol: protocol,
				Type: s.Type.String(), Backlog: s.Backlog, Consumers: s.Consumers})
			t.Backlog = max(t.Backlog, s.Backlog)
		}
		for _, protocol := range protocols {
			if n := producing[short][protocol]; n > 0 {
				t.Producers = append(t.Producers, console.Producers{Protocol: protocol, Count: n})
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// queuesOf lists every vhost's queues with their counts, as the
// management API's /api/queues does.
func queuesOf(ctx context.Context, s *amqp.Server) ([]console.Queue, error) {
	queues, err := s.Queues(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]console.Queue, 0, len(queues))
	for _, q := range queues {
		c := q.Counts
		out = append(out, console.Queue{VHost: q.VHost, Name: q.Name, Ready: q.Ready, Unacked: q.Unacked,
			Consumers: int64(q.Consumers), Published: c.Publish, Delivered: c.Deliver + c.DeliverNoAck + c.Get + c.GetNoAck})
	}
	return out, nil
}

// shortTopic is a topic's name without its tenant, namespace and
// partition suffix.
func shortTopic(full string) string {
	name := full[strings.LastIndex(full, "/")+1:]
	if i := strings.LastIndex(name, "-partition-"); i > 0 {
		if _, err := strconv.Atoi(name[i+len("-partition-"):]); err == nil {
			name = name[:i]
		}
	}
	return name
}
