"""MQTT scenarios against the built gateway binary, with real third-party
clients: mosquitto_pub/mosquitto_sub (libmosquitto, 3.1.1 and 5) and
paho-mqtt for Python. Usage: test_clients.py BINARY DATA_DIR"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gateway import GatewayProcess  # noqa: E402  (integration/gateway.py)

BIN, DATA = sys.argv[1], sys.argv[2]
# Extra gateway flags (run.sh: the Pulsar backend), and the prefix of every
# topic and client id, unique per run on a shared broker.
EXTRA = os.environ.get("GATEWAY_ARGS", "").split()
IT = os.environ.get("MQTT_IT_PREFIX", "it")


class Gateway(GatewayProcess):
    """The binary serving MQTT, with its store in DATA (kept across restarts)."""

    def __init__(self):
        super().__init__(BIN, DATA, "mqtt", EXTRA)


def mosquitto_pub(gw, *args):
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(gw.port), *args],
                   check=True, timeout=10)


def mosquitto_sub(gw, *args):
    """Starts mosquitto_sub; read its output with .communicate()."""
    return subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(gw.port), *args],
                            stdout=subprocess.PIPE, text=True)


def lines(proc, timeout=10):
    out, _ = proc.communicate(timeout=timeout)
    return out.splitlines()


def paho_client(gw, cid, clean=True, proto=mqtt.MQTTv311, **kw):
    got = []
    cond = threading.Condition()
    cid = f"{IT}-{cid}"
    if proto == mqtt.MQTTv5:
        c = mqtt.Client(client_id=cid, protocol=proto)
    else:
        c = mqtt.Client(client_id=cid, clean_session=clean, protocol=proto)

    def on_message(_c, _u, m):
        with cond:
            got.append((m.topic, m.payload.decode(), m.qos, m.retain))
            cond.notify_all()
    c.on_message = on_message
    c.connected = threading.Event()

    def on_connect(_c, _u, flags, _rc, _props=None):
        c.present = bool(flags.get("session present"))
        c.connected.set()
    c.on_connect = on_connect
    if "will" in kw:
        c.will_set(*kw["will"])
    c.connect("127.0.0.1", gw.port, keepalive=30, **kw.get("connect", {}))
    c.loop_start()

    def wait(n, timeout=10):
        with cond:
            assert cond.wait_for(lambda: len(got) >= n, timeout), f"{cid}: got {got}, want {n}"
            return list(got)
    c.wait = wait
    c.got = got
    return c


def sub_wait(c, topic, qos):
    r, mid = c.subscribe(topic, qos)
    assert r == mqtt.MQTT_ERR_SUCCESS
    time.sleep(0.3)  # SUBACK; paho 1.6 has no blocking subscribe


def scenario(name):
    def wrap(f):
        f.scenario = name
        return f
    return wrap


@scenario("mosquitto 3.1.1 and 5: QoS 0/1/2 in order through a wildcard")
def test_mosquitto_qos(gw):
    for v in ("mqttv311", "mqttv5"):
        for qos in ("0", "1", "2"):
            sub = mosquitto_sub(gw, "-V", v, "-q", qos, "-t", f"{IT}/{v}/+", "-C", "10", "-v")
            time.sleep(0.5)
            for i in range(10):
                mosquitto_pub(gw, "-V", v, "-q", qos, "-t", f"{IT}/{v}/q{qos}", "-m", f"m{i}")
            got = lines(sub)
            assert got == [f"{IT}/{v}/q{qos} m{i}" for i in range(10)], got


@scenario("MQTT 5 user properties through mosquitto")
def test_user_properties(gw):
    sub = mosquitto_sub(gw, "-V", "mqttv5", "-t", f"{IT}/props", "-C", "1", "-F", "%P %p")
    time.sleep(0.5)
    mosquitto_pub(gw, "-V", "mqttv5", "-q", "1", "-t", f"{IT}/props", "-m", "x",
                  "-D", "publish", "user-property", "site", "a")
    got = lines(sub)
    assert got == ["site:a x"], got


@scenario("paho-python QoS 2 and QoS 1 round trip")
def test_paho_roundtrip(gw):
    sub = paho_client(gw, "py-sub")
    sub_wait(sub, f"{IT}/py/#", 2)
    pub = paho_client(gw, "py-pub")
    for i in range(20):
        pub.publish(f"{IT}/py/a", f"p{i}", qos=2 if i % 2 else 1).wait_for_publish(10)
    got = sub.wait(20)
    # Order holds per QoS: paho hands a QoS 2 message over at PUBREL.
    for qos in (1, 2):
        want = [(f"p{i}", qos) for i in range(20) if (2 if i % 2 else 1) == qos]
        assert [(p, q) for _, p, q, _ in got if q == qos] == want, got
    sub.disconnect(), pub.disconnect()


@scenario("will message on a dropped connection")
def test_will(gw):
    watch = paho_client(gw, "py-watch")
    sub_wait(watch, f"{IT}/will/#", 1)
    dying = paho_client(gw, "py-dying", will=(f"{IT}/will/dying", "gone", 1, False))
    time.sleep(0.3)
    dying.loop_stop()
    dying.socket().close()  # no DISCONNECT
    got = watch.wait(1)
    assert got[0][:2] == (f"{IT}/will/dying", "gone"), got
    watch.disconnect()


@scenario("MQTT 5 shared subscription $share/g/...: each message to one member (paho v5)")
def test_shared(gw):
    members = [paho_client(gw, f"py-share-{i}", proto=mqtt.MQTTv5) for i in range(2)]
    for m in members:
        sub_wait(m, f"$share/grp/{IT}/sh/+", 1)
    pub = paho_client(gw, "py-share-pub")
    for i in range(20):
        pub.publish(f"{IT}/sh/a", f"s{i}", qos=1).wait_for_publish(10)
    deadline = time.time() + 10
    while sum(len(m.got) for m in members) < 20 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    got = sorted(p for m in members for _, p, _, _ in m.got)
    assert got == sorted(f"s{i}" for i in range(20)), got
    for c in members + [pub]:
        c.disconnect()


@scenario("session takeover: a second connection with the same id gets the session")
def test_takeover(gw):
    first = paho_client(gw, "py-take", clean=False)
    # Its loop keeps running, so that what it got is checked for real, but
    # does not reconnect (and take the session back) during the test.
    first.reconnect_delay_set(min_delay=60, max_delay=120)
    gone = threading.Event()
    first.on_disconnect = lambda *a: gone.set()
    sub_wait(first, f"{IT}/take", 1)
    second = paho_client(gw, "py-take", clean=False)
    assert gone.wait(5), "the first connection was not closed"
    mosquitto_pub(gw, "-q", "1", "-t", f"{IT}/take", "-m", "t1")
    got = second.wait(1)
    assert got[0][1] == "t1", got
    time.sleep(0.5)
    assert not first.got, first.got
    first.loop_stop()
    second.disconnect()


def v5_session(gw, cid, clean_start, expiry):
    """An MQTT 5 paho client with a session expiry; .present is CONNACK's session present."""
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = expiry
    c = paho_client(gw, cid, proto=mqtt.MQTTv5, connect={"clean_start": clean_start, "properties": props})
    assert c.connected.wait(10), f"{cid}: no CONNACK"
    return c


