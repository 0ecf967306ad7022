package kafka

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// frame builds a request frame the way a client does.
func frame(req kmsg.Request, version int16) []byte {
	req.SetVersion(version)
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz")).AppendRequest(nil, req, 1)
}

// FuzzRequest sends one arbitrary frame body: the gateway must answer or
// close the connection, never panic or hang.
func FuzzRequest(f *testing.F) {
	meta := kmsg.NewPtrMetadataRequest()
	meta.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("t")}}
	produce := kmsg.NewPtrProduceRequest()
	produce.Acks = 1
	produce.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: rawBatch(-1, -1, -1, "x")}}}}
	for _, seed := range [][]byte{
		frame(kmsg.NewPtrApiVersionsRequest(), 3),
		frame(kmsg.NewPtrApiVersionsRequest(), 0),
		frame(meta, 12),
		frame(meta, 1),
		frame(produce, 9),
		frame(produce, 3),
		frame(kmsg.NewPtrFindCoordinatorRequest(), 3),
		frame(alterSeed(), 1),
		frame(incrementalSeed(), 1),
		frame(deleteRecordsSeed(), 2),
		frame(logDirsSeed(), 1),
		frame(logDirsSeed(), 4),
		frame(topicPartitionsSeed(), 0),
	} {
		f.Add(seed[4:]) // without the size: the fuzzer keeps it consistent
	}
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close() })
	h, err := New(context.Background(), b, Options{Advertised: "127.0.0.1:9092", Logger: zap.NewNop(), MaxRequestSize: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { h.Close() })

	f.Fuzz(func(t *testing.T, body []byte) {
		client, server := net.Pipe()
		defer client.Close()
		done := make(chan error, 1)
		go func() {
			done <- h.HandleConn(context.Background(), server)
			server.Close()
		}()
		client.SetDeadline(time.Now().Add(300 * time.Millisecond))
		msg := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
		go client.Write(append(msg, body...))
		// Read whatever comes back until the gateway closes or the single
		// answer is in; then hang up.
		var size [4]byte
		if _, err := io.ReadFull(client, size[:]); err == nil {
			n := binary.BigEndian.Uint32(size[:])
			if n > 1<<24 {
				t.Fatalf("response size %d", n)
			}
			if _, err := io.ReadFull(client, make([]byte, n)); err != nil {
				t.Fatalf("short response: %v", err)
			}
		}
		// No answer in time is allowed: a fuzzed Fetch or JoinGroup may
		// legitimately wait. Closing must still end it promptly.
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("HandleConn did not return after the client closed")
		}
	})
}

func alterSeed() *kmsg.AlterConfigsRequest {
	r := kmsg.NewPtrAlterConfigsRequest()
	res := kmsg.NewAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
	res.Configs = []kmsg.AlterConfigsRequestResourceConfig{{Name: "cleanup.policy", Value: kmsg.StringPtr("compact")}}
	r.Resources = append(r.Resources, res)
	return r
}

func incrementalSeed() *kmsg.IncrementalAlterConfigsRequest {
	r := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
	res.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "cleanup.policy", Op: kmsg.IncrementalAlterConfigOpAppend, Value: kmsg.StringPtr("delete")}}
	r.Resources = append(r.Resources, res)
	return r
}

func deleteRecordsSeed() *kmsg.DeleteRecordsRequest {
	r := kmsg.NewPtrDeleteRecordsRequest()
	r.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: "t", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 1}}}}
	return r
}

// logDirsSeed is a DescribeLogDirs of one topic's partition (kafka-log-dirs
// --topic-list).
func logDirsSeed() *kmsg.DescribeLogDirsRequest {
	req := kmsg.NewPtrDescribeLogDirsRequest()
	req.Topics = []kmsg.DescribeLogDirsRequestTopic{{Topic: "t", Partitions: []int32{0}}}
	return req
}

// topicPartitionsSeed is a DescribeTopicPartitions with a cursor.
func topicPartitionsSeed() *kmsg.DescribeTopicPartitionsRequest {
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.Topics = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "t"}, {Topic: "u"}}
	req.Cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: "t", Partition: 1}
	return req
}
