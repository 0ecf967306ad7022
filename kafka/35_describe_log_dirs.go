package kafka

import (
	"errors"
	"slices"
	"sync"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// DescribeLogDirs v0-v4 (kafka-log-dirs.sh, Admin.describeLogDirs): one log
// dir, Options.LogDir, holding every partition with its stored size
// (bridge.Admin.StoredBytes) and no lag, there being no replicas. As Kafka:
// DESCRIBE on the cluster, all partitions for a null topic list, and
// partitions that do not exist left out. Kafka's internal topics are not
// stored as partitions here, so they are not listed. The volume's sizes
// (v4) are unknown: -1.
func init() { register(35, 0, 4, handleDescribeLogDirs) }

// logDirSizeCalls bounds the backend calls one DescribeLogDirs makes at
// once (on Pulsar, one stats request per partition).
const logDirSizeCalls = 8

func (h *Handler) logDir() string {
	if h.opts.LogDir != "" {
		return h.opts.LogDir
	}
	return "persistent://" + h.opts.Namespace
}

func handleDescribeLogDirs(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeLogDirsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !r.allowedCluster(authz.Describe) {
		// v3+ says so; before, Kafka answers no dirs.
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	wanted := map[string][]int32{} // topic -> partitions; nil: all of them
	var names []string
	if req.Topics == nil {
		all, err := h.topics.list(r.ctx)
		if err != nil {
			return h.logDirError(resp, err), nil
		}
		names = all
	} else {
		for _, t := range req.Topics {
			ps := wanted[t.Topic]
			if ps == nil {
				names, ps = append(names, t.Topic), []int32{}
			}
			wanted[t.Topic] = append(ps, t.Partitions...)
		}
	}
	slices.Sort(names)

	type sized struct {
		topic, partition string
		index            int32
		bytes            int64
		err              error
	}
	var parts []*sized
	for _, name := range names {
		if isInternal(name) || !validTopic(name) {
			continue
		}
		info, ok, err := h.topics.get(r.ctx, name)
		if err != nil {
			return h.logDirError(resp, err), nil
		}
		if !ok {
			continue
		}
		for p := range int32(info.partitions) {
			if ps, listed := wanted[name]; listed && !slices.Contains(ps, p) {
				continue
			}
			parts = append(parts, &sized{topic: name, partition: info.partition(p), index: p})
		}
	}
	sem := make(chan struct{}, logDirSizeCalls)
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			p.bytes, p.err = h.b.Admin().StoredBytes(r.ctx, p.partition)
		}()
	}
	wg.Wait()

	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = h.logDir()
	for _, p := range parts {
		if p.err != nil {
			if errors.Is(p.err, bridge.ErrTopicNotFound) {
				continue // deleted meanwhile
			}
			return h.logDirError(resp, p.err), nil
		}
		if n := len(dir.Topics); n == 0 || dir.Topics[n-1].Topic != p.topic {
			t := kmsg.NewDescribeLogDirsResponseDirTopic()
			t.Topic = p.topic
			dir.Topics = append(dir.Topics, t)
		}
		dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		dp.Partition, dp.Size = p.index, p.bytes
		t := &dir.Topics[len(dir.Topics)-1]
		t.Partitions = append(t.Partitions, dp)
	}
	resp.Dirs = []kmsg.DescribeLogDirsResponseDir{dir}
	return resp, nil
}

// logDirError answers a store that could not be read as Kafka answers an
// offline log dir: the dir with KAFKA_STORAGE_ERROR.
func (h *Handler) logDirError(resp *kmsg.DescribeLogDirsResponse, err error) *kmsg.DescribeLogDirsResponse {
	h.log.Debug("describe log dirs", zap.Error(err))
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir, dir.ErrorCode = h.logDir(), kerr.KafkaStorageError.Code
	resp.Dirs = []kmsg.DescribeLogDirsResponseDir{dir}
	return resp
}
