"""MQTT over WebSocket scenarios against the built gateway binary (mqtt.ws_addr and
mqtt.wss_addr), with real clients: paho-mqtt for Python (transport="websockets"), MQTT.js
(npm "mqtt", found through NODE_PATH) in Node, and MQTT.js's browser bundle in headless
Chromium; what they publish is read back over TCP (mosquitto_sub) and Kafka (kcat).
Usage: test_websockets.py BINARY DATA_DIR [ARTEFACT_DIR]"""

import http.server
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gateway import GatewayProcess  # noqa: E402  (integration/gateway.py)

HERE = os.path.dirname(os.path.abspath(__file__))
BIN, DATA = sys.argv[1], sys.argv[2]
ARTEFACTS = sys.argv[3] if len(sys.argv) > 3 else None
if ARTEFACTS:
    os.makedirs(ARTEFACTS, exist_ok=True)
EXTRA = os.environ.get("GATEWAY_ARGS", "").split()
IT = os.environ.get("MQTT_IT_PREFIX", "it")


def make_certs(d):
    """A CA and a server certificate for 127.0.0.1 and localhost, by openssl."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)
    p = lambda n: os.path.join(d, n)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", p("ca-key.pem"),
        "-out", p("ca.pem"), "-days", "2", "-subj", "/CN=test CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", p("server-key.pem"),
        "-out", p("server.csr"), "-subj", "/CN=localhost")
    with open(p("ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca-key.pem"), "-CAcreateserial",
        "-out", p("server.pem"), "-days", "2", "-extfile", p("ext"))
    return p


def paho_ws(port, cid, tls_ca=None, proto=mqtt.MQTTv311):
    """A paho-mqtt client over WebSocket (path /mqtt), connected, its loop running."""
    got, cond = [], threading.Condition()
    c = mqtt.Client(client_id=f"{IT}-{cid}", protocol=proto, transport="websockets")
    c.ws_set_options(path="/mqtt")
    if tls_ca:
        c.tls_set(ca_certs=tls_ca)

    def on_message(_c, _u, m):
        with cond:
            got.append((m.topic, m.payload))
            cond.notify_all()
    connected = threading.Event()
    c.on_message = on_message
    c.on_connect = lambda *a: connected.set()
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    assert connected.wait(10), f"{cid}: no CONNACK over WebSocket"

    def wait(n, timeout=10):
        with cond:
            assert cond.wait_for(lambda: len(got) >= n, timeout), f"{cid}: got {got}, want {n}"
            return list(got)
    c.wait = wait
    return c


def test_paho(gw, ca):
    """paho-python over ws:// and wss://, 3.1.1 and 5: QoS 1 and 2, a 100 KB payload."""
    for scheme, port, tls_ca in (("ws", gw.ports["mqtt.ws"], None), ("wss", gw.ports["mqtt.wss"], ca)):
        for proto, v in ((mqtt.MQTTv311, "311"), (mqtt.MQTTv5, "5")):
            topic = f"{IT}/py/{scheme}{v}"
            sub = paho_ws(port, f"py-{scheme}{v}-sub", tls_ca, proto)
            r, _ = sub.subscribe(topic, 2)
            assert r == mqtt.MQTT_ERR_SUCCESS
            time.sleep(0.3)  # SUBACK
            pub = paho_ws(port, f"py-{scheme}{v}-pub", tls_ca, proto)
            big = bytes(range(256)) * 400
            pub.publish(topic, b"one", qos=1).wait_for_publish(10)
            pub.publish(topic, big, qos=2).wait_for_publish(10)
            got = sub.wait(2)
            assert got == [(topic, b"one"), (topic, big)], (scheme, v, [(t, len(p)) for t, p in got])
            for c in (sub, pub):
                c.disconnect()
                c.loop_stop()


def test_mqttjs(gw, ca):
    """MQTT.js in Node over ws:// and wss://; its message read over TCP (mosquitto_sub) and Kafka (kcat)."""
    tcp = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(gw.ports["mqtt"]), "-q", "1",
                            "-t", f"{IT}/ws/cross", "-C", "1"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    node = subprocess.run(["node", os.path.join(HERE, "websockets", "mqttjs.js"), IT, ca,
                           f"ws://127.0.0.1:{gw.ports['mqtt.ws']}/mqtt", f"wss://localhost:{gw.ports['mqtt.wss']}/mqtt"],
                          capture_output=True, text=True, timeout=120)
    print(node.stdout, end="")
    assert node.returncode == 0, node.stdout + node.stderr
    out, _ = tcp.communicate(timeout=10)
    assert out.splitlines() == ["from MQTT.js over ws"], out
    kafka = subprocess.run(["kcat", "-b", f"127.0.0.1:{gw.ports['kafka']}", "-C", "-t", f"{IT}.ws.cross",
                            "-o", "beginning", "-c", "1", "-e", "-q"], capture_output=True, text=True, timeout=30)
    assert kafka.stdout.splitlines() == ["from MQTT.js over ws"], (kafka.stdout, kafka.stderr)


