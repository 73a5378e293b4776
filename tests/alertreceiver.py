"""A local HTTP receiver for alert tests: records what apprise's ``json://`` channel POSTs, or
hangs (accepts the request and never answers) to stand for a channel that is down."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """The running receiver: its port, what arrived (with arrival times) and a release switch."""

    port: int
    hang: bool
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    requests: int = 0

    def url(self, secret: str = "hook-pass-5e3c") -> str:
        """An apprise URL with a password in it (a secret that must never be logged)."""
        return f"json://rotor:{secret}@127.0.0.1:{self.port}/alerts"

    def wait(self, n: int = 1, limit_s: float = 10.0, match: str = "") -> list[dict[str, Any]]:
        """Wait until ``n`` messages (whose title or body contains ``match``) have arrived."""
        deadline = time.monotonic() + limit_s
        while True:
            found = [
                m for _, m in self.received if match in m.get("title", "") + m.get("message", "")
            ]
            if len(found) >= n or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


@contextmanager
def alert_receiver(hang: bool = False) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (free port), stopped afterwards (a hanging one is released)."""
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = box["r"]
            receiver.requests += 1
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if receiver.hang:
                receiver.release.wait(60)
                return
            receiver.received.append((time.monotonic(), json.loads(body or b"{}")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box["r"] = Receiver(server.server_address[1], hang)
    thread = threading.Thread(target=server.serve_forever, name="alert-receiver", daemon=True)
    thread.start()
    try:
        yield box["r"]
    finally:
        box["r"].release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
