"""Follow the log of a build or run live, over the WebSocket protocol of the official clients:
an init frame with the token, then frames of lines until the build or run concludes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from dockyard.client.api import DockyardClient, LogSource
from dockyard.client.errors import ApiError
from dockyard.client.models import LogLine


def tail(api: DockyardClient, source: LogSource, *, line_limit: int = 1000) -> Iterator[LogLine]:
    """The last `line_limit` stored lines, then each new one; ends when the build or run
    has concluded and every line of it has been sent."""
    with connect(_tail_url(api, source, line_limit), open_timeout=30) as socket:
        _authenticate(socket, api.token)
        yield from _lines(socket)


def _tail_url(api: DockyardClient, source: LogSource, line_limit: int) -> str:
    query = urlencode(source.params | {"queryType": "tail", "lineLimit": line_limit})
    base = api.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return f"{base}{source.path}?{query}"


def _authenticate(socket: ClientConnection, token: str) -> None:
    socket.send(
        json.dumps({"type": "init", "data": {"auth": {"type": "apiToken", "apiToken": token}}})
    )
    _raise_on_error(json.loads(socket.recv()))


def _lines(socket: ClientConnection) -> Iterator[LogLine]:
    while True:
        try:
            frame = json.loads(socket.recv())
        except ConnectionClosed:
            return
        _raise_on_error(frame)
        for entry in frame.get("data") or []:
            yield LogLine.model_validate(entry)


def _raise_on_error(frame: dict[str, object]) -> None:
    if frame.get("type") == "error":
        error = frame.get("data")
        if not isinstance(error, dict):
            raise ApiError(500, "the log tail failed")
        raise ApiError(
            int(error.get("status", 500)), str(error.get("message")), error.get("details")
        )
