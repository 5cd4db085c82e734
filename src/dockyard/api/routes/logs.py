"""Stored output of runs and builds: `GET .../jobs/{jobId}/logs` (its runs),
`.../jobs/{jobId}/build-logs` and `.../services/{serviceId}/build-logs` (their builds), and
`.../services/{serviceId}/logs` (where the official Python SDK reads a service's logs); the
same paths' live tails over a WebSocket (their protocol is dockyard.logs.stream's)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, WebSocket, WebSocketDisconnect
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
from dockyard.logs import repository, stream
from dockyard.logs.models import LogLine
from dockyard.logs.schemas import LogEntry, LogQuery, LogQueryParams, log_query_of, to_query
from dockyard.logs.tail import Follow, LogHub
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
    return Envelope(data=stream.entries_of(lines))


@router.get("/jobs/{jobId}/logs")
async def job_run_logs(
    projectId: ProjectId, jobId: TargetId, query: LogQueryDep, session: SessionDep, _: JobsObserve
) -> Envelope[list[LogEntry]]:
    """Output of the job's runs (`runId`: of one run); secrets appear as *****."""
    job = await jobs.get_job(session, projectId, jobId)
    owners = runs.log_owners(projectId, job.id, query.run_id)
    return _entries(await repository.query(session, owners, query))


@router.get("/jobs/{jobId}/build-logs")
async def job_build_logs(
    projectId: ProjectId, jobId: TargetId, query: LogQueryDep, session: SessionDep, _: JobsObserve
) -> Envelope[list[LogEntry]]:
    """Output of the job's builds (`buildId`: of one build)."""
    job = await jobs.get_job(session, projectId, jobId)
    owners = builds.log_owners(projectId, "job", job.id, query.build_id)
    return _entries(await repository.query(session, owners, query))


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
    owners = builds.log_owners(projectId, "service", found.id, query.build_id)
    return _entries(await repository.query(session, owners, query))


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


async def _tail(
    websocket: WebSocket,
    database: Database,
    hub: LogHub,
    permission: Permission,
    project_id: str,
    follow: Follow,
) -> None:
    """A tail: the query string, the init frame's token (which must hold `permission` on the
    project), then the lines `follow` names (dockyard.logs.stream)."""
    await websocket.accept()
    try:
        query = log_query_of(dict(websocket.query_params))
        init = await asyncio.wait_for(websocket.receive_json(), stream.INIT_SECONDS)
        async with database.sessions() as session:
            principal = await authenticate(session, stream.token_of(init))
            principal.require(permission, project_id)
            followed = await follow(session, query)
        await websocket.send_json(stream.INIT_ACCEPTED)
        await stream.stream_lines(websocket, database, hub, query, followed)
        await websocket.close()
    except (WebSocketDisconnect, TimeoutError):
        return
    except DockyardError as exc:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await stream.refuse(websocket, exc)


@router.websocket("/jobs/{jobId}/logs")
async def tail_job_run_logs(
    websocket: WebSocket,
    projectId: ProjectId,
    jobId: TargetId,
    database: DatabaseDep,
    hub: LogHubDep,
) -> None:
    follow = runs_service.log_follower(database, projectId, jobId)
    await _tail(websocket, database, hub, Permission.JOBS_OBSERVE, projectId, follow)


async def _tail_builds(
    websocket: WebSocket,
    database: Database,
    hub: LogHub,
    project_id: str,
    kind: str,
    find: Callable[[AsyncSession], Awaitable[str]],
) -> None:
    """A tail of the builds of a job or service (`kind`; `find` its id)."""
    follow = builds_service.log_follower(database, project_id, kind, find)
    permission = TARGET_PERMISSIONS[kind].observe
    await _tail(websocket, database, hub, permission, project_id, follow)


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
