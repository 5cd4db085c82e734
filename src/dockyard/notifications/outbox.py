"""Events into the outbox: called in the transaction of the status change that makes them
(builds/status.py, runs/status.py), so a crash can neither lose an event nor record one that did not
happen. Only integrations whose filters want the event get a delivery; a project without
integrations costs one indexed query per status change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import repository as builds_repository
from dockyard.db.base import utcnow
from dockyard.jobs import repository as jobs_repository
from dockyard.logs import repository as logs_repository
from dockyard.logs.repository import LogOwners
from dockyard.logs.schemas import LogQuery
from dockyard.notifications import repository
from dockyard.notifications.events import (
    STARTS,
    Event,
    Resource,
    build_event,
    run_event,
    wants,
)
from dockyard.notifications.models import NotificationDelivery, NotificationIntegration
from dockyard.notifications.payloads import LOG_LINES, build_payload, run_payload
from dockyard.runs import repository as runs_repository
from dockyard.services import repository as services_repository

if TYPE_CHECKING:
    from dockyard.builds.models import Build
    from dockyard.runs.models import JobRun

NEWEST_LINES = LogQuery(
    start=None,
    end=None,
    line_limit=LOG_LINES,
    forward=False,
    text_includes=None,
    text_not_includes=None,
    container=None,
    build_id=None,
    run_id=None,
)


async def _resource(session: AsyncSession, project_id: str, kind: str, target_id: str) -> Resource:
    """The job or service an event is about (as its id alone if it was deleted meanwhile)."""
    get = jobs_repository.get if kind == "job" else services_repository.get
    row = await get(session, project_id, target_id)
    if row is None:
        return Resource(kind, target_id, target_id, ())
    return Resource(kind, target_id, row.name, tuple(row.spec.get("tags") or ()))


async def _listeners(
    session: AsyncSession, project_id: str, event: Event, kind: str, target_id: str
) -> tuple[list[NotificationIntegration], Resource]:
    """The integrations that want `event` about the resource, and the resource (looked up
    only when some integration has the event enabled)."""
    integrations = [
        integration
        for integration in await repository.of_project(session, project_id)
        if integration.spec["events"].get(event.value)
    ]
    if not integrations:
        return [], Resource(kind, target_id, target_id, ())
    resource = await _resource(session, project_id, kind, target_id)
    return [i for i in integrations if wants(i.spec, event, resource)], resource


async def _newest_lines(session: AsyncSession, owners: LogOwners) -> list[str]:
    """The last LOG_LINES stored lines, oldest first (redacted when they were written)."""
    lines = await logs_repository.query(session, owners, NEWEST_LINES)
    return [line.line for line in reversed(lines)]


def sees_logs(integration: NotificationIntegration, kind: str) -> bool:
    """Whether the integration's payloads may carry the log lines of a job or service."""
    return integration.service_logs if kind == "service" else integration.job_logs


def _payload_for(
    integration: NotificationIntegration, payload: dict[str, Any], kind: str | None
) -> dict[str, Any]:
    if kind is None or sees_logs(integration, kind):
        return payload
    return payload | {"logLines": []}


def enqueue(
    session: AsyncSession,
    integrations: Sequence[NotificationIntegration],
    event: Event,
    payload: dict[str, Any],
    kind: str | None = None,
) -> list[NotificationDelivery]:
    """One pending delivery of `payload` per integration, due now; the log lines of a job or
    service (`kind`) only to the integrations that may see them."""
    now = utcnow()
    deliveries = [
        NotificationDelivery(
            id=uuid.uuid4().hex,
            integration_pk=integration.pk,
            event=event.value,
            payload=_payload_for(integration, payload, kind),
            status=repository.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for integration in integrations
    ]
    session.add_all(deliveries)
    return deliveries


def _wants_lines(integrations: Sequence[NotificationIntegration], event: Event, kind: str) -> bool:
    """Whether to read log lines for the event: a start has none yet, and they are read only
    for integrations that may see them."""
    return event not in STARTS and any(sees_logs(i, kind) for i in integrations)


async def build_moved(session: AsyncSession, build: Build) -> None:
    """`build` has just moved to its current status."""
    event = build_event(build.status, build.attempts)
    if event is None:
        return
    integrations, resource = await _listeners(
        session, build.project_id, event, build.target_kind, build.target_id
    )
    if not integrations:
        return
    owners = builds_repository.log_owners(
        build.project_id, build.target_kind, build.target_id, build.id
    )
    lines = (
        await _newest_lines(session, owners)
        if _wants_lines(integrations, event, build.target_kind)
        else []
    )
    payload = build_payload(event, build, resource, lines, utcnow())
    enqueue(session, integrations, event, payload, build.target_kind)


async def run_moved(session: AsyncSession, run: JobRun) -> None:
    """`run` has just moved to its current status."""
    event = run_event(run.status)
    if event is not None:
        await _run_event(session, run, event)


async def run_health_check_failed(session: AsyncSession, run: JobRun, message: str) -> None:
    """A startup or liveness probe gave up on the current attempt of `run`."""
    await _run_event(session, run, Event.RUN_HEALTH_CHECK_FAILURE, message)


async def _run_event(
    session: AsyncSession, run: JobRun, event: Event, message: str | None = None
) -> None:
    integrations, resource = await _listeners(session, run.project_id, event, "job", run.job_id)
    if not integrations:
        return
    owners = runs_repository.log_owners(run.project_id, run.job_id, run.id)
    lines = await _newest_lines(session, owners) if _wants_lines(integrations, event, "job") else []
    source = await builds_repository.source_of_image(session, run.project_id, run.spec["image"])
    payload = run_payload(
        event, run, resource, lines, utcnow(), image_source=source, message=message
    )
    enqueue(session, integrations, event, payload, "job")
