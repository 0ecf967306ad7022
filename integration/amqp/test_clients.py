"""AMQP 0-9-1 scenarios against the built gateway binary, with real third-party clients:
pika (Python) and amqp-tools (amqp-publish, amqp-get, amqp-consume, amqp-declare-queue on
librabbitmq-c). Usage: test_clients.py BINARY DATA_DIR

Environment: GATEWAY_ARGS are extra gateway flags (e.g. --backend pulsar ...); AMQP_IT_VHOST
runs every scenario in that vhost, whose namespace public/<vhost> is created first through
PULSAR_ADMIN_URL when that is set (a shared broker keeps state between runs)."""

import json
import os
import shlex
import shutil
import ssl
import urllib.parse
import urllib.request
import subprocess
import sys
import traceback

import pika
import pika.exceptions
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gateway import GatewayProcess  # noqa: E402  (integration/gateway.py)

BIN, DATA = sys.argv[1], sys.argv[2]
EXTRA = shlex.split(os.environ.get("GATEWAY_ARGS", ""))
VHOST = os.environ.get("AMQP_IT_VHOST", "/")
if VHOST != "/" and os.environ.get("PULSAR_ADMIN_URL"):
    req = urllib.request.Request(os.environ["PULSAR_ADMIN_URL"].rstrip("/") + "/admin/v2/namespaces/public/" + VHOST,
                                 method="PUT")
    # A secured broker (standalone.sh --secure): its CA and the admin token.
    tls = ssl.create_default_context(cafile=os.environ["PULSAR_TLS_CA"]) if os.environ.get("PULSAR_TLS_CA") else None
    if os.environ.get("PULSAR_TOKEN_FILE"):
        with open(os.environ["PULSAR_TOKEN_FILE"]) as f:
            req.add_header("Authorization", "Bearer " + f.read().strip())
    urllib.request.urlopen(req, timeout=30, context=tls).read()


class Gateway(GatewayProcess):
    """The binary serving AMQP, with its store in DATA (kept across restarts)."""

    def __init__(self):
        super().__init__(BIN, DATA, "amqp", EXTRA)

    def url(self):
        return "amqp://guest:guest@127.0.0.1:%d/%s" % (self.port, urllib.parse.quote(VHOST, safe=""))

    def pika(self):
        return pika.BlockingConnection(pika.ConnectionParameters(
            "127.0.0.1", self.port, VHOST, pika.PlainCredentials("guest", "guest")))


def tool(gw, name, *args, input=None):
    out = subprocess.run([name, "--url", gw.url(), *args], check=True, timeout=10,
                         capture_output=True, input=input)
    return out.stdout


def pika_routing(gw):
    """Exchanges of each type, bindings, confirms, prefetch and acks with pika."""
    conn = gw.pika()
    ch = conn.channel()
    ch.confirm_delivery()
    ch.exchange_declare("p.topic", "topic", durable=True)
    ch.exchange_declare("p.fanout", "fanout")
    ch.queue_declare("p.q1")
    ch.queue_declare("p.q2")
    ch.queue_bind("p.q1", "p.topic", "logs.*.error")
    ch.queue_bind("p.q2", "p.topic", "logs.#")
    ch.queue_bind("p.q1", "p.fanout")
    for key in ["logs.db.error", "logs.web.info", "other"]:
        ch.basic_publish("p.topic", key, key.encode(),
                         pika.BasicProperties(content_type="text/plain", headers={"n": 1, "s": "x"}))
    ch.basic_publish("p.fanout", "", b"fan")
    q1 = ch.queue_declare("p.q1", passive=True).method.message_count
    q2 = ch.queue_declare("p.q2", passive=True).method.message_count
    assert (q1, q2) == (2, 2), (q1, q2)
    ch.basic_qos(prefetch_count=1)
    got = []

    def on_msg(c, method, props, body):
        got.append((body, props.content_type, props.headers))
        c.basic_ack(method.delivery_tag)
        if len(got) == 2:
            c.stop_consuming()
    ch.basic_consume("p.q2", on_msg)
    ch.start_consuming()
    assert [g[0] for g in got] == [b"logs.db.error", b"logs.web.info"], got
    assert got[0][1] == "text/plain" and got[0][2] == {"n": 1, "s": "x"}, got[0]
    conn.close()


