"""Stored output of runs and builds: `GET .../jobs/{jobId}/logs` (its runs),
`.../jobs/{jobId}/build-logs` and `.../services/{serviceId}/build-logs` (their builds), and
`.../services/{serviceId}/logs` (where the official Python SDK reads a service's logs)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, WebSocket, WebSocketDisconnect
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.api.deps import DatabaseDep, LogHubDep, SessionDep, requires
from dockyard.api.permissions import TARGET_PERMISSIONS
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal, authenticate
from dockyard.builds import repository as builds
from dockyard.builds import service as builds_service
from dockyard.db.session import Database
from dockyard.errors import DockyardError, Invalid
from dockyard.jobs import service as jobs
from dockyard.logs import repository
from dockyard.logs.models import LogLine
from dockyard.logs.schemas import LogEntry, LogQuery, LogQueryParams, log_query_of, to_query
from dockyard.logs.tail import Concluded, LogHub
from dockyard.runs import repository as runs
from dockyard.runs import service as runs_service
from dockyard.services import service as services
from dockyard.wire.models import Envelope


async def range_query(params: Annotated[LogQueryParams, Query()]) -> LogQuery:
    """A REST log query: a range."""
    if params.queryType == "tail":
        raise Invalid("queryType", "tail is served over a WebSocket on the same path")
    return to_query(params)


LogQueryDep = Annotated[LogQuery, Depends(range_query)]

router = APIRouter(prefix="/projects/{projectId}", tags=["logs"])

ProjectId = Annotated[str, Path(max_length=64)]
TargetId = Annotated[str, Path(max_length=64)]
JobsObserve = Annotated[Principal, Depends(requires(Permission.JOBS_OBSERVE))]
ServicesObserve = Annotated[Principal, Depends(requires(Permission.SERVICES_OBSERVE))]


def _entries(lines: list[LogLine]) -> Envelope[list[LogEntry]]:
    return Envelope(
        data=[LogEntry(container_id=line.container_id, log=line.line, ts=line.ts) for line in lines]
    )


@router.get("/jobs/{jobId}/logs")
async def job_run_logs(
    projectId: ProjectId, jobId: TargetId, query: LogQueryDep, session: SessionDep, _: JobsObserve
) -> Envelope[list[LogEntry]]:
    """Output of the job's runs (`runId`: of one run); secrets appear as *****."""
    job = await jobs.get_job(session, projectId, jobId)
    owners = runs.ids_of_job(projectId, job.id, query.run_id)
    return _entries(await repository.query(session, "run", owners, query))


@router.get("/jobs/{jobId}/build-logs")
async def job_build_logs(
    projectId: ProjectId, jobId: TargetId, query: LogQueryDep, session: SessionDep, _: JobsObserve
) -> Envelope[list[LogEntry]]:
    """Output of the job's builds (`buildId`: of one build)."""
    job = await jobs.get_job(session, projectId, jobId)
    owners = builds.ids_of_target(projectId, "job", job.id, query.build_id)
    return _entries(await repository.query(session, "build", owners, query))


@router.get("/services/{serviceId}/build-logs")
async def service_build_logs(
    projectId: ProjectId,
    serviceId: TargetId,
    query: LogQueryDep,
    session: SessionDep,
    _: ServicesObserve,
) -> Envelope[list[LogEntry]]:
    """Output of the build service's builds (`buildId`: of one build)."""
    found = await services.get_service(session, projectId, serviceId)
    owners = builds.ids_of_target(projectId, "service", found.id, query.build_id)
    return _entries(await repository.query(session, "build", owners, query))


@router.get("/services/{serviceId}/logs")
async def service_logs(
    projectId: ProjectId,
    serviceId: TargetId,
    query: LogQueryDep,
    session: SessionDep,
    principal: ServicesObserve,
) -> Envelope[list[LogEntry]]:
    """A build service runs no containers: its runtime output is empty, and `type=build` (what
    the official Python SDK's `fetch_service_logs(log_type="build")` asks) is its builds'."""
    if query.log_type == "build":
        return await service_build_logs(projectId, serviceId, query, session, principal)
    await services.get_service(session, projectId, serviceId)
    return _entries([])


# ---- live tails (WebSocket, queryType=tail) ------------------------------------------------

INIT_SECONDS = 30


class BadInit(DockyardError):
    status = 401
    code = "unauthorized"


def _token_of(init: Any) -> str:
    """The API token of the client's first frame:
    {"type": "init", "data": {"auth": {"type": "apiToken", "apiToken": T}}}."""
    auth = (init.get("data") or {}).get("auth") if isinstance(init, dict) else None
    if not isinstance(auth, dict) or not isinstance(auth.get("apiToken"), str):
        raise BadInit('The first frame must be {"type":"init","data":{"auth":{"apiToken":...}}}')
    return str(auth["apiToken"])


