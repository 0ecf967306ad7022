"""The built gateway binary as a child process, for the Python client scenarios.

GatewayProcess starts it with one protocol on 127.0.0.1:0 (the others off), reads the port it
picked from its `listening` log line, echoes its warnings and errors, and stops it with SIGTERM,
expecting exit code 0. The store stays in data_dir, so a new process is a gateway restart."""

import json
import subprocess
import threading


class GatewayProcess:
    PROTOCOLS = ("kafka", "mqtt", "amqp")

    def __init__(self, binary, data_dir, protocol, extra_args=()):
        off = ["--%s-enabled=false" % p for p in self.PROTOCOLS if p != protocol]
        self.proc = subprocess.Popen(
            [binary, "--data-dir", data_dir, "--%s-addr" % protocol, "127.0.0.1:0", *off,
             "--http-enabled=false", "--log-format", "json", *extra_args],
            stderr=subprocess.STDOUT, stdout=subprocess.PIPE, text=True)
        self.port = None
        for line in self.proc.stdout:
            rec = json.loads(line)
            if rec.get("msg") == "listening" and rec.get("protocol") == protocol:
                self.port = int(rec["addr"].rsplit(":", 1)[1])
                break
        assert self.port, "the gateway did not report its %s address" % protocol
        threading.Thread(target=self._echo_problems, daemon=True).start()

    def _echo_problems(self):
        for line in self.proc.stdout:
            if json.loads(line).get("level") in ("warn", "error"):
                print("gateway:", line.strip())

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(15) == 0, "the gateway did not stop cleanly"