def pika_mandatory_and_errors(gw):
    """Unroutable mandatory publish and a soft error that closes only the channel."""
    conn = gw.pika()
    ch = conn.channel()
    ch.confirm_delivery()
    try:
        ch.basic_publish("", "no-such-queue", b"x", mandatory=True)
        raise AssertionError("mandatory unroutable publish not returned")
    except pika.exceptions.UnroutableError:
        pass
    try:
        ch.queue_declare("missing", passive=True)
        raise AssertionError("passive declare of a missing queue succeeded")
    except pika.exceptions.ChannelClosedByBroker as e:
        assert e.reply_code == 404, e
    ch = conn.channel()  # the connection survived
    ch.queue_declare("p.after")
    conn.close()


def pika_get_nack(gw):
    """basic.get, nack with requeue, redelivered flag."""
    conn = gw.pika()
    ch = conn.channel()
    ch.queue_declare("p.get")
    ch.basic_publish("", "p.get", b"again")
    method, _, body = ch.basic_get("p.get")
    assert body == b"again" and not method.redelivered, (method, body)
    ch.basic_nack(method.delivery_tag, requeue=True)
    for _ in range(50):
        method, _, body = ch.basic_get("p.get", auto_ack=True)
        if method:
            break
        conn.sleep(0.05)
    assert body == b"again" and method.redelivered, (method, body)
    method, _, _ = ch.basic_get("p.get")
    assert method is None, "queue not empty"
    conn.close()


def pika_e2e_and_dead_letters(gw):
    """exchange_bind, an alternate exchange, and a reject dead-lettered with x-death."""
    conn = gw.pika()
    ch = conn.channel()
    ch.confirm_delivery()
    ch.exchange_declare("d.dlx", "fanout")
    ch.exchange_declare("d.src", "direct")
    ch.exchange_declare("d.dst", "fanout", arguments={"alternate-exchange": "d.dlx"})
    ch.exchange_bind("d.dst", "d.src", "k")
    ch.queue_declare("d.dead")
    ch.queue_bind("d.dead", "d.dlx")
    ch.queue_declare("d.work", arguments={"x-dead-letter-exchange": "d.dlx"})
    ch.queue_bind("d.work", "d.dst")
    ch.basic_publish("d.src", "k", b"job", mandatory=True)
    method, _, body = ch.basic_get("d.work")
    assert body == b"job", body
    ch.basic_reject(method.delivery_tag, requeue=False)
    for _ in range(50):
        method, props, body = ch.basic_get("d.dead", auto_ack=True)
        if method:
            break
        conn.sleep(0.05)
    assert body == b"job", body
    death = props.headers["x-death"][0]
    assert death["reason"] == "rejected" and death["queue"] == "d.work", props.headers
    conn.close()


