"""Several gateway processes on one Pulsar behave as one broker, checked with real clients.
Usage: test_many.py BINARY WORKDIR, with PULSAR_URL and PULSAR_ADMIN_URL set.

Three gateways (separate processes, separate data dirs) on the broker PULSAR_URL names; one is
killed with SIGKILL mid-way: a Kafka consumer group with a member on each gateway (confluent-kafka),
MQTT client ids (paho 3.1.1 and 5), an idempotent Kafka producer (each value stored once), AMQP
RPC with direct reply-to across gateways and an AMQP single-active-consumer queue (pika)."""

import os
import sys
import threading
import time
import traceback

import paho.mqtt.client as mqtt
import pika
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gateway import GatewayProcess  # noqa: E402  (integration/gateway.py)

BIN, WORK = sys.argv[1], sys.argv[2]
PULSAR = ["--backend", "pulsar", "--pulsar-url", os.environ["PULSAR_URL"],
          "--pulsar-admin-url", os.environ["PULSAR_ADMIN_URL"]]
IT = "many%d" % (time.time() % 1e6)  # topics and client ids unique to this run


def start(n):
    return GatewayProcess(BIN, os.path.join(WORK, "gw%d" % n), "mqtt", PULSAR, protocols=("mqtt", "kafka", "amqp"))


def kafka_addr(gw):
    return "127.0.0.1:%d" % gw.ports["kafka"]


class Member(threading.Thread):
    """A confluent-kafka group member on one gateway, committing after each record it
    processed (as a careful app does), until stopped or its gateway dies."""

    def __init__(self, gw, group, topic, seen, lock):
        super().__init__(daemon=True)
        self.c = Consumer({"bootstrap.servers": kafka_addr(gw), "group.id": group,
                           "auto.offset.reset": "earliest", "enable.auto.commit": False,
                           "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                           # Its gateway is killed on purpose: no connection-refused lines.
                           "log_level": 2, "log.connection.close": False})
        self.c.subscribe([topic])
        self.seen, self.lock, self.stopped = seen, lock, threading.Event()
        self.assigned = []
        self.start()

    def run(self):
        while not self.stopped.is_set():
            m = self.c.poll(0.2)
            self.assigned = sorted(tp.partition for tp in self.c.assignment())
            if m is None or m.error():
                continue
            with self.lock:
                self.seen.append(m.value())
            try:
                self.c.commit(message=m, asynchronous=False)
            except Exception:  # a rebalance or a dead gateway: the record may come again
                pass

    def stop(self, close=True):
        self.stopped.set()
        self.join(10)
        if close:
            self.c.close()


def wait_for(what, cond, timeout=30):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.1)