@scenario("MQTT 5 session expiry: kept 2 s into a 5 s interval, gone after it (paho v5)")
def test_session_expiry(gw):
    dev = v5_session(gw, "py-exp", True, 5)
    sub_wait(dev, f"{IT}/exp", 1)
    dev.disconnect()
    dev.loop_stop()
    mosquitto_pub(gw, "-q", "1", "-t", f"{IT}/exp", "-m", "away")
    time.sleep(2)
    dev = v5_session(gw, "py-exp", False, 5)
    assert dev.present, "2 s into a 5 s session expiry: no session present"
    assert [p for _, p, _, _ in dev.wait(1)] == ["away"], dev.got
    dev.disconnect()
    dev.loop_stop()
    time.sleep(6)
    dev = v5_session(gw, "py-exp", False, 5)
    assert not dev.present, "after the session expiry: session present"
    mosquitto_pub(gw, "-q", "1", "-t", f"{IT}/exp", "-m", "late")
    time.sleep(1)
    assert not dev.got, dev.got
    dev.disconnect()
    dev.loop_stop()


def acked_sessions(gw):
    """A persistent 3.1.1 session at QoS 1 and an MQTT 5 one at QoS 2, after
    the client received (and so acknowledged) what was published."""
    q1 = paho_client(gw, "py-ack1", clean=False)
    sub_wait(q1, f"{IT}/ack/q1", 1)
    q2 = v5_session(gw, "py-ack2", False, 3600)
    sub_wait(q2, f"{IT}/ack/q2", 2)
    return q1, q2