def pika_rpc_and_limits(gw):
    """Direct reply-to RPC, x-max-length drop-head and reject-publish (a nack) with pika."""
    client = gw.pika()
    cch = client.channel()
    replies = []
    cch.basic_consume("amq.rabbitmq.reply-to", lambda c, m, p, b: replies.append((p.correlation_id, b)),
                      auto_ack=True)
    cch.queue_declare("l.rpc")
    cch.basic_publish("", "l.rpc", b"ping", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to",
                                                                   correlation_id="c1"))
    server = gw.pika()
    sch = server.channel()
    for _ in range(50):
        method, props, body = sch.basic_get("l.rpc", auto_ack=True)
        if method:
            break
        server.sleep(0.05)
    assert body == b"ping" and props.reply_to.startswith("amq.rabbitmq.reply-to."), props
    sch.basic_publish("", props.reply_to, b"pong", pika.BasicProperties(correlation_id=props.correlation_id))
    for _ in range(50):
        if replies:
            break
        client.process_data_events(time_limit=0.1)
    client.process_data_events(time_limit=0.3)  # a duplicate reply would arrive meanwhile
    assert replies == [("c1", b"pong")], replies

    sch.confirm_delivery()
    sch.queue_declare("l.ring", arguments={"x-max-length": 2})
    for i in range(4):
        sch.basic_publish("", "l.ring", b"%d" % i)
    assert sch.queue_declare("l.ring", passive=True).method.message_count == 2
    bodies = [sch.basic_get("l.ring", auto_ack=True)[2] for _ in range(2)]
    assert bodies == [b"2", b"3"], bodies
    sch.queue_declare("l.full", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    sch.basic_publish("", "l.full", b"a")
    try:
        sch.basic_publish("", "l.full", b"b")
        raise AssertionError("publish into a full reject-publish queue confirmed")
    except pika.exceptions.NackError:
        pass
    server.close()
    client.close()


def pika_tx(gw):
    """Transactions: publishes and acks take effect at tx.commit, rollback undoes them
    without redelivery, and tx and confirms on one channel are a 406, as in RabbitMQ."""
    conn = gw.pika()
    ch, other = conn.channel(), conn.channel()
    other.queue_declare("x.tx")
    ch.tx_select()
    ch.basic_publish("", "x.tx", b"a")
    ch.basic_publish("", "x.tx", b"b")
    conn.sleep(0.3)  # time enough for a server that writes at once
    n = other.queue_declare("x.tx", passive=True).method.message_count
    assert n == 0, ("visible before tx.commit", n)
    ch.tx_commit()
    n = other.queue_declare("x.tx", passive=True).method.message_count
    assert n == 2, ("after tx.commit", n)
    ch.basic_publish("", "x.tx", b"rolled-back")
    ch.tx_rollback()
    ch.tx_commit()
    n = other.queue_declare("x.tx", passive=True).method.message_count
    assert n == 2, ("after a rollback", n)
    method, _, body = ch.basic_get("x.tx")
    assert body == b"a", body
    ch.basic_ack(method.delivery_tag)
    ch.tx_rollback()
    ch.basic_ack(method.delivery_tag)  # unacked again after the rollback: no 406
    ch.tx_commit()
    try:
        ch.confirm_delivery()
        raise AssertionError("confirm.select on a transactional channel accepted")
    except pika.exceptions.ChannelClosedByBroker as e:
        assert e.reply_code == 406, e
    ch = conn.channel()
    ch.confirm_delivery()
    try:
        ch.tx_select()
        raise AssertionError("tx.select on a channel in confirm mode accepted")
    except pika.exceptions.ChannelClosedByBroker as e:
        assert e.reply_code == 406, e
    bodies = []
    for _ in range(50):  # "b" may sit with the closed channel's basic.get consumer a moment
        method, _, body = other.basic_get("x.tx", auto_ack=True)
        if method:
            bodies.append(body)
            break
        conn.sleep(0.05)
    conn.sleep(0.3)
    method, _, body = other.basic_get("x.tx", auto_ack=True)
    assert bodies == [b"b"] and method is None, ("the committed ack of a came back", bodies, body)
    conn.close()


def amqp_tools(gw):
    """librabbitmq's tools: declare, publish, get, consume."""
    tool(gw, "amqp-declare-queue", "-d", "-q", "t.q")
    for i in range(3):
        tool(gw, "amqp-publish", "-r", "t.q", "-b", "msg%d" % i, "-p", "-C", "text/plain")
    assert tool(gw, "amqp-get", "-q", "t.q") == b"msg0"
    out = tool(gw, "amqp-consume", "-q", "t.q", "-c", "2", "cat")
    assert out == b"msg1msg2", out
    tool(gw, "amqp-delete-queue", "-q", "t.q")


def restart(gw):
    """A durable queue, its binding and messages survive a restart."""
    tool(gw, "amqp-declare-queue", "-d", "-q", "r.q")
    conn = gw.pika()
    ch = conn.channel()
    ch.exchange_declare("r.x", "direct", durable=True)
    ch.queue_bind("r.q", "r.x", "k")
    ch.confirm_delivery()
    for i in range(5):
        ch.basic_publish("r.x", "k", b"%d" % i, pika.BasicProperties(delivery_mode=2))
    conn.close()
    gw.stop()
    gw = Gateway()
    conn = gw.pika()
    ch = conn.channel()
    n = ch.queue_declare("r.q", durable=True).method.message_count
    assert n == 5, n
    ch.confirm_delivery()
    ch.basic_publish("r.x", "k", b"5")
    bodies = []
    for _ in range(6):
        method, _, body = ch.basic_get("r.q", auto_ack=True)
        assert method, bodies
        bodies.append(body)
    assert bodies == [b"%d" % i for i in range(6)], bodies
    conn.close()
    return gw


def pika_logins(gw):
    """With --amqp-password-file (written by mosquitto_passwd), pika logs in as a user of the
    file; a wrong password or an unknown user gets RabbitMQ's 403 ACCESS_REFUSED."""
    assert shutil.which("mosquitto_passwd"), "no mosquitto_passwd: apt-get install mosquitto (scripts/test.sh does)"
    pw = DATA + "-passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", pw, "alice", "s3cret"], check=True)
    login_gw = GatewayProcess(BIN, DATA + "-logins", "amqp", EXTRA + ["--amqp-password-file", pw])
    try:
        def connect(user, password):
            return pika.BlockingConnection(pika.ConnectionParameters(
                "127.0.0.1", login_gw.port, VHOST, pika.PlainCredentials(user, password), connection_attempts=1))
        conn = connect("alice", "s3cret")
        ch = conn.channel()
        ch.queue_declare("login.q")
        ch.basic_publish("", "login.q", b"hi")
        method, _, body = ch.basic_get("login.q", auto_ack=True)
        assert method and body == b"hi", (method, body)
        ch.queue_delete("login.q")
        conn.close()
        for user, password in [("alice", "wrong"), ("mallory", "s3cret"), ("guest", "guest")]:
            try:
                connect(user, password).close()
            except pika.exceptions.ProbableAuthenticationError as e:
                want = "(403) 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN."
                assert want in str(e), e
            else:
                raise AssertionError("login %s/%s accepted" % (user, password))
    finally:
        login_gw.stop()