def kafka_group(gws):
    """One group, a member on each of the three gateways: one assignment (each of 6
    partitions to one member); then records flow, the gateway of one member is killed, a
    new member joins on a live gateway, and every record is processed (again only where
    its commit may not have landed)."""
    topic, group = f"{IT}-orders", f"{IT}-billing"
    admin = AdminClient({"bootstrap.servers": kafka_addr(gws[0])})  # kept until the result came
    admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])[topic].result(timeout=30)
    seen, lock = [], threading.Lock()
    members = [Member(gw, group, topic, seen, lock) for gw in gws]
    wait_for("one assignment of 6 partitions over 3 members",
             lambda: sorted(p for m in members for p in m.assigned) == list(range(6))
             and all(m.assigned for m in members))
    started = time.monotonic()
    p = Producer({"bootstrap.servers": kafka_addr(gws[1]), "linger.ms": 5})
    N = 3000
    for i in range(N):
        p.produce(topic, value=b"%d" % i)
        if i == N // 2:
            p.flush(30)
            wait_for("half the records", lambda: len(seen) >= N // 4)
            gws[2].kill()  # its member's gateway dies under it
            members[2].stop(close=False)
            members.append(Member(gws[0], group, topic, seen, lock))
    assert p.flush(30) == 0
    wait_for("every record", lambda: len(set(seen)) >= N, timeout=90)
    took = time.monotonic() - started
    for m in members[:2] + members[3:]:
        m.stop()
    got = set(seen)
    assert got == {b"%d" % i for i in range(N)}, "missing %d records" % (N - len(got))
    print("     kafka: %d records, %d processed twice (uncommitted work of the dead member)"
          % (N, len(seen) - len(got)))
    return took


class Client:
    """A paho client that records what it gets and how its connection ended."""

    def __init__(self, gw, cid, v5=False, clean=False):
        self.got, self.cond = [], threading.Condition()
        self.connected, self.gone = threading.Event(), threading.Event()
        self.reason = None
        if v5:
            self.c = mqtt.Client(client_id=f"{IT}-{cid}", protocol=mqtt.MQTTv5)
        else:
            self.c = mqtt.Client(client_id=f"{IT}-{cid}", clean_session=clean, protocol=mqtt.MQTTv311)
        self.c.reconnect_delay_set(min_delay=60, max_delay=120)  # no reconnect during a test
        self.c.on_message = self._message
        self.c.on_connect = self._connect
        self.c.on_disconnect = self._disconnect
        kw = {}
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 300
            kw = {"clean_start": clean, "properties": props}
        self.c.connect("127.0.0.1", gw.port, keepalive=30, **kw)
        self.c.loop_start()
        assert self.connected.wait(10), f"{cid}: no CONNACK"

    def _message(self, _c, _u, m):
        with self.cond:
            self.got.append(m.payload.decode())
            self.cond.notify_all()

    def _connect(self, _c, _u, flags, _rc, _props=None):
        self.present = bool(flags.get("session present"))
        self.connected.set()

    def _disconnect(self, _c, _u, rc, _props=None):
        self.reason = getattr(rc, "value", rc)
        self.gone.set()

    def subscribe(self, topic, qos=1):
        r, _ = self.c.subscribe(topic, qos)
        assert r == mqtt.MQTT_ERR_SUCCESS
        time.sleep(0.3)  # SUBACK; paho 1.6 has no blocking subscribe

    def wait(self, n, timeout=10):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.got) >= n, timeout), f"got {self.got}, want {n}"
            return list(self.got)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def publish(gw, topic, payloads):
    p = Client(gw, "pub-%d" % time.monotonic_ns(), clean=True)
    for m in payloads:
        p.c.publish(topic, m, qos=1).wait_for_publish(10)
    p.close()


def takeover(gws, v5):
    """A client id on gateway 0, then on gateway 1: the first connection ends within a second
    (MQTT 5: DISCONNECT 0x8E), the session and its subscription go on at gateway 1."""
    tag = "v5" if v5 else "v3"
    topic = f"{IT}/take/{tag}"
    first = Client(gws[0], f"take-{tag}", v5=v5)
    first.subscribe(topic)
    started = time.monotonic()
    second = Client(gws[1], f"take-{tag}", v5=v5)
    assert first.gone.wait(1 - (time.monotonic() - started)), "the first connection is still open after a second"
    took = time.monotonic() - started
    if v5:
        assert first.reason == 142, f"first connection ended with reason {first.reason}, want 0x8E"
    assert second.present, "the second gateway did not resume the session"
    publish(gws[2], topic, ["t1"])
    assert second.wait(1) == ["t1"]
    time.sleep(0.5)
    assert not first.got, first.got
    first.c.loop_stop()
    second.close()
    return took


def killed_gateway(gws):
    """The gateway holding a persistent session dies (SIGKILL); the client comes back on
    another: its session is there, with what was published while it was away."""
    topic = f"{IT}/killed"
    dev = Client(gws[2], "killed")
    dev.subscribe(topic)
    publish(gws[0], topic, ["k1"])
    assert dev.wait(1) == ["k1"]
    time.sleep(0.5)  # its PUBACK reaches the gateway
    gws[2].kill()
    assert dev.gone.wait(10), "the client did not see its gateway die"
    dev.c.loop_stop()
    publish(gws[0], topic, ["k2", "k3"])
    started = time.monotonic()
    back = Client(gws[1], "killed")
    connected = time.monotonic() - started
    assert back.present, "the session of the dead gateway's client is gone"
    with back.cond:
        assert back.cond.wait_for(lambda: "k3" in back.got, 10), back.got
        got = list(back.got)
    # k1 again is allowed: the gateway may have died before its ack reached Pulsar.
    assert got in (["k2", "k3"], ["k1", "k2", "k3"]), got
    back.close()
    return connected


