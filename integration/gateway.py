"""The built gateway binary as a child process, for the Python client scenarios.

GatewayProcess starts it with one protocol (or several) on 127.0.0.1:0 (the others off), reads
the ports it picked from its `listening` log lines (and those of extra_listeners, such as mqtt.ws), echoes its warnings and errors, and stops it with SIGTERM,
expecting exit code 0. The store stays in data_dir, so a new process is a gateway restart."""

import json
import subprocess
import threading


class GatewayProcess:
    PROTOCOLS = ("kafka", "mqtt", "amqp", "schema_registry")

    def __init__(self, binary, data_dir, protocol, extra_args=(), protocols=None, extra_listeners=()):
        protocols = tuple(protocols or (protocol,))
        flag = lambda p: p.replace("_", "-")
        off = ["--%s-enabled=false" % flag(p) for p in self.PROTOCOLS if p not in protocols]
        addrs = [a for p in protocols for a in ("--%s-addr" % flag(p), "127.0.0.1:0")]
        self.proc = subprocess.Popen(
            [binary, "--data-dir", data_dir, *addrs, *off,
             "--http-enabled=false", "--log-format", "json", *extra_args],
            stderr=subprocess.STDOUT, stdout=subprocess.PIPE, text=True)
        self.ports = {}
        for line in self.proc.stdout:
            rec = json.loads(line)
            if rec.get("msg") == "listening" and rec.get("protocol") in protocols + tuple(extra_listeners):
                self.ports[rec["protocol"]] = int(rec["addr"].rsplit(":", 1)[1])
                if len(self.ports) == len(protocols) + len(extra_listeners):
                    break
        assert len(self.ports) == len(protocols) + len(extra_listeners), "the gateway did not report its addresses: %s" % self.ports
        self.port = self.ports[protocol]
        threading.Thread(target=self._echo_problems, daemon=True).start()

    def _echo_problems(self):
        for line in self.proc.stdout:
            if json.loads(line).get("level") in ("warn", "error"):
                print("gateway:", line.strip())

    def kill(self):
        """SIGKILL: the gateway dies holding whatever it held."""
        self.proc.kill()
        self.proc.wait(15)

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(15) == 0, "the gateway did not stop cleanly"
