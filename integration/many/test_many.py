"""Several gateway processes on one Pulsar behave as one broker, checked with real clients.
Usage: test_many.py BINARY WORKDIR, with PULSAR_URL and PULSAR_ADMIN_URL set.

Three gateways (separate processes, separate data dirs) on the broker PULSAR_URL names; one is
killed with SIGKILL mid-way. So far: MQTT client ids (paho 3.1.1 and 5); issue 13 adds Kafka
groups and AMQP guarantees here."""

import os
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gateway import GatewayProcess  # noqa: E402  (integration/gateway.py)

BIN, WORK = sys.argv[1], sys.argv[2]
PULSAR = ["--backend", "pulsar", "--pulsar-url", os.environ["PULSAR_URL"],
          "--pulsar-admin-url", os.environ["PULSAR_ADMIN_URL"]]
IT = "many%d" % (time.time() % 1e6)  # topics and client ids unique to this run


def start(n):
    return GatewayProcess(BIN, os.path.join(WORK, "gw%d" % n), "mqtt", PULSAR)


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


def main():
    gws = [start(n) for n in range(3)]
    failed = 0
    scenarios = [
        ("MQTT 3.1.1 take-over across gateways (paho)", lambda: takeover(gws, False)),
        ("MQTT 5 take-over across gateways: DISCONNECT 0x8E (paho)", lambda: takeover(gws, True)),
        ("MQTT persistent session after its gateway's SIGKILL (paho)", lambda: killed_gateway(gws)),
    ]
    try:
        for name, f in scenarios:
            try:
                took = f()
                print("ok   %s (%.0f ms)" % (name, took * 1000))
            except Exception as e:  # report every scenario, then fail
                failed += 1
                print("FAIL", name, repr(e))
    finally:
        for gw in gws:
            if gw.proc.poll() is None:
                gw.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