def mqttjs_dist():
    for d in os.environ.get("NODE_PATH", "").split(os.pathsep):
        f = os.path.join(d, "mqtt", "dist", "mqtt.min.js")
        if d and os.path.exists(f):
            return f
    raise AssertionError("no mqtt/dist/mqtt.min.js under NODE_PATH: npm install mqtt (scripts/test.sh does)")


def test_browser(gw):
    """Headless Chromium loads a page with MQTT.js's browser bundle (from the npm package, no CDN)
    that connects to ws://, subscribes, publishes and shows what it got."""
    chromium = shutil.which("chromium")
    assert chromium, "no chromium: apt-get install chromium (scripts/test.sh does)"
    files = {"/page.html": os.path.join(HERE, "websockets", "page.html"), "/mqtt.min.js": mqttjs_dist()}
    results = {}  # client id -> what its page reported
    reported = {}  # client id -> threading.Event

    def event(client):
        return reported.setdefault(client, threading.Event())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            path, _, query = self.path.partition("?")
            if path == "/wait":  # held until the page reported: its load event waits
                event(query.removeprefix("client="))
                reported[query.removeprefix("client=")].wait(20)
                self.send_response(204)
                self.end_headers()
                return
            if path not in files:
                self.send_error(404)
                return
            with open(files[path], "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if path.endswith(".html") else "text/javascript")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            client = self.path.partition("?client=")[2]
            results[client] = self.rfile.read(int(self.headers["Content-Length"])).decode()
            event(client).set()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    topic = f"{IT}/browser"

    def page(client):
        return (f"http://127.0.0.1:{web.server_port}/page.html?url=ws://127.0.0.1:{gw.ports['mqtt.ws']}/mqtt"
                f"&topic={topic}&client={client}")
    profile = tempfile.mkdtemp()
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--user-data-dir={profile}"]
    try:
        client = f"{IT}-browser"
        dom = subprocess.run(args + ["--dump-dom", page(client)], capture_output=True, text=True, timeout=90)
        assert event(client).is_set(), f"the page reported nothing; chromium said: {dom.stderr[-2000:]}"
        assert results[client].startswith(f"ok {topic} hello from the browser"), results
        assert f"ok {topic} hello from the browser" in dom.stdout, f"the DOM does not show the message: {dom.stdout[-1500:]}"
        print("     browser:", results[client])
        shot = os.path.join(ARTEFACTS or profile, "mqtt-websocket-browser.png")
        subprocess.run(args + ["--window-size=900,300", f"--screenshot={shot}", page(client + "-shot")],
                       capture_output=True, timeout=90)
        assert results.get(client + "-shot", "").startswith("ok"), results
        with open(shot, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", "no screenshot"
        print("     screenshot:", shot)
    finally:
        web.shutdown()
        shutil.rmtree(profile, ignore_errors=True)


def main():
    tmp = tempfile.mkdtemp()
    failed = 0
    try:
        cert = make_certs(tmp)
        gw = GatewayProcess(BIN, DATA, "mqtt", EXTRA + [
            "--mqtt-ws-addr", "127.0.0.1:0", "--mqtt-wss-addr", "127.0.0.1:0",
            "--mqtt-wss-tls-cert-file", cert("server.pem"), "--mqtt-wss-tls-key-file", cert("server-key.pem")],
            protocols=("mqtt", "kafka"), extra_listeners=("mqtt.ws", "mqtt.wss"))
        try:
            for name, t in (("paho-python over ws:// and wss:// (3.1.1 and 5, QoS 1 and 2, 100 KB)", lambda: test_paho(gw, cert("ca.pem"))),
                            ("MQTT.js (Node) over ws:// and wss://; read back over TCP and Kafka", lambda: test_mqttjs(gw, cert("ca.pem"))),
                            ("MQTT.js in headless Chromium over ws://", lambda: test_browser(gw))):
                try:
                    t()
                    print("ok  ", name)
                except Exception as e:  # report every scenario, then fail
                    failed += 1
                    print("FAIL", name, repr(e))
        finally:
            gw.stop()
    finally:
        shutil.rmtree(tmp)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