def pika_authz(gw):
    """With --auth-acl-file (the one rule set: Kafka-style ACLs), enforced as RabbitMQ enforces
    permissions: pika as alice publishes to and consumes the queue her rules give her; consuming
    one they do not closes that channel with 403 ACCESS_REFUSED (ChannelClosedByBroker) while
    the connection and its other channel go on; bob, with no rule for the vhost, is refused at
    connection.open with 530 NOT_ALLOWED (pika: ProbableAccessDeniedError)."""
    assert shutil.which("mosquitto_passwd"), "no mosquitto_passwd: apt-get install mosquitto (scripts/test.sh does)"
    pw, acl = DATA + "-authz-passwd", DATA + "-acls.yaml"
    subprocess.run(["mosquitto_passwd", "-b", "-c", pw, "alice", "a"], check=True)
    for user in ("bob", "carol"):
        subprocess.run(["mosquitto_passwd", "-b", pw, user, user[0]], check=True)
    with open(acl, "w") as f:
        f.write("""acls:
  - {principal: "User:alice", resource: vhost, name: %s, operations: [describe]}
  - {principal: "User:alice", resource: topic, name: authz.orders, operations: [create, read, write]}
  - {principal: "User:bob", resource: topic, name: "*", operations: [all]}
""" % json.dumps(VHOST))
    authz_gw = GatewayProcess(BIN, DATA + "-authz", "amqp",
                              EXTRA + ["--amqp-password-file", pw, "--auth-acl-file", acl, "--auth-super-users", "carol"])
    try:
        def connect(user, password):
            return pika.BlockingConnection(pika.ConnectionParameters(
                "127.0.0.1", authz_gw.port, VHOST, pika.PlainCredentials(user, password), connection_attempts=1))
        admin = connect("carol", "c")  # a super user
        ach = admin.channel()
        ach.queue_declare("authz.secret")
        ach.basic_publish("", "authz.secret", b"classified")

        conn = connect("alice", "a")
        ch = conn.channel()
        ch.queue_declare("authz.orders")
        ch.basic_publish("", "authz.orders", b"o1")
        denied = conn.channel()
        try:
            denied.basic_consume("authz.secret", lambda *a: None)
        except pika.exceptions.ChannelClosedByBroker as e:
            assert e.reply_code == 403, e
            assert e.reply_text == "ACCESS_REFUSED - read access to queue 'authz.secret' in vhost '%s' refused for user 'alice'" % VHOST, e
        else:
            raise AssertionError("alice consumed authz.secret")
        leak = conn.channel()
        leak.confirm_delivery()
        try:
            leak.basic_publish("", "authz.secret", b"leak")
        except pika.exceptions.ChannelClosedByBroker as e:
            want = "ACCESS_REFUSED - write access to exchange 'amq.default' in vhost '%s' refused for user 'alice'" % VHOST
            assert e.reply_code == 403 and e.reply_text == want, e
        else:
            raise AssertionError("alice published to authz.secret")
        # the connection and the first channel go on
        got = []
        ch.basic_consume("authz.orders", lambda c, m, p, b: (got.append(b), c.basic_ack(m.delivery_tag)))
        while not got:
            conn.process_data_events(1)
        assert got == [b"o1"], got
        conn.close()
        q = ach.queue_declare("authz.secret", passive=True)
        assert q.method.message_count == 1, q.method  # the refused publish left nothing
        ach.queue_delete("authz.secret")
        admin.close()

        try:
            connect("bob", "b").close()
        except pika.exceptions.ProbableAccessDeniedError as e:
            assert "530" in str(e) and "access to vhost '%s' refused for user 'bob'" % VHOST in str(e), e
        else:
            raise AssertionError("bob opened the vhost")
    finally:
        authz_gw.stop()