def ack_before_restart(gw):
    q1, q2 = acked_sessions(gw)
    for i in range(10):
        mosquitto_pub(gw, "-q", "1", "-t", f"{IT}/ack/q1", "-m", f"a{i}")
        mosquitto_pub(gw, "-q", "2", "-t", f"{IT}/ack/q2", "-m", f"b{i}")
    assert [p for _, p, _, _ in q1.wait(10)] == [f"a{i}" for i in range(10)], q1.got
    assert [p for _, p, _, _ in q2.wait(10)] == [f"b{i}" for i in range(10)], q2.got
    time.sleep(0.5)  # the last PUBACK, PUBREC and PUBCOMP go out
    for c in (q1, q2):
        c.disconnect()
        c.loop_stop()


def ack_after_restart(gw):
    q1, q2 = acked_sessions(gw)
    time.sleep(2)
    back = {"QoS 1": list(q1.got), "QoS 2": list(q2.got)}
    assert not any(back.values()), f"acknowledged messages came back: {back}"
    # The sessions are alive: what comes now is delivered.
    mosquitto_pub(gw, "-q", "1", "-t", f"{IT}/ack/q1", "-m", "new1")
    mosquitto_pub(gw, "-q", "2", "-t", f"{IT}/ack/q2", "-m", "new2")
    assert [p for _, p, _, _ in q1.wait(1)] == ["new1"], q1.got
    assert [p for _, p, _, _ in q2.wait(1)] == ["new2"], q2.got
    for c in (q1, q2):
        c.disconnect()
        c.loop_stop()


def before_restart(gw):
    # A retained message, a persistent 3.1.1 session and an MQTT 5 one with
    # session expiry, both away while messages arrive.
    mosquitto_pub(gw, "-q", "1", "-r", "-t", f"{IT}/ret/a", "-m", "kept")
    dev = paho_client(gw, "py-device", clean=False)
    sub_wait(dev, f"{IT}/cmd/+", 1)
    dev.disconnect()
    dev.loop_stop()
    time.sleep(0.3)
    subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(gw.port), "-V", "mqttv5", "-i", f"{IT}-mosq-dev",
                    "-c", "-x", "3600", "-q", "1", "-t", f"{IT}/cmd/#", "-W", "1"], timeout=10, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for i in range(5):
        mosquitto_pub(gw, "-q", "1", "-t", f"{IT}/cmd/dev", "-m", f"c{i}")


def after_restart(gw):
    sub = mosquitto_sub(gw, "-t", f"{IT}/ret/#", "-C", "1", "-v")
    assert lines(sub) == [f"{IT}/ret/a kept"]
    dev = paho_client(gw, "py-device", clean=False)
    got = dev.wait(5)
    assert [p for _, p, _, _ in got] == [f"c{i}" for i in range(5)], got
    dev.disconnect()
    sub = mosquitto_sub(gw, "-V", "mqttv5", "-i", f"{IT}-mosq-dev", "-c", "-x", "3600", "-q", "1",
                        "-t", f"{IT}/cmd/#", "-C", "5")
    assert lines(sub) == [f"c{i}" for i in range(5)]


