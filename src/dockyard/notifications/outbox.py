"""Events into the outbox: recorded in the transaction of the status change that makes them
(the rules of builds/status.py and runs/status.py, through builds/notices.py and
runs/notices.py), so a crash can neither lose an event nor record one that did not happen.
Only integrations that hear the project (all projects, or restricted to it) and whose filters
want the event get a delivery; a project without integrations costs one indexed query per
status change."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.base import utcnow
from dockyard.jobs import repository as jobs_repository
from dockyard.logs import repository as logs_repository
from dockyard.logs.repository import LogOwners
from dockyard.logs.schemas import LogQuery
from dockyard.notifications import repository
from dockyard.notifications.events import STARTS, Event, Resource, wants
from dockyard.notifications.models import NotificationDelivery, NotificationIntegration
from dockyard.notifications.payloads import LOG_LINES
from dockyard.services import repository as services_repository


@dataclass(frozen=True)
class Subject:
    """What an event is about: a build or run (`owners`: whose log lines) of a job or build
    service (`kind`, `target_id`)."""

    project_id: str
    kind: str
    target_id: str
    owners: LogOwners


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
    if kind == "job":
        job = await jobs_repository.get(session, project_id, target_id)
        if job is not None:
            return Resource(
                kind, target_id, job.name, tuple(jobs_repository.spec_of(job).tags or ())
            )
    else:
        found = await services_repository.get(session, project_id, target_id)
        if found is not None:
            tags = services_repository.spec_of(found).tags
            return Resource(kind, target_id, found.name, tuple(tags or ()))
    return Resource(kind, target_id, target_id, ())


async def _listeners(
    session: AsyncSession, project_id: str, event: Event, kind: str, target_id: str
) -> tuple[list[NotificationIntegration], Resource]:
    """The integrations that want `event` about the resource, and the resource (looked up
    only when some integration has the event enabled)."""
    integrations = [
        integration
        for integration in await repository.hearing(session, project_id)
        if repository.spec_of(integration).enables(event.value)
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


async def record(
    session: AsyncSession,
    about: Subject,
    event: Event,
    payload_of: Callable[[Resource, list[str]], Awaitable[dict[str, Any]]],
) -> None:
    """`event` happened to `about`: one delivery to each integration that wants it, the
    payload made by `payload_of` from the job or service and the newest log lines (read only
    for an integration that may see them)."""
    integrations, resource = await _listeners(
        session, about.project_id, event, about.kind, about.target_id
    )
    if not integrations:
        return
    lines = (
        await _newest_lines(session, about.owners)
        if _wants_lines(integrations, event, about.kind)
        else []
    )
    enqueue(session, integrations, event, await payload_of(resource, lines), about.kind)
