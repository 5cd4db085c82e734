"""What a run's moves tell the project's integrations: the event of each move (and of a
health check that gave up) and its payload, captured when it happens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import repository as builds
from dockyard.db.base import utcnow
from dockyard.notifications import outbox
from dockyard.notifications.events import Event, Resource, run_event
from dockyard.notifications.payloads import seconds_between, target_path
from dockyard.runs import repository
from dockyard.runs.models import JobRun
from dockyard.runs.recipe import run_recipe
from dockyard.wire.links import run_url
from dockyard.wire.models import iso_utc


def run_payload(
    event: Event,
    run: JobRun,
    resource: Resource,
    lines: Sequence[str],
    now: datetime,
    *,
    image_source: tuple[str | None, str | None],
    message: str | None = None,
) -> dict[str, Any]:
    """The payload of a run event: `sha` and `branch` of the build whose image it runs (none
    for an external image); its duration counts from its first start."""
    target = target_path(run.project_id, resource)
    sha, branch = image_source
    return {
        "event": event.value,
        "occurredAt": iso_utc(now),
        "projectId": run.project_id,
        "resource": {"kind": resource.kind, "id": resource.id, "name": resource.name},
        "runId": run.id,
        "runName": run.run_name,
        "status": run.status,
        "trigger": run.trigger,
        "sha": sha,
        "branch": branch,
        "message": message or run.message,
        "durationSeconds": seconds_between(run.started_at, run.concluded_at),
        "logLines": list(lines),
        "links": {
            "api": f"/v1{target}/runs/{run.id}",
            "dashboard": run_url(run.project_id, resource.id, run.id),
        },
    }


async def run_moved(session: AsyncSession, run: JobRun) -> None:
    """`run` has just moved to its current status."""
    event = run_event(run.status)
    if event is not None:
        await _record(session, run, event)


async def run_health_check_failed(session: AsyncSession, run: JobRun, message: str) -> None:
    """A startup or liveness probe gave up on the current attempt of `run`."""
    await _record(session, run, Event.RUN_HEALTH_CHECK_FAILURE, message)


async def _record(
    session: AsyncSession, run: JobRun, event: Event, message: str | None = None
) -> None:
    owners = repository.log_owners(run.project_id, run.job_id, run.id)
    about = outbox.Subject(run.project_id, "job", run.job_id, owners)

    async def payload_of(resource: Resource, lines: list[str]) -> dict[str, Any]:
        image = run_recipe(run).image
        source = await builds.source_of_image(session, run.project_id, image)
        return run_payload(
            event, run, resource, lines, utcnow(), image_source=source, message=message
        )

    await outbox.record(session, about, event, payload_of)