def test_auth():
    """A gateway of its own with a password file written by mosquitto_passwd and an ACL file."""
    tmp = tempfile.mkdtemp()
    pw, acl = os.path.join(tmp, "passwd"), os.path.join(tmp, "acl")
    subprocess.run(["mosquitto_passwd", "-b", "-c", pw, "dev", "s3cret"], check=True)
    with open(acl, "w") as f:
        f.write(f"user dev\ntopic readwrite {IT}/dev/#\npattern write {IT}/clients/%c/#\n")
    gw = GatewayProcess(BIN, DATA + "-auth", "mqtt", EXTRA + ["--mqtt-password-file", pw, "--mqtt-acl-file", acl])
    try:
        def pub(*args):
            return subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(gw.port), *args],
                                  capture_output=True, text=True, timeout=10)
        for v in ("mqttv311", "mqttv5"):
            r = pub("-V", v, "-u", "dev", "-P", "wrong", "-t", f"{IT}/dev/x", "-m", "x")
            # Mosquitto 2.0.11 answers a wrong password "not authorised" (5; MQTT 5: 0x87).
            assert r.returncode != 0 and "not authori" in r.stderr.lower(), (v, r.stderr)
            r = pub("-V", v, "-t", f"{IT}/dev/x", "-m", "x")  # anonymous
            assert r.returncode != 0 and "not authori" in r.stderr.lower(), (v, r.stderr)
            sub = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(gw.port), "-V", v, "-u", "dev",
                                  "-P", "s3cret", "-t", f"{IT}/#", "-E"], capture_output=True, text=True, timeout=10)
            assert "all subscription requests were denied" in sub.stderr.lower(), (v, sub.stderr)
            sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(gw.port), "-V", v, "-u", "dev",
                                    "-P", "s3cret", "-t", f"{IT}/dev/#", "-C", "1", "-q", "1"],
                                   stdout=subprocess.PIPE, text=True)
            time.sleep(0.5)
            # Denied: 3.1.1 acknowledges and drops it, as Mosquitto does; 5 answers 0x87,
            # which mosquitto_pub reports as a warning.
            r = pub("-V", v, "-u", "dev", "-P", "s3cret", "-q", "1", "-t", f"{IT}/other/x", "-m", "denied")
            assert r.returncode == 0 and ("not authorized" in r.stderr.lower()) == (v == "mqttv5"), (v, r.stderr)
            r = pub("-V", v, "-u", "dev", "-P", "s3cret", "-q", "1", "-t", f"{IT}/dev/x", "-m", "allowed")
            assert r.returncode == 0, r.stderr
            assert lines(sub) == ["allowed"]
    finally:
        gw.stop()
        shutil.rmtree(tmp)


def main():
    gw = Gateway()
    failed = 0
    try:
        for t in (test_mosquitto_qos, test_user_properties, test_paho_roundtrip, test_will,
                  test_shared, test_takeover, test_session_expiry):
            try:
                t(gw)
                print("ok  ", t.scenario)
            except Exception as e:  # report every scenario, then fail
                failed += 1
                print("FAIL", t.scenario, repr(e))
        before_restart(gw)
        ack_before_restart(gw)
    finally:
        gw.stop()
    try:
        # A missing tool fails the scenario, never skips it.
        assert shutil.which("mosquitto_passwd"), "no mosquitto_passwd: apt-get install mosquitto (scripts/test.sh does)"
        test_auth()
        print("ok   password file (mosquitto_passwd) and ACL file: CONNACK codes, denied publish and subscribe")
    except Exception as e:
        failed += 1
        print("FAIL password and ACL files", repr(e))
    gw = Gateway()
    try:
        after_restart(gw)
        print("ok   retained message and persistent sessions (paho 3.1.1, mosquitto 5) across a restart")
    except Exception as e:
        failed += 1
        print("FAIL retained and persistent sessions across a restart", repr(e))
    try:
        ack_after_restart(gw)
        print("ok   acknowledged QoS 1 and QoS 2 messages of persistent sessions do not come back after a restart")
    except Exception as e:
        failed += 1
        print("FAIL acknowledge, restart, nothing comes back", repr(e))
    finally:
        gw.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
