#!/usr/bin/env bash
# Re-capture the frames in this folder from a real RocketMQ (see README.md). Needs a running
# ../rocketmq.sh (best started with --fresh, so offsets are small and stable), go, java, python3.
#
#   integration/rocketmq/rocketmq.sh start --fresh
#   integration/rocketmq/testdata/capture.sh
#   integration/rocketmq/rocketmq.sh stop
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
RMQ=$HERE/../rocketmq.sh
WORK=$(mktemp -d)
trap 'kill "${CAP_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

eval "$("$RMQ" status)" # ROCKETMQ_NAMESRV, ROCKETMQ_BROKER
(cd "$ROOT" && go build -o "$WORK/capture" ./integration/rocketmq/capture &&
  go build -o "$WORK/refcheck" ./integration/rocketmq/refcheck)
LIB=$("$RMQ" classpath)

# start_capture NAME: the recording proxy in front of our name server and broker.
start_capture() {
  "$WORK/capture" -namesrv "$ROCKETMQ_NAMESRV" -broker "$ROCKETMQ_BROKER" -out "$WORK/$1" -for 5m >"$WORK/$1.addr" &
  CAP_PID=$!
  for _ in $(seq 50); do [[ -s $WORK/$1.addr ]] && break; sleep 0.1; done
  NS=$(sed -n 's/^CAPTURE_NAMESRV=//p' "$WORK/$1.addr")
}
stop_capture() { kill "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true; CAP_PID=; }

# 1. The Go client (JSON headers): refcheck's producer and push consumer on a new topic.
start_capture go
"$WORK/refcheck" -namesrv "$NS" -topic capture-go -group capture-go-group -n 8 -quiet
stop_capture
# ... a batch of 4 (topic capture-go-batch), and a failed consume sent back (capture-go-retry,
# about 45 s: the client finds the new %RETRY% topic on its 30 s route poll).
start_capture go-batch
"$WORK/refcheck" -namesrv "$NS" -topic capture-go -group capture-go-group -scenario batch -quiet
stop_capture
start_capture go-retry
"$WORK/refcheck" -namesrv "$NS" -topic capture-go -group capture-go-group -scenario retry -timeout 120s >/dev/null
stop_capture

# 2. The Java client 5.1.4 with ROCKETMQ (binary) headers, through mqadmin: route, one
#    SEND_MESSAGE_V2, a pull of 2 messages.
mqadmin() {
  echo '<configuration><root level="OFF"/></configuration>' >"$WORK/logback.xml"
  java -Drocketmq.serialize.type=ROCKETMQ -Duser.home="$WORK" -Drmq.logback.configurationFile="$WORK/logback.xml" \
    -cp "$LIB" org.apache.rocketmq.tools.command.MQAdminStartup "$@" -n "$NS"
}
start_capture java-setup
mqadmin updateTopic -c DefaultCluster -t capture-java -r 2 -w 2 >/dev/null
mqadmin sendMessage -t capture-java -p "java body 1" -k jkey-1 -c TagJ -b broker-a -i 0 >/dev/null
stop_capture
start_capture java
mqadmin sendMessage -t capture-java -p "java body 2" -k jkey-2 -c TagJ -b broker-a -i 0 >/dev/null
mqadmin consumeMessage -t capture-java -b broker-a -i 0 -o 0 -c 2 -g capture-java-group >/dev/null
stop_capture

# Pick the exchanges a codec test wants, under stable names, with their index lines.
python3 - "$WORK" "$HERE" <<'PY'
import json, os, shutil, sys
work, out = sys.argv[1], sys.argv[2]
for f in os.listdir(out):
    if f.endswith('.bin') or f == 'index.jsonl':
        os.remove(os.path.join(out, f))
picked = []

def load(run):
    es = [json.loads(l) for l in open(os.path.join(work, run, 'index.jsonl'))]
    for e in es:
        e['run'] = run
        e['h'] = e.get('header') or e.get('rmqHeader') or {}
    return es

def reply(es, req):
    for e in es:
        if e['conn'] == req['conn'] and e['dir'] == 's2c' and e['h'].get('opaque') == req['h'].get('opaque') \
                and e['h'].get('flag', 0) & 1:
            return e
    raise SystemExit('no reply to %s' % req['file'])

def pick(es, name, req, with_reply=True):
    pairs = [(name + '-request', req)]
    if with_reply:
        pairs.append((name + '-response', reply(es, req)))
    for n, e in pairs:
        shutil.copy(os.path.join(work, e['run'], e['file']), os.path.join(out, n + '.bin'))
        rec = {k: v for k, v in e.items() if k not in ('h', 'file', 'run', 'at', 'seq', 'conn')}
        rec['file'] = n + '.bin'
        picked.append(rec)

def first(es, cond):
    for e in es:
        if cond(e):
            return e
    raise SystemExit('not captured')

def req(code, **ext):
    return lambda e: e['dir'] == 'c2s' and e['h'].get('code') == code and \
        all((e['h'].get('extFields') or {}).get(k) == v for k, v in ext.items())

go = load('go')
pick(go, 'go-route-topic-not-exist', first(go, req(105, topic='capture-go')))
pick(go, 'go-route-tbw102', first(go, req(105, topic='TBW102')))
pick(go, 'go-send', first(go, req(10)))
routes = [e for e in go if req(105, topic='capture-go')(e)]
pick(go, 'go-route', routes[1])  # after the first send created the topic
pick(go, 'go-heartbeat', first(go, req(34)))
pick(go, 'go-consumer-list', first(go, req(38)))
pick(go, 'go-query-offset', first(go, req(14)))
# A pull that returns 2 messages: every queue holds 3 (2 TagA, 1 TagB), the broker filters TagB.
pick(go, 'go-pull-2-messages', first(go, lambda e: req(11, queueOffset='0')(e) and reply(go, e)['bodyLen'] > 0))
pick(go, 'go-update-offset', first(go, req(15)), with_reply=False)
notify = first(go, lambda e: e['dir'] == 's2c' and e['h'].get('code') == 40)
pick([notify], 'go-notify-consumer-ids-changed', notify, with_reply=False)

batch = load('go-batch')
pick(batch, 'go-send-batch', first(batch, req(320)))
retry = load('go-retry')
pick(retry, 'go-send-back', first(retry, req(36)))
pick(retry, 'go-pull-retry-topic', first(retry, lambda e: req(11, topic='%RETRY%capture-go-group-retry')(e)
                                         and reply(retry, e)['bodyLen'] > 0))

java = load('java')
pick(java, 'java-route', first(java, req(105, topic='capture-java')))
pick(java, 'java-send-v2', first(java, req(310)))
pick(java, 'java-pull-2-messages', first(java, lambda e: req(11)(e) and reply(java, e)['bodyLen'] > 0))
pick(java, 'java-pull-not-found', first(java, lambda e: req(11)(e) and reply(java, e)['h'].get('code') == 19))

with open(os.path.join(out, 'index.jsonl'), 'w') as f:
    for r in picked:
        f.write(json.dumps(r, sort_keys=True) + '\n')
print('wrote %d frames to %s' % (len(picked), out))
PY