def amqp_sac_killed(gws):
    """x-single-active-consumer across gateways: the consumer registered first (on gws[0])
    gets everything, the one on gws[1] nothing; gws[0] is SIGKILLed holding unacked
    messages, and the consumer on gws[1] takes over with none lost. Returns the time from
    the kill to the first delivery on gws[1]."""
    def connect(gw):
        return pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", gw.ports["amqp"]))
    q = IT + "-sac"
    pub = connect(gws[1])  # gws[2] died in an earlier scenario
    pch = pub.channel()
    pch.confirm_delivery()
    pch.queue_declare(q, durable=True, arguments={"x-single-active-consumer": True})
    got = {"a": [], "b": []}

    def consumer(gw, name):
        c = connect(gw)
        ch = c.channel()
        ch.basic_qos(prefetch_count=100)
        ch.basic_consume(q, lambda ch, m, p, body: got[name].append((m.delivery_tag, body.decode())))
        return c, ch
    a, ach = consumer(gws[0], "a")
    b, bch = consumer(gws[1], "b")

    def pump(c, name, n, limit):
        deadline = time.monotonic() + limit
        while len(got[name]) < n and time.monotonic() < deadline:
            c.process_data_events(time_limit=0.1)
    for i in range(5):
        pch.basic_publish("", q, ("m%d" % i).encode())
    pump(a, "a", 5, 10)
    assert [body for _, body in got["a"]] == ["m0", "m1", "m2", "m3", "m4"], got["a"]
    pump(b, "b", 1, 1)
    assert got["b"] == [], "the second consumer got %s while the first was active" % got["b"]
    ach.basic_ack(got["a"][1][0], multiple=True)  # m0, m1; m2..m4 stay unacked
    a.process_data_events(time_limit=0.5)
    gws[0].kill()
    killed = time.monotonic()
    for i in range(5, 10):
        pch.basic_publish("", q, ("m%d" % i).encode())
    first = None
    deadline = killed + 30
    while time.monotonic() < deadline:
        b.process_data_events(time_limit=0.1)
        if got["b"] and first is None:
            first = time.monotonic() - killed
        if {"m%d" % i for i in range(2, 10)} <= {body for _, body in got["b"]}:
            break
    bodies = [body for _, body in got["b"]]
    # m0, m1 again are allowed: the gateway may have died before their acks reached Pulsar.
    assert [x for x in bodies if x not in ("m0", "m1")] == ["m%d" % i for i in range(2, 10)], bodies
    bch.basic_ack(got["b"][-1][0], multiple=True)
    for c in (b, pub):
        c.close()
    return first