def _frame(lines: list[LogLine]) -> dict[str, Any]:
    entries = [
        LogEntry(container_id=line.container_id, log=line.line, ts=line.ts).model_dump(
            mode="json", by_alias=True
        )
        for line in lines
    ]
    return {"type": "log-lines", "data": entries}


@dataclass(frozen=True)
class Followed:
    """What a tail follows: the owners' lines, ending when `concluded` says so."""

    key: Hashable
    owner_kind: str
    owners: Select[str]
    concluded: Concluded | None


# What a tail route follows for a query (404 when its job or service is gone).
Follow = Callable[[AsyncSession, LogQuery], Awaitable[Followed]]


async def _tail(
    websocket: WebSocket,
    database: Database,
    hub: LogHub,
    permission: Permission,
    project_id: str,
    follow: Follow,
) -> None:
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
        error = {"status": exc.status, "message": exc.message, "details": exc.details}
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.send_json({"type": "error", "data": error})
            await websocket.close(code=1008)


async def stream_lines(
    websocket: WebSocket, database: Database, hub: LogHub, query: LogQuery, followed: Followed
) -> None:
    """The last lineLimit lines, then every new one, until the followed build or run has
    concluded or the client leaves (also the dashboard's live logs, dockyard.ui)."""
    async with hub.follow(
        followed.key, followed.owner_kind, followed.owners, followed.concluded
    ) as (cursor, queue):
        async with database.sessions() as session:
            history = await repository.query(
                session, followed.owner_kind, followed.owners, query, up_to_pk=cursor
            )
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


def _concluded(
    database: Database,
    has_concluded: Callable[[AsyncSession, str], Awaitable[bool]],
    item_id: str,
) -> Concluded:
    """Whether the followed build or run (`has_concluded` of its kind) has ended."""

    async def concluded() -> bool:
        async with database.sessions() as session:
            return await has_concluded(session, item_id)

    return concluded


def job_runs_follower(database: Database, project_id: str, job_id: str) -> Follow:
    """The lines of a job's runs (`runId`: of one run, ending when it concludes)."""

    async def follow(session: AsyncSession, query: LogQuery) -> Followed:
        job = await jobs.get_job(session, project_id, job_id)
        concluded = (
            _concluded(database, runs_service.has_concluded, query.run_id) if query.run_id else None
        )
        owners = runs.ids_of_job(project_id, job.id, query.run_id)
        return Followed(("run", project_id, job.id, query.run_id), "run", owners, concluded)

    return follow


@router.websocket("/jobs/{jobId}/logs")
async def tail_job_run_logs(
    websocket: WebSocket,
    projectId: ProjectId,
    jobId: TargetId,
    database: DatabaseDep,
    hub: LogHubDep,
) -> None:
    follow = job_runs_follower(database, projectId, jobId)
    await _tail(websocket, database, hub, Permission.JOBS_OBSERVE, projectId, follow)


def builds_follower(
    database: Database, project_id: str, kind: str, find: Callable[[AsyncSession], Awaitable[str]]
) -> Follow:
    """The lines of the builds of a job or service (`kind`; `find` its id, or raises NotFound);
    `buildId`: of one build, ending when it concludes."""

    async def follow(session: AsyncSession, query: LogQuery) -> Followed:
        target_id = await find(session)
        concluded = (
            _concluded(database, builds_service.has_concluded, query.build_id)
            if query.build_id
            else None
        )
        owners = builds.ids_of_target(project_id, kind, target_id, query.build_id)
        key = ("build", project_id, kind, target_id, query.build_id)
        return Followed(key, "build", owners, concluded)

    return follow


async def _tail_builds(
    websocket: WebSocket,
    database: Database,
    hub: LogHub,
    project_id: str,
    kind: str,
    find: Callable[[AsyncSession], Awaitable[str]],
) -> None:
    follow = builds_follower(database, project_id, kind, find)
    await _tail(websocket, database, hub, TARGET_PERMISSIONS[kind].observe, project_id, follow)


@router.websocket("/jobs/{jobId}/build-logs")
async def tail_job_build_logs(
    websocket: WebSocket,
    projectId: ProjectId,
    jobId: TargetId,
    database: DatabaseDep,
    hub: LogHubDep,
) -> None:
    async def find(session: AsyncSession) -> str:
        return (await jobs.get_job(session, projectId, jobId)).id

    await _tail_builds(websocket, database, hub, projectId, "job", find)


@router.websocket("/services/{serviceId}/build-logs")
async def tail_service_build_logs(
    websocket: WebSocket,
    projectId: ProjectId,
    serviceId: TargetId,
    database: DatabaseDep,
    hub: LogHubDep,
) -> None:
    async def find(session: AsyncSession) -> str:
        return (await services.get_service(session, projectId, serviceId)).id

    await _tail_builds(websocket, database, hub, projectId, "service", find)