def ack_restart(gw):
    """Whatever way a client acknowledged, the message stays gone across a restart (SIGTERM,
    start on the same store), as RabbitMQ keeps it gone: basic.consume with ack, multiple ack,
    basic.get with ack, basic.nack and basic.reject without requeue. What it left unacked
    comes back. Queue counts are checked before and after, and consumers listen for a while."""
    n = 20
    everything = {b"%d" % i for i in range(n)}
    odd = {b"%d" % i for i in range(1, n, 2)}
    conn = gw.pika()
    ch = conn.channel()
    ch.confirm_delivery()
    ways = {
        "ar.consume": lambda m, k: ch.basic_ack(m.delivery_tag),
        # two multiple acks: the first settles tags 1..10, the second the rest
        "ar.multiple": lambda m, k: k in (n // 2, n) and ch.basic_ack(m.delivery_tag, multiple=True),
        "ar.nack": lambda m, k: ch.basic_nack(m.delivery_tag, multiple=False, requeue=False),
        "ar.reject": lambda m, k: ch.basic_reject(m.delivery_tag, requeue=False),
        # acks the even bodies only; the odd ones stay unacked and come back
        "ar.partial": lambda m, k: k % 2 == 1 and ch.basic_ack(m.delivery_tag),
    }
    left = {q: set() for q in ways}
    left["ar.partial"] = odd
    left["ar.get"] = set()
    for q in left:
        ch.queue_declare(q, durable=True)
        for i in range(n):
            ch.basic_publish("", q, b"%d" % i, pika.BasicProperties(delivery_mode=2))
    for q, settle in ways.items():
        got = set()
        for method, _, body in ch.consume(q, inactivity_timeout=10):
            assert method, (q, "only", len(got), "of", n)
            got.add(body)
            settle(method, len(got))
            if len(got) == n:
                break
        assert got == everything, (q, got)
        ch.cancel()
    for _ in range(n):
        method, _, body = ch.basic_get("ar.get")
        assert method, "basic.get found the queue empty early"
        ch.basic_ack(method.delivery_tag)
    conn.close()  # the unacked of ar.partial go back to their queue

    def counts(ch, when):
        for q, want in left.items():
            ready = ch.queue_declare(q, durable=True, passive=True).method.message_count
            assert ready == len(want), (when, q, "ready", ready, "want", len(want))

    conn = gw.pika()
    counts(conn.channel(), "before the restart")
    conn.close()
    gw.stop()
    gw = Gateway()
    conn = gw.pika()
    ch = conn.channel()
    counts(ch, "after the restart")
    for q, want in left.items():
        got = set()
        # listens 1.5 s past the last message: an acked one coming back shows here
        for method, _, body in ch.consume(q, inactivity_timeout=1.5):
            if not method:
                break
            got.add(body)
            ch.basic_ack(method.delivery_tag)
        ch.cancel()
        assert got == want, (q, "delivered after the restart", sorted(got), "want", sorted(want))
    conn.close()
    return gw


def main():
    gw = Gateway()
    failed = 0
    try:
        for scenario in [pika_routing, pika_mandatory_and_errors, pika_get_nack, pika_e2e_and_dead_letters,
                         pika_rpc_and_limits, pika_tx, pika_logins, pika_authz, amqp_tools, restart, ack_restart]:
            try:
                res = scenario(gw)
                if isinstance(res, Gateway):
                    gw = res
                print("ok  ", scenario.__name__)
            except Exception:
                failed += 1
                print("FAIL", scenario.__name__)
                traceback.print_exc()
    finally:
        gw.stop()
    sys.exit(1 if failed else 0)


main()
