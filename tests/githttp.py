"""git's own smart HTTP server (`git http-backend`, run as CGI) behind HTTP basic auth, on
127.0.0.1: a private git server for the tests. Every request is noted in `output` (method,
path, status, user: never a credential)."""

from __future__ import annotations

import base64
import binascii
import os
import subprocess
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
STATUS_TEXT = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class GitHttpServer:
    """Serves the bare repositories under `root` to the `logins` (user: token) given."""

    def __init__(self, root: Path, logins: dict[str, str]) -> None:
        self.root = root
        self.logins = logins
        self.output: list[str] = []
        self._server = make_server(
            "127.0.0.1", 0, self._app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> GitHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _user(self, header: str) -> str | None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if user in self.logins and self.logins[user] == token else None

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        user = self._user(environ.get("HTTP_AUTHORIZATION", ""))
        if user is None:
            self.output.append(f"{method} {path} 401")
            start_response(
                "401 Unauthorized",
                [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Length", "0")],
            )
            return [b""]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        status, headers, payload = self._backend(environ, user, body)
        self.output.append(f"{method} {path} {status} {user}")
        start_response(f"{status} {STATUS_TEXT.get(status, 'Status')}", headers)
        return [payload]

    def _backend(
        self, environ: dict[str, Any], user: str, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        env = {
            "PATH": os.environ["PATH"],
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": environ["REQUEST_METHOD"],
            "PATH_INFO": environ.get("PATH_INFO", ""),
            "QUERY_STRING": environ.get("QUERY_STRING", ""),
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": "127.0.0.1",
        }
        for name, cgi_name in (
            ("HTTP_CONTENT_ENCODING", "HTTP_CONTENT_ENCODING"),
            ("HTTP_GIT_PROTOCOL", "GIT_PROTOCOL"),
        ):
            if name in environ:
                env[cgi_name] = environ[name]
        done = subprocess.run([HTTP_BACKEND], input=body, env=env, capture_output=True)
        out = done.stdout
        ends = [(out.find(mark), mark) for mark in (b"\r\n\r\n", b"\n\n") if mark in out]
        at, mark = min(ends) if ends else (len(out), b"")
        head, payload = out[:at], out[at + len(mark) :]
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name.strip(), value.strip()))
        return status, headers, payload


def lines_with(needle: str, *sources: Iterable[str]) -> Iterator[str]:
    """The lines of `sources` that contain `needle`."""
    return (line for source in sources for line in source if needle in line)
