#!/usr/bin/env bash
# Kafka's own VerifiableConsumer group through a rebalance under load, against one
# bootstrap address: the same run against the gateway and against real Kafka compares
# how many records each group consumed, how many of its commits failed, and the lag it
# ends with. Not part of scripts/test.sh (about a minute per run); issue 13 measured it.
#
#   run.sh BOOTSTRAP [ASSIGNOR]     ASSIGNOR: cooperative (default) or range
#
# A member joins while the producer writes (at 500 records/s for 20 s); then the first
# member is SIGKILLed and a third joins. Every member commits after each poll
# (VerifiableConsumer without --enable-autocommit). Prints a summary line and the commonest
# reasons commits failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
boot=${1:?bootstrap address}
case "${2:-cooperative}" in
  cooperative) assignor=org.apache.kafka.clients.consumer.CooperativeStickyAssignor ;;
  range) assignor=org.apache.kafka.clients.consumer.RangeAssignor ;;
  *) echo "assignor: cooperative or range" >&2; exit 2 ;;
esac
cp=$("$here/../kraft.sh" classpath)
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
# An array, not a function: a function run with & is a subshell, and killing it would leave the
# JVM running (no SIGKILL of the member at all).
java=(java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.level=warn -cp "$cp")
id=$(date +%s%N)
topic=verifiable-$id group=verifiable-g-$id
"${java[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "$boot" --create --topic "$topic" --partitions 4 >/dev/null
member() {
  "${java[@]}" org.apache.kafka.tools.VerifiableConsumer --bootstrap-server "$boot" --topic "$topic" \
    --group-id "$group" --group-protocol classic --assignment-strategy "$assignor" \
    --session-timeout 10000 --reset-policy earliest >"$work/member$1.jsonl" 2>/dev/null &
  pids+=($!)
}
member 1
sleep 3
"${java[@]}" org.apache.kafka.tools.VerifiableProducer --bootstrap-server "$boot" --topic "$topic" \
  --max-messages 10000 --throughput 500 >"$work/producer.jsonl" 2>/dev/null &
producer=$!
sleep 5; member 2
sleep 5; kill -9 "${pids[0]}"; member 3
wait "$producer"
sleep 15
for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null || true; done
sleep 3
describe=$("${java[@]}" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$boot" --describe --group "$group" 2>/dev/null || true)
/usr/bin/python3 - "$work" "$topic" "$describe" <<'PY'
import json, sys, glob
work, topic, describe = sys.argv[1], sys.argv[2], sys.argv[3]
acked = sum(1 for l in open(work + "/producer.jsonl") if '"producer_send_success"' in l)
consumed = failed = 0
reasons = {}
for f in glob.glob(work + "/member*.jsonl"):
    for line in open(f):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("name") == "records_consumed":
            consumed += e.get("count", 0)
        if e.get("name") == "offsets_committed" and not e.get("success", True):
            failed += 1
            r = str(e.get("error", "?"))[:80]
            reasons[r] = reasons.get(r, 0) + 1
lag = []
for line in describe.splitlines():
    f = line.split()
    if len(f) >= 6 and f[1] == topic:
        lag.append(f[5])
print("produced %d, consumed %d (duplicates included), failed commits %d, lag per partition %s"
      % (acked, consumed, failed, " ".join(lag)))
for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:3]:
    print("  %5d commits failed: %s" % (n, r))
PY
