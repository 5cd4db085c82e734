"""Servers on 127.0.0.x for the hostile-remote tests: a recorder that counts connections,
a redirector, a bundle server and git's smart HTTP (`git http-backend`)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dockyard.engine.fetches import IPAddress

Respond = Callable[[BaseHTTPRequestHandler], None]


class Server:
    """An HTTP server on `host` that records every request (`seen`, with its Host header)."""

    def __init__(self, host: str, respond: Respond, port: int = 0) -> None:
        seen: list[tuple[str, str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.command, self.path, self.headers.get("Host", "")))
                respond(self)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.seen = seen
        self.http = ThreadingHTTPServer((host, port), Handler)
        self.host = host
        self.port: int = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@contextlib.contextmanager
def serving(host: str, respond: Respond, port: int = 0) -> Iterator[Server]:
    server = Server(host, respond, port)
    try:
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def twins(first: Respond, second: Respond) -> Iterator[tuple[Server, Server]]:
    """Servers on 127.0.0.2 and 127.0.0.1 on one port: a name that rebinds from one address to
    the other reaches a different server under the same URL."""
    for _ in range(20):
        with serving("127.0.0.2", first) as allowed:
            try:
                other = Server("127.0.0.1", second, allowed.port)
            except OSError:  # that port is taken on 127.0.0.1: another one
                continue
            try:
                yield allowed, other
            finally:
                other.close()
            return
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections it accepts (and answers nothing)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port: int = self.socket.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.socket.close()


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def answer(status: int, body: bytes = b"", **headers: str) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def git_http_backend(root: Path) -> Respond:
    """git's smart HTTP for the bare repositories under `root`, through `git http-backend`."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        path, _, query = handler.path.partition("?")
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": handler.command,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(length),
            "HTTP_CONTENT_ENCODING": handler.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": handler.headers.get("Git-Protocol", ""),
            "REMOTE_ADDR": "127.0.0.1",
        }
        output = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=True
        ).stdout
        head, _, payload = output.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((name, value.strip()))
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    return respond


class Rebinding:
    """A resolver that answers `first` once and `then` ever after, as a name whose DNS record
    an attacker switches between the check and the connection."""

    def __init__(self, first: str, then: str) -> None:
        self.first = ipaddress.ip_address(first)
        self.then = ipaddress.ip_address(then)
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.calls += 1
        return [self.first if self.calls == 1 else self.then]
