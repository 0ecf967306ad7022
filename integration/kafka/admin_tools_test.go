package kafka_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestKafkaAdminTools runs the classes behind kafka-topics.sh,
// kafka-configs.sh, kafka-log-dirs.sh and kafka-consumer-groups.sh against
// the gateway and checks what an operator reads in their tables: a
// 3-partition topic with a retention.ms override, led by the gateway's
// broker id with empty ELRs; its dynamic config, the broker's and its
// logger's level; one log
// dir holding the three partitions with their sizes; a group with two live
// members (client id, /host, assignment, range strategy, Stable) whose
// committed offsets lag; and --reset-offsets of the group once inactive,
// to earliest, latest, an offset, a shift and a date time, which a consumer
// then resumes from. A group that does not exist is not found.
func TestKafkaAdminTools(t *testing.T) {
	cp := kafkaToolsClasspath(t)
	eachBackend(t, func(t *testing.T, addr, suffix string) {
		topic, group := "admintools"+suffix, "admintools-g"+suffix
		tool := func(class string, args ...string) (string, error) {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			return runCombined(ctx, "java", append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1",
				"-Dlog4j2.level=warn", "-cp", cp, class, "--bootstrap-server", addr}, args...)...)
		}
		must := func(class string, args ...string) string {
			t.Helper()
			out, err := tool(class, args...)
			if err != nil {
				t.Fatalf("%s %v: %v\n%s", class, args, err, out)
			}
			return out
		}
		topics := func(args ...string) string { return must("org.apache.kafka.tools.TopicCommand", args...) }
		configs := func(args ...string) string { return must("kafka.admin.ConfigCommand", args...) }
		groupsClass := "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
		groups := func(args ...string) string { return must(groupsClass, append([]string{"--group", group}, args...)...) }

		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		brokers, err := kadm.NewClient(cl).ListBrokers(ctx)
		if err != nil || len(brokers) != 1 {
			t.Fatalf("brokers %v: %v", brokers, err)
		}
		node := strconv.Itoa(int(brokers[0].NodeID))

		// kafka-topics: create, then describe.
		topics("--create", "--topic", topic, "--partitions", "3", "--config", "retention.ms=3600000")
		desc := topics("--describe", "--topic", topic)
		head := toolFields(desc, "Topic: "+topic+"\t")
		if len(head) != 1 || head[0]["PartitionCount"] != "3" || head[0]["ReplicationFactor"] != "1" || head[0]["Configs"] != "retention.ms=3600000" {
			t.Errorf("kafka-topics --describe header %v, want PartitionCount 3, ReplicationFactor 1, Configs retention.ms=3600000:\n%s", head, desc)
		}
		parts := toolFields(desc, "\tTopic: "+topic+"\tPartition:")
		if len(parts) != 3 {
			t.Fatalf("kafka-topics --describe: %d partition lines, want 3:\n%s", len(parts), desc)
		}
		for i, p := range parts {
			if p["Partition"] != strconv.Itoa(i) || p["Leader"] != node || p["Replicas"] != node || p["Isr"] != node || p["Elr"] != "" || p["LastKnownElr"] != "" {
				t.Errorf("partition line %v, want partition %d led by %s alone, empty Elr and LastKnownElr", p, i, node)
			}
		}

		// kafka-configs: the topic's override, the broker's settings.
		if out := configs("--describe", "--entity-type", "topics", "--entity-name", topic); !strings.Contains(out,
			"retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000}") {
			t.Errorf("kafka-configs --describe of the topic:\n%s", out)
		}
		if out := configs("--describe", "--all", "--entity-type", "brokers", "--entity-name", node); !strings.Contains(out, "All configs for broker "+node+" are:") ||
			!strings.Contains(out, "  num.partitions=1 sensitive=false") || !strings.Contains(out, "  node.id="+node+" sensitive=false") {
			t.Errorf("kafka-configs --describe --all of broker %s:\n%s", node, out)
		}
		if out := configs("--describe", "--entity-type", "broker-loggers", "--entity-name", node); !strings.Contains(out, "  root=INFO sensitive=false synonyms={}") {
			t.Errorf("kafka-configs --describe of broker-logger %s:\n%s", node, out)
		}
		if out := configs("--describe", "--entity-type", "brokers", "--entity-default"); !strings.Contains(out, "Default configs for brokers in the cluster are:") {
			t.Errorf("kafka-configs --describe --entity-default:\n%s", out)
		}

		// Five records per partition, then the time T, then five more.
		produce := func(from int) {
			t.Helper()
			var recs []*kgo.Record
			for p := range int32(3) {
				for i := from; i < from+5; i++ {
					recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, "p%d-%d", p, i)})
				}
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		produce(0)
		time.Sleep(200 * time.Millisecond)
		at := time.Now().UTC()
		time.Sleep(200 * time.Millisecond)
		produce(5)

		// kafka-log-dirs: one dir, the three partitions with their bytes.
		out := must("org.apache.kafka.tools.LogDirsCommand", "--describe", "--topic-list", topic)
		var dirs struct {
			Brokers []struct {
				Broker  int32
				LogDirs []struct {
					LogDir     string
					Error      *string
					Partitions []struct {
						Partition string
						Size      int64
						OffsetLag int64
					}
				}
			}
		}
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &dirs); err != nil {
			t.Fatalf("kafka-log-dirs output: %v\n%s", err, out)
		}
		if len(dirs.Brokers) != 1 || strconv.Itoa(int(dirs.Brokers[0].Broker)) != node || len(dirs.Brokers[0].LogDirs) != 1 {
			t.Fatalf("kafka-log-dirs: want broker %s with one log dir:\n%s", node, out)
		}
		ld := dirs.Brokers[0].LogDirs[0]
		var names []string
		for _, p := range ld.Partitions {
			names = append(names, p.Partition)
			if p.Size < 10*4 || p.OffsetLag != 0 { // ten values of 4+ bytes each
				t.Errorf("kafka-log-dirs: %s has size %d lag %d, want its ten records' bytes and no lag", p.Partition, p.Size, p.OffsetLag)
			}
		}
		slices.Sort(names)
		if ld.Error != nil || ld.LogDir == "" || fmt.Sprint(names) != fmt.Sprintf("[%[1]s-0 %[1]s-1 %[1]s-2]", topic) {
			t.Errorf("kafka-log-dirs: dir %q error %v partitions %v, want the topic's three:\n%s", ld.LogDir, ld.Error, names, out)
		}

		// Two live members; one commits offset 3 on every partition.
		var members []*kgo.Client
		for _, id := range []string{"tools-a", "tools-b"} {
			m, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID(id), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
				kgo.Balancers(kgo.RangeBalancer()), kgo.DisableAutoCommit())
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			members = append(members, m)
		}
		adm := kadm.NewClient(cl)
		for {
			d, err := adm.DescribeGroups(ctx, group)
			if err != nil {
				t.Fatal(err)
			}
			if g := d[group]; g.State == "Stable" && len(g.Members) == 2 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("the group did not become Stable with 2 members: %+v", d[group])
			}
			time.Sleep(100 * time.Millisecond)
		}
		commit := map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: 3}, 1: {Epoch: -1, Offset: 3}, 2: {Epoch: -1, Offset: 3}}}
		var commitErr error
		members[0].CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						commitErr = err
					}
				}
			}
		})
		if commitErr != nil {
			t.Fatalf("commit: %v", commitErr)
		}

		desc = groups("--describe")
		rows := toolTable(desc, "GROUP")
		if len(rows) != 3 {
			t.Fatalf("kafka-consumer-groups --describe: %d rows, want 3:\n%s", len(rows), desc)
		}
		owners := map[string]bool{}
		for _, r := range rows {
			owners[r["CLIENT-ID"]] = true
			if r["TOPIC"] != topic || r["CURRENT-OFFSET"] != "3" || r["LOG-END-OFFSET"] != "10" || r["LAG"] != "7" ||
				!strings.HasPrefix(r["CONSUMER-ID"], r["CLIENT-ID"]+"-") || r["HOST"] != "/127.0.0.1" {
				t.Errorf("kafka-consumer-groups --describe row %v, want offset 3 of 10, lag 7, owned by a member on /127.0.0.1", r)
			}
		}
		if !owners["tools-a"] || !owners["tools-b"] {
			t.Errorf("kafka-consumer-groups --describe: partitions owned by %v, want tools-a and tools-b:\n%s", owners, desc)
		}
		desc = groups("--describe", "--members", "--verbose")
		rows = toolTable(desc, "GROUP")
		assigned := map[string]string{}
		for _, r := range rows {
			assigned[r["CLIENT-ID"]] = r["#PARTITIONS"] + " " + r["CURRENT-ASSIGNMENT"]
			if r["HOST"] != "/127.0.0.1" {
				t.Errorf("member %v: HOST want /127.0.0.1", r)
			}
		}
		// The range assignor gives the first member (by member id) two.
		if a, b := assigned["tools-a"], assigned["tools-b"]; len(rows) != 2 ||
			!(a == "2 "+topic+":0,1" && b == "1 "+topic+":2" || b == "2 "+topic+":0,1" && a == "1 "+topic+":2") {
			t.Errorf("kafka-consumer-groups --describe --members --verbose: %v, want %s:0,1 and %s:2:\n%s", assigned, topic, topic, desc)
		}
		desc = groups("--describe", "--state")
		if st := toolTable(desc, "GROUP"); len(st) != 1 || st[0]["ASSIGNMENT-STRATEGY"] != "range" || st[0]["STATE"] != "Stable" ||
			st[0]["#MEMBERS"] != "2" || !strings.Contains(desc, "("+node+")") {
			t.Errorf("kafka-consumer-groups --describe --state: %v, want range, Stable, 2 members, coordinator (%s):\n%s", st, node, desc)
		}
		if out, err := tool(groupsClass, "--group", group, "--topic", topic, "--reset-offsets", "--to-earliest", "--execute"); !strings.Contains(out,
			"Assignments can only be reset if the group '"+group+"' is inactive, but the current state is Stable") {
			t.Errorf("--reset-offsets of a Stable group: %v\n%s", err, out)
		}

		// As Kafka 4: a group that does not exist is GROUP_ID_NOT_FOUND (the
		// tool prints the exception and exits 0, as on Kafka).
		missing := "admintools-none" + suffix
		if out, err := tool(groupsClass, "--describe", "--group", missing); !strings.Contains(out, "GroupIdNotFoundException: Group "+missing+" not found.") {
			t.Errorf("--describe of a group that does not exist: %v\n%s", err, out)
		}

		// Inactive: each reset, then --describe shows the new offsets.
		for _, m := range members {
			m.Close()
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--to-earliest"}, "0"},
			{[]string{"--to-latest"}, "10"},
			{[]string{"--to-offset", "4"}, "4"},
			{[]string{"--shift-by", "-2"}, "2"},
			{[]string{"--to-datetime", at.Format("2006-01-02T15:04:05.000Z")}, "5"},
		} {
			args := append([]string{"--topic", topic, "--reset-offsets"}, tc.args...)
			out := groups(append(args, "--execute")...)
			if rows := toolTable(out, "GROUP"); len(rows) != 3 || rows[0]["NEW-OFFSET"] != tc.want || rows[1]["NEW-OFFSET"] != tc.want || rows[2]["NEW-OFFSET"] != tc.want {
				t.Errorf("%v: want NEW-OFFSET %s on each partition:\n%s", tc.args, tc.want, out)
			}
			desc := groups("--describe")
			rows := toolTable(desc, "GROUP")
			lag, _ := strconv.Atoi(tc.want)
			for _, r := range rows {
				if r["CURRENT-OFFSET"] != tc.want || r["LAG"] != strconv.Itoa(10-lag) || r["CONSUMER-ID"] != "-" {
					t.Errorf("after %v: row %v, want offset %s lag %d and no member", tc.args, r, tc.want, 10-lag)
				}
			}
			if len(rows) != 3 || !strings.Contains(desc, "Consumer group '"+group+"' has no active members.") {
				t.Errorf("after %v: --describe\n%s", tc.args, desc)
			}
		}

		// A consumer in the group resumes at offset 5, the first record after T.
		c, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		first := map[int32]string{}
		for len(first) < 3 && ctx.Err() == nil {
			c.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				if _, seen := first[r.Partition]; !seen {
					first[r.Partition] = fmt.Sprintf("%d:%s", r.Offset, r.Value)
				}
			})
		}
		for p := range int32(3) {
			if want := fmt.Sprintf("5:p%d-5", p); first[p] != want {
				t.Errorf("partition %d: the consumer resumed at %q, want %s", p, first[p], want)
			}
		}
	})
}

// toolFields parses the lines starting with prefix of a kafka-topics
// --describe ("Key: value" separated by tabs) into maps.
func toolFields(out, prefix string) []map[string]string {
	var rows []map[string]string
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		row := map[string]string{}
		for _, f := range strings.Split(strings.TrimPrefix(line, "\t"), "\t") {
			k, v, _ := strings.Cut(f, ":")
			row[k] = strings.TrimSpace(v)
		}
		rows = append(rows, row)
	}
	return rows
}

// toolTable parses the table of kafka-consumer-groups whose header starts
// with first: each following non-empty line, column by column (no cell
// holds a space).
func toolTable(out, first string) []map[string]string {
	var header []string
	var rows []map[string]string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == first:
			header, rows = f, nil
		case header != nil && len(f) == len(header):
			row := map[string]string{}
			for i, h := range header {
				row[h] = f[i]
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// runCombined runs a command and returns its stdout and stderr together.
func runCombined(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
