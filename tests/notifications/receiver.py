"""A local HTTP receiver of notifications on 127.0.0.1: records every request and answers the
status codes it is scripted with (then 200); `HANG` holds a request unanswered until the
receiver closes."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = -1


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def valid_signature(received: Received, secret: str, tolerance: float = 300) -> bool:
    """The README's verification recipe: HMAC-SHA256 of `<timestamp>.<body>`, compared in
    constant time, with a timestamp close to now."""
    timestamp = received.headers["X-Dockyard-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256)
    given = received.headers["X-Dockyard-Signature"]
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(given, f"sha256={expected.hexdigest()}")


@dataclass
class Receiver:
    port: int = 0
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)
    _closing: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver._record(Received(self.path, dict(self.headers.items()), body))
                status = receiver._next_status()
                if status == HANG:
                    receiver._closing.wait(60)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _record(self, received: Received) -> None:
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()

    def _next_status(self) -> int:
        with self._arrived:
            return self.script.pop(0) if self.script else 200

    def wait_for(self, count: int, timeout: float = 60) -> list[Received]:
        """The first `count` requests, once they have come (AssertionError after `timeout`)."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            assert arrived, f"{len(self.received)} of {count} requests within {timeout} s"
            return list(self.received[:count])

    def close(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
