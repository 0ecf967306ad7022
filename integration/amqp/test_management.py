#!/usr/bin/env python3
"""RabbitMQ's management HTTP API on the gateway, against the real one.

    test_management.py GATEWAY_BINARY WORKDIR

Needs a reference RabbitMQ node with its management plugin (integration/amqp/rabbitmq.sh;
its ports in RABBITMQ_AMQP_PORT and RABBITMQ_MGMT_PORT) and python3-pika. Starts the gateway
(embedded backend, or the Pulsar one from GATEWAY_ARGS), then:

  1. does the same client actions on both brokers with pika (a queue, a topic exchange
     and a binding; 5 messages published with confirms; a consumer with prefetch 2 that
     acks one, leaving 2 unacknowledged and 2 ready; a basic.get no-ack);
  2. GETs overview, vhosts, queues, the queue, exchanges, bindings, connections, channels,
     whoami, aliveness-test and health/checks/alarms on both, and checks that every field
     RabbitMQ returns exists on the gateway with the same JSON type (except the fields
     LEFT_OUT documents), and that the counts match;
  3. runs RabbitMQ's own rabbitmqadmin (downloaded from the reference node's /cli/)
     against the gateway: list queues/exchanges/bindings/connections/vhosts, show
     overview, close connection; the closed pika connection sees 320 CONNECTION_FORCED with
     the same text as on RabbitMQ;
  4. makes the requests KEDA's RabbitMQ scaler makes (the queue, and the use_regex page)
     and reads them as it does.
Exits non-zero on the first difference, printing it.
"""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pika

GW_BIN, WORK = sys.argv[1], sys.argv[2]
REF_AMQP = int(os.environ["RABBITMQ_AMQP_PORT"])
REF_MGMT = int(os.environ["RABBITMQ_MGMT_PORT"])
VHOST = os.environ.get("AMQP_IT_VHOST", "/")
RUN = str(int(time.time()))
QUEUE, EXCHANGE = "mgmt-q-" + RUN, "mgmt-x-" + RUN

