"""Live logs of the dashboard's build and run pages: a WebSocket per page, authenticated by
the session cookie and refused from other sites (its Origin), streaming the same frames as
the API's tail ({"type": "log-lines", "data": [{containerId, log, ts}]}) through the same
machinery (dockyard.logs.stream), until the build or run concludes. A run's socket also sends
its CPU and memory charts, {"type": "usage", "data": {cpu, memory, summary}} (SVG markup and
words rendered here), on connecting and whenever a sample changes them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocketState

from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal, authenticate
from dockyard.builds import service as builds
from dockyard.builds.service import BuildTarget
from dockyard.db.session import Database
from dockyard.errors import DockyardError, Unauthorized
from dockyard.jobs import service as jobs
from dockyard.logs.schemas import MAX_LINE_LIMIT, LogQuery, log_query_of
from dockyard.logs.stream import POLICY_VIOLATION, refuse, stream_lines
from dockyard.logs.tail import Followed, LogHub
from dockyard.runs import service as runs
from dockyard.ui import csrf, views
from dockyard.ui.session import session_of

# What a page's tail follows, for the visitor (Forbidden, NotFound when they may not see it).
Checked = Callable[[AsyncSession, Principal, LogQuery], Awaitable[Followed]]
# The frame of a page's charts as they are now.
Charts = Callable[[], Awaitable[dict[str, Any]]]


class OneSender:
    """The page's socket, shared by the log and the charts: one frame at a time."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.sending = asyncio.Lock()

    async def send_json(self, data: Any) -> None:
        async with self.sending:
            await self.websocket.send_json(data)

    async def receive(self) -> Any:
        return await self.websocket.receive()

    @property
    def open(self) -> bool:
        return self.websocket.client_state is WebSocketState.CONNECTED

    async def close(self, code: int = 1000) -> None:
        async with self.sending:
            await self.websocket.close(code)


@contextlib.asynccontextmanager
async def _charts_alongside(
    socket: OneSender, charts: Charts | None, interval: float
) -> AsyncIterator[None]:
    """While the log streams: the charts' frame at once and every `interval` seconds when
    it changed, and once more at the end (the last sample of an attempt comes as it ends)."""
    if charts is None or not interval:
        yield
        return
    sent: dict[str, Any] | None = None

    async def send_changed() -> None:
        nonlocal sent
        frame = await charts()
        if frame != sent:
            await socket.send_json(frame)
            sent = frame

    async def follow() -> None:
        while True:
            await send_changed()
            await asyncio.sleep(interval)

    following = asyncio.create_task(follow())
    try:
        yield
    finally:
        following.cancel()
    if socket.open:
        await send_changed()


async def _tail(
    websocket: WebSocket,
    database: Database,
    hub: LogHub,
    owner: dict[str, str],
    checked: Checked,
    charts: Charts | None = None,
) -> None:
    try:
        csrf.check_origin(websocket, required=True)
    except DockyardError:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    query = log_query_of({**owner, "lineLimit": str(MAX_LINE_LIMIT)})
    try:
        ui_session = session_of(websocket)
        if ui_session is None or ui_session.token is None:
            raise Unauthorized("Log in again to follow this log")
        async with database.sessions() as session:
            principal = await authenticate(session, ui_session.token, websocket.app.state.tokens)
            followed = await checked(session, principal, query)
        socket = OneSender(websocket)
        interval = websocket.app.state.settings.usage_sample_seconds
        async with _charts_alongside(socket, charts, interval):
            await stream_lines(socket, database, hub, query, followed)
        await socket.close()
    except WebSocketDisconnect:
        return
    except DockyardError as exc:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await refuse(websocket, exc, details=False)


async def tail_build(
    websocket: WebSocket,
    database: Database,
    hub: LogHub,
    project_id: str,
    kind: str,
    target_id: str,
    build_id: str,
) -> None:
    async def find(session: AsyncSession) -> str:
        return (await views.target_of(session, project_id, kind, target_id)).id

    async def checked(session: AsyncSession, principal: Principal, query: LogQuery) -> Followed:
        principal.require(views.observe_permission(kind), project_id)
        target = BuildTarget(project_id, kind, await find(session))
        await builds.get_build(session, target, build_id)
        return await builds.log_follower(database, project_id, kind, find)(session, query)

    async def charts() -> dict[str, Any]:
        async with database.sessions() as session:
            return (await views.usage_of(session, "build", build_id)).frame()

    await _tail(websocket, database, hub, {"buildId": build_id}, checked, charts)


async def tail_run(
    websocket: WebSocket,
    database: Database,
    hub: LogHub,
    project_id: str,
    job_id: str,
    run_id: str,
) -> None:
    async def checked(session: AsyncSession, principal: Principal, query: LogQuery) -> Followed:
        principal.require(Permission.JOBS_OBSERVE, project_id)
        job = await jobs.get_job(session, project_id, job_id)
        await runs.get_run(session, project_id, job.id, run_id)
        return await runs.log_follower(database, project_id, job_id)(session, query)

    async def charts() -> dict[str, Any]:
        async with database.sessions() as session:
            return (await views.usage_of(session, "run", run_id)).frame()

    await _tail(websocket, database, hub, {"runId": run_id}, checked, charts)
