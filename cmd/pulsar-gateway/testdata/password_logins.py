"""pika and paho-mqtt log in to a gateway with a password file and a JWKS
(clients_login_test.go starts it and passes its ports and the secrets as one
JSON argument)."""

import json
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pika
import pika.exceptions

import scenarios  # testdata/scenarios.py

ARGS = json.loads(sys.argv[1])
AMQP_PORT, MQTT_PORT = (int(ARGS[p].rsplit(":", 1)[1]) for p in ("amqp", "mqtt"))
REFUSED = "(403) 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN."


def pika_connect(user, password, credentials=None):
    if credentials is None:
        credentials = pika.PlainCredentials(user, password)
    return pika.BlockingConnection(pika.ConnectionParameters(
        "127.0.0.1", AMQP_PORT, "/", credentials, connection_attempts=1, socket_timeout=5))


def pika_roundtrip(conn, queue):
    """Publishes one message and consumes it with basic_consume."""
    ch = conn.channel()
    ch.queue_declare(queue, auto_delete=True)
    ch.basic_publish("", queue, b"hello " + queue.encode())
    got = []

    def on_message(c, method, _props, body):
        got.append(body)
        c.basic_ack(method.delivery_tag)
    ch.basic_consume(queue, on_message)
    deadline = time.time() + 10
    while not got and time.time() < deadline:
        conn.process_data_events(time_limit=0.2)
    assert got == [b"hello " + queue.encode()], got
    conn.close()


def pika_refused(user, password, credentials=None):
    try:
        pika_connect(user, password, credentials).close()
    except pika.exceptions.ProbableAuthenticationError as e:
        assert REFUSED in str(e), e
    else:
        raise AssertionError("pika logged in as %r" % user)


def amqp_password():
    pika_roundtrip(pika_connect(ARGS["user"], ARGS["password"]), "pika-password")
    pika_refused(ARGS["user"], ARGS["wrong"])
    pika_refused("mallory", ARGS["password"])
    # No credentials given: pika sends its default guest/guest, as to RabbitMQ.
    pika_refused(None, None, pika.ConnectionParameters().credentials)


def amqp_token():
    pika_roundtrip(pika_connect(ARGS["subject"], ARGS["token"]), "pika-token")
    for what in ("expired", "forged"):
        try:
            pika_refused(ARGS["subject"], ARGS[what])
        except AssertionError as e:
            raise AssertionError("%s token: %s" % (what, e))


def mqtt_connect(version, user=None, password=None):
    """CONNECT as user; returns (return code, client), the client connected
    when the code is 0."""
    c = mqtt.Client("login-%s-%s-%d" % (version, user, time.monotonic_ns()),
                    protocol=mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311)
    if user is not None:
        c.username_pw_set(user, password)
    got = []
    done = threading.Event()

    def on_connect(_c, _u, _flags, rc, _props=None):
        got.append(getattr(rc, "value", rc))
        done.set()
    c.on_connect = on_connect
    c.connect("127.0.0.1", MQTT_PORT, keepalive=30)
    c.loop_start()
    if not done.wait(10):
        c.loop_stop()
        raise AssertionError("no CONNACK")
    if got[0] != 0:
        c.loop_stop()
        c.disconnect()
    return got[0], c


def mqtt_roundtrip(c, topic):
    got = []
    subscribed = threading.Event()
    c.on_message = lambda _c, _u, m: got.append(m.payload)
    c.on_subscribe = lambda *_a: subscribed.set()
    c.subscribe(topic, qos=1)
    assert subscribed.wait(10), "no SUBACK"
    c.publish(topic, b"hello", qos=1).wait_for_publish(10)
    deadline = time.time() + 10
    while not got and time.time() < deadline:
        time.sleep(0.05)
    c.disconnect()
    c.loop_stop()
    assert got == [b"hello"], got


# CONNACK codes: Mosquitto 2.0.11 answers a bad password as no login, 3.1.1's
# 5 (not authorized), MQTT 5's 0x87.
BAD = {3: 5, 5: 0x87}
NOT_AUTHORIZED = {3: 5, 5: 0x87}


def expect_code(version, want, user, password=None):
    rc, _ = mqtt_connect(version, user, password)
    assert rc == want, "MQTT %d as %r: CONNACK %#x, want %#x" % (version, user, rc, want)


def mqtt_password():
    for v in (3, 5):
        rc, c = mqtt_connect(v, ARGS["user"], ARGS["password"])
        assert rc == 0, "MQTT %d with the password: CONNACK %#x" % (v, rc)
        mqtt_roundtrip(c, "logins/password/%d" % v)
        expect_code(v, BAD[v], ARGS["user"], ARGS["wrong"])
        expect_code(v, BAD[v], "mallory", ARGS["password"])
        expect_code(v, NOT_AUTHORIZED[v], None)


def mqtt_token():
    for v in (3, 5):
        rc, c = mqtt_connect(v, ARGS["subject"], ARGS["token"])
        assert rc == 0, "MQTT %d with the token: CONNACK %#x" % (v, rc)
        mqtt_roundtrip(c, "logins/token/%d" % v)
        for what in ("expired", "forged"):
            expect_code(v, BAD[v], ARGS["subject"], ARGS[what])


if __name__ == "__main__":
    scenarios.run(amqp_password, amqp_token, mqtt_password, mqtt_token)
