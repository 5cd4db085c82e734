"""The live-tail protocol of stored log lines over a WebSocket, as the API's `queryType=tail`
routes and the dashboard's live logs (dockyard.ui.live) both speak it.

The API's client sends {"type": "init", "data": {"auth": {"type": "apiToken", "apiToken": T}}}
first and gets {"type": "init", "data": {"auth": "successful"}}; then (the dashboard's socket
starts here, authenticated by its session cookie) frames {"type": "log-lines", "data":
[{containerId, log, ts}]}: the last lineLimit lines, then every new one, until the followed
build or run concludes (the server closes normally) or the client leaves. A refusal is one
frame {"type": "error", "data": {status, message[, details]}} and close code 1008.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from dockyard.auth.permissions import Permission
from dockyard.auth.service import authenticate
from dockyard.db.session import Database
from dockyard.errors import DockyardError
from dockyard.logs import repository
from dockyard.logs.models import LogLine
from dockyard.logs.schemas import LogEntry, LogQuery, log_query_of
from dockyard.logs.tail import Follow, Followed, LogHub

INIT_SECONDS = 30
POLICY_VIOLATION = 1008


class BadInit(DockyardError):
    status = 401
    code = "unauthorized"


def entries_of(lines: list[LogLine]) -> list[LogEntry]:
    """Stored lines as the API answers them (REST and WebSocket alike)."""
    return [LogEntry(container_id=line.container_id, log=line.line, ts=line.ts) for line in lines]


def _frame(lines: list[LogLine]) -> dict[str, Any]:
    entries = [entry.model_dump(mode="json", by_alias=True) for entry in entries_of(lines)]
    return {"type": "log-lines", "data": entries}


async def send_error(websocket: WebSocket, exc: DockyardError, *, details: bool = True) -> None:
    """The error frame of a refused tail (its `details` too, unless told not to), and close
    code 1008; nothing if the client has already left."""
    error: dict[str, Any] = {"status": exc.status, "message": exc.message}
    if details:
        error["details"] = exc.details
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.send_json({"type": "error", "data": error})
        await websocket.close(code=POLICY_VIOLATION)


async def stream_lines(
    websocket: WebSocket, database: Database, hub: LogHub, query: LogQuery, followed: Followed
) -> None:
    """The last lineLimit lines, then every new one, until the followed build or run has
    concluded or the client leaves."""
    async with hub.follow(followed) as (cursor, queue):
        async with database.sessions() as session:
            history = await repository.query(session, followed.owners, query, up_to_pk=cursor)
        if history:
            await websocket.send_json(_frame(history[::-1]))
        leaving = asyncio.create_task(websocket.receive())
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
                    await websocket.send_json(_frame(kept))
        finally:
            leaving.cancel()


# ---- the API's sockets ---------------------------------------------------------------------


def _token_of(init: Any) -> str:
    """The API token of the client's first frame:
    {"type": "init", "data": {"auth": {"type": "apiToken", "apiToken": T}}}."""
    auth = (init.get("data") or {}).get("auth") if isinstance(init, dict) else None
    if not isinstance(auth, dict) or not isinstance(auth.get("apiToken"), str):
        raise BadInit('The first frame must be {"type":"init","data":{"auth":{"apiToken":...}}}')
    return str(auth["apiToken"])


async def serve_tail(
    websocket: WebSocket,
    database: Database,
    hub: LogHub,
    permission: Permission,
    project_id: str,
    follow: Follow,
) -> None:
    """An API tail: the query string, the init frame's token (which must hold `permission` on
    the project), then the lines `follow` names."""
    await websocket.accept()
    try:
        query = log_query_of(dict(websocket.query_params))
        token = _token_of(await asyncio.wait_for(websocket.receive_json(), INIT_SECONDS))
        async with database.sessions() as session:
            principal = await authenticate(session, token)
            principal.require(permission, project_id)
            followed = await follow(session, query)
        await websocket.send_json({"type": "init", "data": {"auth": "successful"}})
        await stream_lines(websocket, database, hub, query, followed)
        await websocket.close()
    except (WebSocketDisconnect, TimeoutError):
        return
    except DockyardError as exc:
        await send_error(websocket, exc)
