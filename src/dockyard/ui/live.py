"""Live logs of the dashboard's build and run pages: a WebSocket per page, authenticated by
the session cookie and refused from other sites (its Origin), streaming the same frames as
the API's tail ({"type": "log-lines", "data": [{containerId, log, ts}]}) through the same
machinery (dockyard.logs.stream), until the build or run concludes."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession

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


async def _tail(
    websocket: WebSocket,
    database: Database,
    hub: LogHub,
    owner: dict[str, str],
    checked: Checked,
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
        await stream_lines(websocket, database, hub, query, followed)
        await websocket.close()
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

    await _tail(websocket, database, hub, {"buildId": build_id}, checked)


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

    await _tail(websocket, database, hub, {"runId": run_id}, checked)
