"""pika logs in with EXTERNAL (its client certificate) to a gateway whose AMQP
listener requires client certificates (clients_login_test.go starts it and
passes the address and certificate files as one JSON argument)."""

import json
import ssl
import sys
import time

import pika
import pika.exceptions

import scenarios  # testdata/scenarios.py

ARGS = json.loads(sys.argv[1])
PORT = int(ARGS["amqp"].rsplit(":", 1)[1])


def connect(client):
    """EXTERNAL login with the certificate ARGS[client] names (None: none)."""
    ctx = ssl.create_default_context(cafile=ARGS["ca"])
    if client:
        ctx.load_cert_chain(ARGS[client]["cert"], ARGS[client]["key"])
    return pika.BlockingConnection(pika.ConnectionParameters(
        "127.0.0.1", PORT, "/", pika.credentials.ExternalCredentials(),
        ssl_options=pika.SSLOptions(ctx, "127.0.0.1"), connection_attempts=1, socket_timeout=5))


def known_certificate():
    """The certificate of a user the password file has: publish, consume."""
    conn = connect("known")
    ch = conn.channel()
    ch.queue_declare("pika-external", auto_delete=True)
    ch.basic_publish("", "pika-external", b"by certificate")
    got = []

    def on_message(c, method, _props, body):
        got.append(body)
        c.basic_ack(method.delivery_tag)
    ch.basic_consume("pika-external", on_message)
    deadline = time.time() + 10
    while not got and time.time() < deadline:
        conn.process_data_events(time_limit=0.2)
    assert got == [b"by certificate"], got
    conn.close()


def unknown_user():
    """The CA signed it, but its user is not in the password file: 403, as
    RabbitMQ refuses a certificate whose user its database lacks."""
    try:
        connect("unknown_user").close()
    except pika.exceptions.ProbableAuthenticationError as e:
        want = "(403) 'ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL."
        assert want in str(e), e
    else:
        raise AssertionError("logged in with a certificate of a user the password file lacks")


def refused_at_handshake(client, alert):
    """No AMQP at all: the server ends the TLS handshake. Under TLS 1.3 the
    client has sent its Finished (and perhaps the AMQP header) before the
    server checked its certificate, so it sees either the server's alert or
    the stream closed under it; pika reports the latter as an incompatible
    protocol, since connection.start never came. The Go test checks the
    gateway's side: the handshake's error."""
    try:
        connect(client).close()
    except pika.exceptions.AMQPConnectionError as e:
        assert not isinstance(e, pika.exceptions.ProbableAuthenticationError), e
        lost = isinstance(e, pika.exceptions.IncompatibleProtocolError) and "SSLEOFError" in repr(e)
        assert alert in repr(e) or lost, "want the TLS alert %r or the stream lost: %r" % (alert, e)
    else:
        raise AssertionError("logged in")


def other_ca():
    refused_at_handshake("other_ca", "UNKNOWN_CA")


def no_certificate():
    refused_at_handshake(None, "CERTIFICATE_REQUIRED")


if __name__ == "__main__":
    scenarios.run(known_certificate, unknown_user, other_ca, no_certificate)
