"""What a build's moves tell the project's integrations: the event of each move and its
payload, captured when it happens (so the log lines are those of that moment and survive the
build's deletion)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import repository
from dockyard.builds.models import Build
from dockyard.db.base import utcnow
from dockyard.notifications import outbox
from dockyard.notifications.events import Event, Resource, build_event
from dockyard.notifications.payloads import seconds_between, target_path
from dockyard.wire.links import build_url
from dockyard.wire.models import iso_utc


def build_payload(
    event: Event, build: Build, resource: Resource, lines: Sequence[str], now: datetime
) -> dict[str, Any]:
    """The payload of a build event; its duration counts from the build's request."""
    target = target_path(build.project_id, resource)
    return {
        "event": event.value,
        "occurredAt": iso_utc(now),
        "projectId": build.project_id,
        "resource": {"kind": resource.kind, "id": resource.id, "name": resource.name},
        "buildId": build.id,
        "status": build.status,
        "trigger": build.trigger,
        "sha": build.sha,
        "branch": build.branch,
        "message": build.message,
        "durationSeconds": seconds_between(build.created_at, build.concluded_at),
        "logLines": list(lines),
        "links": {
            "api": f"/v1{target}/build/{build.id}",
            "dashboard": build_url(build.project_id, resource.kind, resource.id, build.id),
        },
    }


async def build_moved(session: AsyncSession, build: Build) -> None:
    """`build` has just moved to its current status."""
    event = build_event(build.status, build.attempts)
    if event is None:
        return
    owners = repository.log_owners(build.project_id, build.target_kind, build.target_id, build.id)
    about = outbox.Subject(build.project_id, build.target_kind, build.target_id, owners)

    async def payload_of(resource: Resource, lines: list[str]) -> dict[str, Any]:
        return build_payload(event, build, resource, lines, utcnow())

    await outbox.record(session, about, event, payload_of)