# Fields RabbitMQ returns that the gateway leaves out: Erlang process internals and
# per-node memory/paging figures that have no meaning outside a RabbitMQ node, byte
# counters the gateway does not keep, and a queue's per-consumer/per-channel detail lists.
LEFT_OUT = {
    "queue": {"backing_queue_status", "consumer_capacity", "consumer_utilisation", "garbage_collection",
              "idle_since", "memory", "message_bytes", "message_bytes_paged_out", "message_bytes_persistent",
              "message_bytes_ram", "message_bytes_ready", "message_bytes_unacknowledged", "messages_paged_out",
              "messages_persistent", "messages_ram", "messages_ready_ram", "messages_unacknowledged_ram",
              "reductions", "reductions_details", "storage_version"},
    "connection": {"garbage_collection", "recv_cnt", "recv_oct", "recv_oct_details", "reductions",
                   "reductions_details", "send_cnt", "send_oct", "send_oct_details", "send_pend"},
    "channel": {"garbage_collection", "idle_since", "reductions", "reductions_details"},
    "vhost": {"recv_oct", "recv_oct_details", "send_oct", "send_oct_details"},
    "overview": set(),
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def get(port, path, user="guest", password="guest", want=200):
    req = urllib.request.Request("http://127.0.0.1:%d/api/%s" % (port, path))
    req.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            code, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read()
    if code != want:
        fail("GET %s on :%d: %d, want %d: %s" % (path, port, code, want, body[:300]))
    return json.loads(body) if body else None


def jtype(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    return type(v).__name__


def same_shape(what, ref, ours, left_out=frozenset()):
    """Every field of ref is in ours with the same JSON type (a null in ref allows any)."""
    for k, rv in ref.items():
        if k in left_out:
            continue
        if k not in ours:
            fail("%s: field %r missing (RabbitMQ: %r)" % (what, k, rv))
        ov = ours[k]
        if rv is not None and jtype(rv) != jtype(ov):
            fail("%s: field %r is %s %r, RabbitMQ's is %s %r" % (what, k, jtype(ov), ov, jtype(rv), rv))
        if isinstance(rv, dict) and k not in ("client_properties", "arguments", "cluster_state", "churn_rates",
                                              "socket_opts", "effective_policy_definition", "metadata"):
            same_shape("%s.%s" % (what, k), rv, ov)
        if k == "exchange_types" or k == "sample_retention_policies":
            if rv != ov and k == "exchange_types":
                fail("%s: %s %r, RabbitMQ's %r" % (what, k, ov, rv))


class Broker:
    def __init__(self, name, amqp_port, mgmt_port):
        self.name, self.amqp_port, self.mgmt_port = name, amqp_port, mgmt_port

    def connect(self, name="mgmt-test"):
        params = pika.ConnectionParameters("127.0.0.1", self.amqp_port, virtual_host=VHOST,
                                           credentials=pika.PlainCredentials("guest", "guest"),
                                           client_properties={"connection_name": name})
        return pika.BlockingConnection(params)

    def api(self, path, **kw):
        return get(self.mgmt_port, path, **kw)


def act(b):
    """The same client actions on either broker; returns the connection, left open."""
    c = b.connect()
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare(QUEUE, durable=True)
    ch.exchange_declare(EXCHANGE, "topic", durable=True)
    ch.queue_bind(QUEUE, EXCHANGE, "a.#")
    for i in range(5):
        ch.basic_publish("", QUEUE, b"m%d" % i)
    ch.basic_publish(EXCHANGE, "a.b", b"m5")  # through the topic exchange
    # basic.get on a channel of its own, closed after: on Pulsar the gateway's getter is a
    # consumer of the queue's subscription that may hold one more message until it goes.
    getch = c.channel()
    got = None
    for _ in range(50):
        got = getch.basic_get(QUEUE, auto_ack=True)[0]
        if got:
            break
        time.sleep(0.1)
    if got is None:
        fail("%s: basic.get found nothing" % b.name)
    getch.close()
    ch2 = c.channel()
    ch2.basic_qos(prefetch_count=2)
    tags = []
    ch2.basic_consume(QUEUE, lambda _ch, m, _p, _b: tags.append(m.delivery_tag))
    deadline = time.time() + 20
    while len(tags) < 2 and time.time() < deadline:
        c.process_data_events(0.1)
    if len(tags) < 2:
        fail("%s: consumer got %d deliveries" % (b.name, len(tags)))
    ch2.basic_ack(tags[0])
    deadline = time.time() + 20
    while len(tags) < 3 and time.time() < deadline:
        c.process_data_events(0.1)
    if len(tags) < 3:
        fail("%s: no delivery after the ack (prefetch 2)" % b.name)
    return c


def wait_counts(b, c, want):
    """RabbitMQ's stats database lags a second or so behind; so may Pulsar's backlog."""
    deadline = time.time() + 30
    while True:
        c.process_data_events(0)
        q = b.api("queues/%s/%s" % (urllib.parse.quote(VHOST, ""), urllib.parse.quote(QUEUE, "")))
        have = {k: q.get(k) for k in want}
        if have == want:
            return q
        if time.time() > deadline:
            fail("%s: queue counts %r, want %r" % (b.name, have, want))
        time.sleep(0.3)


def main():
    os.makedirs(WORK, exist_ok=True)
    subprocess.run(["rm", "-rf", os.path.join(WORK, "data")], check=True)
    amqp_port, mgmt_port = free_port(), free_port()
    args = [GW_BIN, "--data-dir", os.path.join(WORK, "data"), "--kafka-enabled=false", "--mqtt-enabled=false",
            "--http-enabled=false", "--schema-registry-enabled=false",
            "--amqp-addr", "127.0.0.1:%d" % amqp_port, "--amqp-management-enabled",
            "--amqp-management-addr", "127.0.0.1:%d" % mgmt_port] + os.environ.get("GATEWAY_ARGS", "").split()
    log = open(os.path.join(WORK, "gateway.log"), "w")
    gw = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", mgmt_port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        run(Broker("rabbitmq", REF_AMQP, REF_MGMT), Broker("gateway", amqp_port, mgmt_port))
    finally:
        gw.terminate()
        gw.wait(30)
    print("ok: management API", flush=True)


def run(ref, gw):
    # Logins: none and a wrong password are 401 on both.
    for b in (ref, gw):
        get(b.mgmt_port, "overview", password="wrong", want=401)
    # The vhost's counters are since the node started: compare what the actions add.
    # RabbitMQ's statistics lag (collect_statistics_interval, 1 s here): wait until they
    # stand still, or what an earlier round did would count as this one's.
    def vhost_stats(b):
        for v in b.api("vhosts"):
            if v["name"] == VHOST:
                return v.get("message_stats", {})
        return {}

    def settled(b):
        last = vhost_stats(b)
        for _ in range(20):
            time.sleep(1.2)
            now = vhost_stats(b)
            same = all(now.get(k) == last.get(k) for k in ("publish", "confirm", "deliver", "get_no_ack", "ack"))
            if same:
                return now
            last = now
        fail("%s: the overview's counters do not settle" % b.name)
    before = {b.name: settled(b) for b in (ref, gw)}
    ref_conn, gw_conn = act(ref), act(gw)
    # 6 published, 1 got no-ack, 1 acked: 4 in the queue, 2 of them unacknowledged.
    want = {"messages": 4, "messages_ready": 2, "messages_unacknowledged": 2, "consumers": 1}
    rq, gq = wait_counts(ref, ref_conn, want), wait_counts(gw, gw_conn, want)
    same_shape("queue", rq, gq, LEFT_OUT["queue"])
    for k in ("name", "vhost", "durable", "auto_delete", "exclusive", "arguments", "state", "type"):
        if rq[k] != gq[k]:
            fail("queue %s: %r, RabbitMQ's %r" % (k, gq[k], rq[k]))
    # Not redeliver: the gateway's basic.get holds a message back (a consumer of the
    # subscription with a receiver queue of one), which comes back redelivered.
    for k in ("publish", "deliver", "deliver_get", "get_no_ack", "ack"):
        if rq["message_stats"][k] != gq["message_stats"][k]:
            fail("queue message_stats.%s: %r, RabbitMQ's %r" % (k, gq["message_stats"][k], rq["message_stats"][k]))
    if len(rq["consumer_details"]) != 1 or len(gq["consumer_details"]) != 1:
        fail("consumer_details: %r, RabbitMQ's %r" % (gq["consumer_details"], rq["consumer_details"]))
    rcd, gcd = rq["consumer_details"][0], gq["consumer_details"][0]
    same_shape("consumer_details[0]", rcd, gcd)
    for k in ("ack_required", "exclusive", "prefetch_count", "queue", "active", "activity_status", "arguments"):
        if rcd[k] != gcd[k]:
            fail("consumer_details[0].%s: %r, RabbitMQ's %r" % (k, gcd[k], rcd[k]))
    for k in ("number", "user", "peer_host"):
        if rcd["channel_details"][k] != gcd["channel_details"][k]:
            fail("consumer_details[0].channel_details.%s: %r, RabbitMQ's %r" % (k, gcd["channel_details"][k], rcd["channel_details"][k]))
    rcs = [c for c in ref.api("consumers/" + urllib.parse.quote(VHOST, "")) if c["queue"]["name"] == QUEUE]
    gcs = [c for c in gw.api("consumers/" + urllib.parse.quote(VHOST, "")) if c["queue"]["name"] == QUEUE]
    if len(rcs) != 1 or len(gcs) != 1:
        fail("consumers: %r, RabbitMQ's %r" % (gcs, rcs))
    same_shape("consumers[0]", rcs[0], gcs[0])
    print("ok: queue %s matches field by field" % QUEUE, flush=True)

    vq = urllib.parse.quote(VHOST, "")
    ro, go = ref.api("overview"), gw.api("overview")
    same_shape("overview", ro, go, LEFT_OUT["overview"])
    rvs, gvs = settled(ref), vhost_stats(gw)
    for k in ("publish", "confirm", "deliver", "deliver_get", "get_no_ack", "ack"):
        rd = rvs[k] - before["rabbitmq"].get(k, 0)
        gd = gvs[k] - before["gateway"].get(k, 0)
        if rd != gd:
            fail("vhost message_stats.%s grew by %r, RabbitMQ's by %r" % (k, gd, rd))
    for k in ("connections", "channels", "consumers"):
        if ro["object_totals"][k] != go["object_totals"][k]:
            fail("overview object_totals.%s: %r, RabbitMQ's %r" % (k, go["object_totals"][k], ro["object_totals"][k]))

    def find(items, **kv):
        for it in items:
            if all(it.get(k) == v for k, v in kv.items()):
                return it
        fail("no item with %r in %r" % (kv, [i.get("name") for i in items]))

    rv, gv = find(ref.api("vhosts"), name=VHOST), find(gw.api("vhosts"), name=VHOST)
    # tags: RabbitMQ 3.10 says [] for "/" but "" for a vhost add_vhost made without tags.
    same_shape("vhost", rv, gv, LEFT_OUT["vhost"] | {"tags"})
    if not isinstance(gv["tags"], list):
        fail("vhost tags %r" % gv["tags"])
    rl = find(ref.api("queues/" + vq), name=QUEUE)
    gl = find(gw.api("queues/" + vq), name=QUEUE)
    same_shape("queues[]", rl, gl, LEFT_OUT["queue"])
    for k in want:
        if rl[k] != gl[k]:
            fail("queues[] %s: %r, RabbitMQ's %r" % (k, gl[k], rl[k]))
    rx, gx = find(ref.api("exchanges/" + vq), name=EXCHANGE), find(gw.api("exchanges/" + vq), name=EXCHANGE)
    same_shape("exchange", rx, gx)
    for k in ("type", "durable", "auto_delete", "internal", "arguments"):
        if rx[k] != gx[k]:
            fail("exchange %s: %r, RabbitMQ's %r" % (k, gx[k], rx[k]))
    # The predeclared exchanges (but RabbitMQ's tracing one) and ours, with the same fields.
    mine = lambda x: x["name"] == EXCHANGE or x["name"] == "" or x["name"].startswith("amq.")
    rxs = {x["name"]: x for x in ref.api("exchanges/" + vq) if mine(x) and x["name"] != "amq.rabbitmq.trace"}
    gxs = {x["name"]: x for x in gw.api("exchanges/" + vq) if mine(x)}
    for n, r in rxs.items():
        if n not in gxs:
            fail("exchange %r missing, gateway has %r" % (n, sorted(gxs)))
        for k in ("type", "durable", "auto_delete", "internal"):
            if r[k] != gxs[n][k]:
                fail("exchange %r %s: %r, RabbitMQ's %r" % (n, k, gxs[n][k], r[k]))
    for bq in ({"source": "", "destination": QUEUE}, {"source": EXCHANGE, "destination": QUEUE}):
        rb, gb = find(ref.api("bindings/" + vq), **bq), find(gw.api("bindings/" + vq), **bq)
        same_shape("binding", rb, gb)
        for k in ("routing_key", "destination_type", "arguments", "vhost"):
            if rb[k] != gb[k]:
                fail("binding %s: %r, RabbitMQ's %r" % (k, gb[k], rb[k]))
    rc, gc = ref.api("connections"), gw.api("connections")
    if len(rc) != 1 or len(gc) != 1:
        fail("connections: %d on the gateway, %d on RabbitMQ, want 1" % (len(gc), len(rc)))
    same_shape("connection", rc[0], gc[0], LEFT_OUT["connection"])
    for k in ("user", "vhost", "channels", "protocol", "auth_mechanism", "frame_max", "channel_max", "timeout",
              "ssl", "state", "type", "peer_host"):
        if rc[0][k] != gc[0][k]:
            fail("connection %s: %r, RabbitMQ's %r" % (k, gc[0][k], rc[0][k]))
    for k, v in rc[0]["client_properties"].items():
        if gc[0]["client_properties"].get(k) != v:
            fail("connection client_properties.%s: %r, RabbitMQ's %r" % (k, gc[0]["client_properties"].get(k), v))
    rch, gch = sorted(ref.api("channels"), key=lambda c: c["number"]), sorted(gw.api("channels"), key=lambda c: c["number"])
    if len(rch) != len(gch):
        fail("channels: %d, RabbitMQ's %d" % (len(gch), len(rch)))
    for r, g in zip(rch, gch):
        same_shape("channel", r, g, LEFT_OUT["channel"])
        for k in ("number", "consumer_count", "messages_unacknowledged", "prefetch_count", "global_prefetch_count",
                  "confirm", "transactional", "user", "vhost"):
            if r[k] != g[k]:
                fail("channel %d %s: %r, RabbitMQ's %r" % (r["number"], k, g[k], r[k]))
        rs, gs = r.get("message_stats", {}), g.get("message_stats", {})
        for k in ("publish", "confirm", "deliver", "deliver_get", "ack"):
            if k in rs and rs[k] != gs.get(k):
                fail("channel %d message_stats.%s: %r, RabbitMQ's %r" % (r["number"], k, gs.get(k), rs[k]))
        if g["name"] != g["connection_details"]["name"] + " (%d)" % g["number"]:
            fail("channel name %r" % g["name"])
    for path in ("whoami", "aliveness-test/" + vq, "health/checks/alarms"):
        r, g = ref.api(path), gw.api(path)
        if r != g:
            fail("%s: %r, RabbitMQ's %r" % (path, g, r))
    get(gw.mgmt_port, "queues/%s/no-such-queue" % vq, want=404)
    # columns (dotted too), as rabbitmqadmin sends them: the same objects on both.
    cols = "queues/%s?columns=name,messages,consumers,message_stats.publish,message_stats.ack" % vq
    rc, gc = find(ref.api(cols), name=QUEUE), find(gw.api(cols), name=QUEUE)
    if rc != gc:
        fail("%s: %r, RabbitMQ's %r" % (cols, gc, rc))
    print("ok: overview, vhosts, queues, exchanges, bindings, connections, channels, whoami, "
          "aliveness-test, alarms match RabbitMQ's fields and counts", flush=True)

    keda(ref, gw)
    rabbitmqadmin(ref, gw, ref_conn, gw_conn)


def keda(ref, gw):
    """KEDA's RabbitMQ scaler (pkg/scalers/rabbitmq_scaler.go, getQueueInfoViaHTTP): basic
    auth in the URL, GET {host}/api/queues/{vhost}/{QueryEscape(queue)}, or with useRegex
    GET {host}/api/queues/{vhost}?page=1&use_regex=true&pagination=false&name=...&page_size=100;
    it reads messages, messages_ready, message_stats.publish_details.rate and
    deliver_get_details.rate, and for the regex page items and page_count."""
    vhost = "%2F" if VHOST == "/" else urllib.parse.quote_plus(VHOST)
    results = {}
    for b in (ref, gw):
        base = "http://guest:guest@127.0.0.1:%d" % b.mgmt_port
        u = urllib.parse.urlsplit(base)
        def fetch(url):
            req = urllib.request.Request(url.replace("guest:guest@", ""))
            req.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
            with urllib.request.urlopen(req, timeout=30) as r:
                if r.status != 200:
                    fail("KEDA request %s: %d" % (url, r.status))
                return json.loads(r.read())
        one = fetch("%s/api/queues/%s/%s" % (base, vhost, urllib.parse.quote_plus(QUEUE)))
        page = fetch("%s/api/queues/%s?page=1&use_regex=true&pagination=false&name=%s&page_size=100" % (
            base, vhost, urllib.parse.quote_plus("^mgmt-q-" + RUN + "$")))
        if page.get("page_count") != 1 or len(page.get("items", [])) != 1:
            fail("%s: KEDA regex page %r" % (b.name, {k: page.get(k) for k in ("page_count", "item_count")}))
        item = page["items"][0]
        for q in (one, item):
            for path in (("messages",), ("messages_ready",), ("message_stats", "publish_details", "rate"),
                         ("message_stats", "deliver_get_details", "rate")):
                v = q
                for p in path:
                    v = v.get(p) if isinstance(v, dict) else None
                if jtype(v) != "number":
                    fail("%s: KEDA reads %s: %r" % (b.name, ".".join(path), v))
        results[b.name] = (one["messages"], one["messages_ready"], item["messages"], item["messages_ready"])
    if results["gateway"] != results["rabbitmq"]:
        fail("KEDA's queue length: gateway %r, RabbitMQ %r" % (results["gateway"], results["rabbitmq"]))
    print("ok: KEDA's requests read queue length %r on both" % (results["gateway"],), flush=True)


def rabbitmqadmin(ref, gw, ref_conn, gw_conn):
    tool = os.path.join(WORK, "rabbitmqadmin")
    req = urllib.request.Request("http://127.0.0.1:%d/cli/rabbitmqadmin" % ref.mgmt_port)
    with urllib.request.urlopen(req, timeout=30) as r:
        open(tool, "wb").write(r.read())

    def admin(b, *args):
        cmd = ["/usr/bin/python3", tool, "-H", "127.0.0.1", "-P", str(b.mgmt_port), "-u", "guest", "-p", "guest",
               "-V", VHOST, "-f", "tsv"] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            fail("%s: rabbitmqadmin %s: %s%s" % (b.name, " ".join(args), p.stdout, p.stderr))
        return p.stdout

    def rows(out):
        lines = out.strip().split("\n")
        head = lines[0].split("\t")
        return [dict(zip(head, l.split("\t"))) for l in lines[1:]]

    for args in (("list", "queues", "name", "messages", "messages_ready", "messages_unacknowledged", "consumers"),
                 ("list", "exchanges", "name", "type", "durable"),
                 ("list", "bindings", "source", "destination", "routing_key"),
                 ("list", "connections", "user", "vhost", "channels"),
                 ("list", "channels", "number", "consumer_count", "prefetch_count"),
                 ("list", "consumers", "queue.name", "ack_required", "exclusive", "prefetch_count"),
                 ("list", "vhosts", "name")):
        r, g = rows(admin(ref, *args)), rows(admin(gw, *args))
        if args[1] == "queues":
            r = [x for x in r if x["name"] == QUEUE]
            g = [x for x in g if x["name"] == QUEUE]
        if args[1] == "exchanges":
            mine = lambda x: x["name"] in ("", EXCHANGE) or x["name"].startswith("amq.") and x["name"] != "amq.rabbitmq.trace"
            r, g = [x for x in r if mine(x)], [x for x in g if mine(x)]
        if args[1] == "bindings":
            r = [x for x in r if QUEUE in x["destination"]]
            g = [x for x in g if QUEUE in x["destination"]]
        if args[1] == "consumers":
            r = [x for x in r if x["queue.name"] == QUEUE]
            g = [x for x in g if x["queue.name"] == QUEUE]
        if args[1] == "vhosts":
            r = [x for x in r if x["name"] == VHOST]
            g = [x for x in g if x["name"] == VHOST]
        if not r:
            fail("rabbitmqadmin %s: no rows on RabbitMQ to compare with" % " ".join(args))
        if sorted(map(str, r)) != sorted(map(str, g)):
            fail("rabbitmqadmin %s:\n gateway  %r\n rabbitmq %r" % (" ".join(args), g, r))
    ov = rows(admin(gw, "show", "overview"))[0]
    if ov.get("rabbitmq_version") != "3.10.8" or ov.get("queue_totals.messages") in (None, ""):
        fail("rabbitmqadmin show overview: %r" % ov)
    print("ok: rabbitmqadmin list queues/exchanges/bindings/connections/channels/consumers/vhosts give RabbitMQ's rows",
          flush=True)

    # close connection: the client sees connection.close 320 with RabbitMQ's text.
    texts = {}
    for b, c in ((ref, ref_conn), (gw, gw_conn)):
        name = rows(admin(b, "list", "connections", "name"))[0]["name"]
        admin(b, "close", "connection", "name=" + name)
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                c.process_data_events(0.1)
            fail("%s: connection still open after rabbitmqadmin close connection" % b.name)
        except pika.exceptions.ConnectionClosedByBroker as e:
            texts[b.name] = (e.reply_code, e.reply_text)
        deadline = time.time() + 10
        while b.api("connections") and time.time() < deadline:
            time.sleep(0.1)
        if b.api("connections"):
            fail("%s: connection still listed after close" % b.name)
    if texts["gateway"] != texts["rabbitmq"] or texts["gateway"][0] != 320:
        fail("close connection: gateway %r, RabbitMQ %r" % (texts["gateway"], texts["rabbitmq"]))
    print("ok: rabbitmqadmin close connection: %r on both" % (texts["gateway"],), flush=True)


main()
