package kafka

import (
	"strconv"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zapcore"
)

// DescribeConfigs v0-v4. A topic's configs are the defaults with what
// CreateTopics or AlterConfigs set (topicconfigs.go), reported as
// DYNAMIC_TOPIC_CONFIG: Connect refuses to start unless its internal topics
// describe as compact. Broker settings are the gateway's own, read-only.
func init() { register(32, 0, 4, handleDescribeConfigs) }

func (h *Handler) brokerConfigs() map[string]string {
	return map[string]string{
		"auto.create.topics.enable":  strconv.FormatBool(!h.opts.DisableAutoCreate),
		"num.partitions":             strconv.Itoa(h.opts.DefaultPartitions),
		"socket.request.max.bytes":   strconv.Itoa(int(h.opts.MaxRequestSize)),
		"default.replication.factor": "1",
		// What kafka-configs --describe --all shows of this broker, as
		// DescribeCluster, DescribeLogDirs and Metadata say.
		"broker.id":                    strconv.Itoa(int(h.nodeID)),
		"node.id":                      strconv.Itoa(int(h.nodeID)),
		"log.dirs":                     h.logDir(),
		"offsets.topic.num.partitions": strconv.Itoa(offsetsTopicPartitions),
	}
}

func handleDescribeConfigs(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, res := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		var entries []topicConfigEntry
		source, readOnly := kmsg.ConfigSourceDefaultConfig, false
		if rr.ErrorCode = r.configRefusal(res.ResourceType, res.ResourceName, authz.DescribeConfigs); rr.ErrorCode != 0 {
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		switch res.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			if isInternal(res.ResourceName) {
				if !h.internalShown(res.ResourceName) {
					rr.ErrorCode = kerr.UnknownTopicOrPartition.Code
				}
				// Kafka's: offsets are kept per key.
				entries, readOnly = h.describeEntries(map[string]string{"cleanup.policy": "compact"}), true
				break
			}
			info, ok, err := h.topics.get(r.ctx, res.ResourceName)
			switch {
			case err != nil:
				rr.ErrorCode = errorCode(err)
			case !ok:
				rr.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				entries = h.describeTopic(info.full)
			}
		case kmsg.ConfigResourceTypeBroker:
			if res.ResourceName != "" && res.ResourceName != strconv.Itoa(int(h.nodeID)) {
				rr.ErrorCode = kerr.InvalidRequest.Code
			}
			for name, value := range h.brokerConfigs() {
				entries = append(entries, topicConfigEntry{name: name, value: value})
			}
			source, readOnly = kmsg.ConfigSourceStaticBrokerConfig, true
		case kmsg.ConfigResourceTypeBrokerLogger:
			// kafka-configs --entity-type broker-loggers: the gateway has
			// one logger, its level named as log4j names them.
			if res.ResourceName != strconv.Itoa(int(h.nodeID)) {
				rr.ErrorCode = kerr.InvalidRequest.Code
			}
			entries = []topicConfigEntry{{name: "root", value: log4jLevel(h.log.Level()), set: true}}
			source, readOnly = kmsg.ConfigSourceDynamicBrokerLoggerConfig, true
		default:
			rr.ErrorCode = kerr.InvalidRequest.Code
		}
		if rr.ErrorCode == 0 {
			for _, e := range entries {
				if !wanted(res.ConfigNames, e.name) {
					continue
				}
				c := kmsg.NewDescribeConfigsResponseResourceConfig()
				c.Name, c.Value, c.ReadOnly, c.IsDefault, c.Source = e.name, kmsg.StringPtr(e.value), readOnly, !e.set, source
				if e.set {
					c.Source = kmsg.ConfigSourceDynamicTopicConfig
					if res.ResourceType != kmsg.ConfigResourceTypeTopic {
						c.Source = source
					}
				}
				if req.IncludeSynonyms && res.ResourceType != kmsg.ConfigResourceTypeBrokerLogger { // Kafka's loggers have none
					syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
					syn.Name, syn.Value, syn.Source = c.Name, c.Value, c.Source
					c.ConfigSynonyms = append(c.ConfigSynonyms, syn)
				}
				rr.Configs = append(rr.Configs, c)
			}
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

// wanted: a nil list asks for every config.
func wanted(names []string, name string) bool {
	if names == nil {
		return true
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// log4jLevel names a zap level as Kafka's log4j loggers are named.
func log4jLevel(l zapcore.Level) string {
	switch l {
	case zapcore.DebugLevel:
		return "DEBUG"
	case zapcore.InfoLevel:
		return "INFO"
	case zapcore.WarnLevel:
		return "WARN"
	case zapcore.ErrorLevel:
		return "ERROR"
	case zapcore.DPanicLevel, zapcore.PanicLevel, zapcore.FatalLevel:
		return "FATAL"
	}
	return "OFF" // a logger that logs nothing
}
