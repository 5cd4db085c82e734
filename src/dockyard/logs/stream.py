"""The live-tail protocol of stored log lines, as the API's `queryType=tail` WebSockets
(dockyard.api.routes.logs) and the dashboard's live logs (dockyard.ui.live) both speak it.

The API's client sends {"type": "init", "data": {"auth": {"type": "apiToken", "apiToken": T}}}
first and gets {"type": "init", "data": {"auth": "successful"}}; then (the dashboard's socket
starts here, authenticated by its session cookie) frames {"type": "log-lines", "data":
[{containerId, log, ts}]}: the last lineLimit lines, then every new one, until the followed
build or run concludes (the server closes normally) or the client leaves. A refusal is one
frame {"type": "error", "data": {status, message[, details]}} and close code 1008.

The socket is anything that sends and receives frames (`FrameSocket`, as Starlette's
WebSocket does): HTTP stays in api/ and ui/.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from dockyard.db.session import Database
from dockyard.errors import DockyardError
from dockyard.logs import repository
from dockyard.logs.models import LogLine
from dockyard.logs.schemas import LogEntry, LogQuery
from dockyard.logs.tail import Followed, LogHub

INIT_SECONDS = 30
POLICY_VIOLATION = 1008
INIT_ACCEPTED = {"type": "init", "data": {"auth": "successful"}}


class FrameSocket(Protocol):
    async def send_json(self, data: Any) -> None: ...

    async def receive(self) -> Any: ...

    async def close(self, code: int = 1000) -> None: ...


class BadInit(DockyardError):
    status = 401
    code = "unauthorized"


def token_of(init: Any) -> str:
    """The API token of the client's first frame:
    {"type": "init", "data": {"auth": {"type": "apiToken", "apiToken": T}}}."""
    auth = (init.get("data") or {}).get("auth") if isinstance(init, dict) else None
    if not isinstance(auth, dict) or not isinstance(auth.get("apiToken"), str):
        raise BadInit('The first frame must be {"type":"init","data":{"auth":{"apiToken":...}}}')
    return str(auth["apiToken"])


def entries_of(lines: list[LogLine]) -> list[LogEntry]:
    """Stored lines as the API answers them (REST and WebSocket alike)."""
    return [LogEntry(container_id=line.container_id, log=line.line, ts=line.ts) for line in lines]


def _lines_frame(lines: list[LogLine]) -> dict[str, Any]:
    entries = [entry.model_dump(mode="json", by_alias=True) for entry in entries_of(lines)]
    return {"type": "log-lines", "data": entries}


async def refuse(socket: FrameSocket, exc: DockyardError, *, details: bool = True) -> None:
    """The error frame of a refused tail (with the error's `details` unless told not to),
    then close code 1008. The caller ignores a client that has already left."""
    error: dict[str, Any] = {"status": exc.status, "message": exc.message}
    if details:
        error["details"] = exc.details
    await socket.send_json({"type": "error", "data": error})
    await socket.close(code=POLICY_VIOLATION)


async def stream_lines(
    socket: FrameSocket, database: Database, hub: LogHub, query: LogQuery, followed: Followed
) -> None:
    """The last lineLimit lines, then every new one, until the followed build or run has
    concluded or the client leaves."""
    async with hub.follow(followed) as (cursor, queue):
        async with database.sessions() as session:
            history = await repository.query(session, followed.owners, query, up_to_pk=cursor)
        if history:
            await socket.send_json(_lines_frame(history[::-1]))
        leaving = asyncio.create_task(socket.receive())
        try:
            while True:
                batch = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({batch, leaving}, return_when=asyncio.FIRST_COMPLETED)
                if leaving in done:
                    batch.cancel()
                    return
                lines = batch.result()
                if lines is None:
                    return
                kept = [line for line in lines if query.keeps(line.line, line.container_id)]
                if kept:
                    await socket.send_json(_lines_frame(kept))
        finally:
            leaving.cancel()