def amqp_exclusive_limits_counts(gws):
    """What one RabbitMQ node guarantees, across gateways (pika): an exclusive queue and an
    exclusive consumer held through a gateway that is then SIGKILLed (405/403 elsewhere
    while it lives, the queue gone and the consumer's place free after), an x-max-length
    queue fed through two gateways (the newest 10 kept), and message_count and
    consumer_count alike through every gateway. Returns the time from the kill until the
    exclusive queue was gone."""
    def connect(gw):
        return pika.BlockingConnection(amqp_params(gw))

    def refused(gw, f):
        c = connect(gw)
        try:
            f(c.channel())
        except pika.exceptions.ChannelClosedByBroker as e:
            return e.reply_code
        finally:
            if c.is_open:
                c.close()
        return 0
    holder_gw = start(5)
    q_excl, q_shared, q_ring, q_count = IT + "-excl", IT + "-excl-consumer", IT + "-ring", IT + "-count"
    setup = connect(gws[0]).channel()
    setup.queue_declare(q_shared, durable=True)
    holder = connect(holder_gw)
    hch = holder.channel()
    hch.queue_declare(q_excl, exclusive=True)
    hch.basic_consume(q_shared, lambda *a: None, exclusive=True)
    for gw in (gws[0], gws[1]):
        code = refused(gw, lambda ch: ch.queue_declare(q_excl, passive=True))
        assert code == 405, "passive declare of another gateway's exclusive queue: %d, want 405" % code
        code = refused(gw, lambda ch: ch.basic_consume(q_shared, lambda *a: None))
        assert code == 403, "consume beside another gateway's exclusive consumer: %d, want 403" % code
    holder_gw.kill()
    killed = time.monotonic()
    gone = None
    while time.monotonic() - killed < 10:
        if refused(gws[1], lambda ch: ch.queue_declare(q_excl, passive=True)) == 404:
            gone = time.monotonic() - killed
            break
        time.sleep(0.05)
    assert gone is not None, "the exclusive queue of a killed gateway is still there after 10 s"
    assert refused(gws[1], lambda ch: ch.basic_consume(q_shared, lambda *a: None)) == 0, \
        "an exclusive consumer of a killed gateway still keeps others out"

    pubs = [connect(gw).channel() for gw in (gws[0], gws[1])]
    pubs[0].queue_declare(q_ring, arguments={"x-max-length": 10})
    for ch in pubs:
        ch.confirm_delivery()
    for i in range(30):
        pubs[i % 2].basic_publish("", q_ring, ("r%02d" % i).encode())
    deadline = time.monotonic() + 10
    while True:
        counts = [ch.queue_declare(q_ring, passive=True).method.message_count for ch in pubs]
        if counts == [10, 10]:
            break
        assert time.monotonic() < deadline, "message_count through the two gateways: %s, want 10" % counts
        time.sleep(0.1)
    bodies = []
    while True:
        _, _, body = pubs[1].basic_get(q_ring, auto_ack=True)
        if body is None:
            break
        bodies.append(body.decode())
    assert bodies == ["r%02d" % i for i in range(20, 30)], bodies

    pubs[0].queue_declare(q_count)
    for i in range(7):
        pubs[0].basic_publish("", q_count, b"c")
    watchers = [connect(gw) for gw in (gws[0], gws[1])]
    for c in watchers:
        c.channel().basic_consume(q_shared, lambda *a: None)
    for ch in pubs:
        m = ch.queue_declare(q_count, passive=True).method
        assert m.message_count == 7, "message_count %d through one gateway, want 7" % m.message_count
        m = ch.queue_declare(q_shared, passive=True).method
        assert m.consumer_count == 2, "consumer_count %d through one gateway, want 2 (one on each)" % m.consumer_count
    for c in watchers:
        c.close()
    return gone


def amqp_params(gw):
    return pika.ConnectionParameters("127.0.0.1", gw.ports["amqp"], "/", pika.PlainCredentials("guest", "guest"))


def amqp_rpc(gws):
    """RPC with direct reply-to: requesters on gateways 0 and 2, their server on gateway 1,
    replying with mandatory=true under publisher confirms (a basic.return would raise). Each
    reply reaches its requester's gateway through Pulsar. Returns the median round trip."""
    queue = f"{IT}-rpc"
    ready, stop, failures = threading.Event(), threading.Event(), []

    def serve():
        try:
            conn = pika.BlockingConnection(amqp_params(gws[1]))
            ch = conn.channel()
            ch.queue_declare(queue)
            ch.confirm_delivery()

            def on_request(c, _m, props, body):
                c.basic_publish("", props.reply_to, b"re:" + body,
                                pika.BasicProperties(correlation_id=props.correlation_id), mandatory=True)
            ch.basic_consume(queue, on_request, auto_ack=True)
            ready.set()
            while not stop.is_set():
                conn.process_data_events(time_limit=0.1)
            conn.close()
        except Exception as e:  # noqa: BLE001 (reported by the scenario)
            failures.append("server: %r" % e)
            ready.set()

    def call(gw, n, took):
        try:
            conn = pika.BlockingConnection(amqp_params(gw))
            ch = conn.channel()
            ch.queue_declare(queue)  # this gateway routes to it from now on
            got = {}
            ch.basic_consume("amq.rabbitmq.reply-to", lambda _c, _m, props, body: got.__setitem__(props.correlation_id, body),
                             auto_ack=True)
            for i in range(n):
                cid = "%d-%d" % (gw.ports["amqp"], i)
                started = time.monotonic()
                ch.basic_publish("", queue, cid.encode(),
                                 pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id=cid))
                while cid not in got:
                    assert time.monotonic() - started < 10, "no reply to " + cid
                    conn.process_data_events(time_limit=0.05)
                took.append(time.monotonic() - started)
                assert got[cid] == b"re:" + cid.encode(), got[cid]
            conn.close()
        except Exception as e:  # noqa: BLE001
            failures.append("requester on port %d: %r" % (gw.ports["amqp"], e))

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    assert ready.wait(15) and not failures, failures
    N, took = 50, []
    callers = [threading.Thread(target=call, args=(gw, N, took), daemon=True) for gw in (gws[0], gws[2])]
    for c in callers:
        c.start()
    for c in callers:
        c.join(60)
    stop.set()
    server.join(10)
    assert not failures, failures
    assert len(took) == 2 * N, "%d of %d calls answered" % (len(took), 2 * N)
    took.sort()
    print("     amqp: %d calls, round trip median %.1f ms, max %.1f ms" % (len(took), took[len(took) // 2] * 1000, took[-1] * 1000))
    return took[len(took) // 2]


def idempotent_producer(gws):
    """An idempotent producer (enable.idempotence) sends through gws[2] and gws[1]; gws[2] is
    killed (SIGKILL) with batches in flight, inside the interval in which a gateway saves
    producer sequences, so their retries reach gws[1] without its knowing them from the table:
    it finds them in the partitions, and every value is stored exactly once."""
    if gws[2].proc.poll() is not None:
        gws[2] = start(4)  # the MQTT scenario killed the last one
    topic = f"{IT}-idem"
    admin = AdminClient({"bootstrap.servers": kafka_addr(gws[0])})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(timeout=30)
    started = time.monotonic()
    p = Producer({"bootstrap.servers": "%s,%s" % (kafka_addr(gws[2]), kafka_addr(gws[1])),
                  "enable.idempotence": True, "linger.ms": 2,
                  "log_level": 2, "log.connection.close": False})  # its gateway is killed on purpose
    errors = []
    N = 20000

    def report(err, _msg):
        if err is not None:
            errors.append(err)
    for i in range(N):
        while True:
            try:
                p.produce(topic, value=b"%d" % i, on_delivery=report)
                break
            except BufferError:
                p.poll(0.05)
        if i == N // 2:
            gws[2].kill()  # mid-stream, batches in flight
        p.poll(0)
    assert p.flush(120) == 0, "records left unsent"
    assert not errors, errors[:3]
    c = Consumer({"bootstrap.servers": kafka_addr(gws[0]), "group.id": f"{IT}-idem-check",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    counts, quiet_until = {}, None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            counts[m.value()] = counts.get(m.value(), 0) + 1
        if len(counts) == N and quiet_until is None:
            quiet_until = time.monotonic() + 3  # anything more would be a duplicate
        if quiet_until is not None and time.monotonic() > quiet_until:
            break
    c.close()
    missing = N - len(counts)
    dups = {v: n for v, n in counts.items() if n > 1}
    assert missing == 0 and not dups, "%d missing, %d stored twice (e.g. %s)" % (
        missing, len(dups), list(dups.items())[:3])
    return time.monotonic() - started


def main():
    gws = [start(n) for n in range(3)]
    failed = 0

    def kafka_then_replace():
        took = kafka_group(gws)
        gws[2] = start(3)  # the killed gateway's replacement, for what follows
        return took
    scenarios = [
        ("Kafka group over three gateways, one killed mid-way (confluent-kafka)", kafka_then_replace),
        ("MQTT 3.1.1 take-over across gateways (paho)", lambda: takeover(gws, False)),
        ("MQTT 5 take-over across gateways: DISCONNECT 0x8E (paho)", lambda: takeover(gws, True)),
        ("AMQP RPC, direct reply-to, requester and server on different gateways (pika)", lambda: amqp_rpc(gws)),
        ("MQTT persistent session after its gateway's SIGKILL (paho)", lambda: killed_gateway(gws)),
        ("Kafka idempotent producer across its gateway's SIGKILL, each value once (confluent-kafka)",
         lambda: idempotent_producer(gws)),
        ("AMQP exclusive queue and consumer of a SIGKILLed gateway, x-max-length and counts through two "
         "gateways (pika)", lambda: amqp_exclusive_limits_counts(gws)),
        # Last: it kills gws[0].
        ("AMQP single active consumer, its gateway SIGKILLed (pika)", lambda: amqp_sac_killed(gws)),
    ]
    try:
        for name, f in scenarios:
            try:
                took = f()
                print("ok   %s (%.0f ms)" % (name, took * 1000))
            except Exception as e:  # report every scenario, then fail
                failed += 1
                print("FAIL", name, repr(e))
                traceback.print_exc()
    finally:
        for gw in gws:
            if gw.proc.poll() is None:
                gw.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
