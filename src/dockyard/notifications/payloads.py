"""What a notification says. An event's payload is captured when it happens (so the log
lines are those of that moment and survive the build's deletion); the body sent is rendered
from it at the first attempt, for the integration's type, and stored for the retries.

The RAW_WEBHOOK body is the payload plus `deliveryId` (the same in every retry: receivers
deduplicate by it) and absolute links:

    {"deliveryId", "event", "occurredAt", "projectId", "resource": {"kind", "id", "name"},
     "buildId" | "runId" + "runName", "status", "trigger", "sha", "branch", "message",
     "durationSeconds", "logLines": [last 20, oldest first], "links": {"api", "dashboard"}}

The SLACK body is a Slack incoming-webhook message: `text` (the headline, also what
notifications show) and `blocks` (the facts, the message and the last log lines).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import Field

from dockyard.notifications.events import Event, Resource
from dockyard.wire.models import WireModel, iso_utc

LOG_LINES = 20
# Slack refuses a text object over 3000 characters.
SLACK_TEXT_LIMIT = 2900

VERBS = {
    Event.BUILD_START: "started",
    Event.BUILD_SUCCESS: "succeeded",
    Event.BUILD_FAILURE: "failed",
    Event.BUILD_ABORT: "was aborted",
    Event.BUILD_CRASH: "crashed",
    Event.RUN_START: "started",
    Event.RUN_SUCCESS: "succeeded",
    Event.RUN_FAILURE: "failed",
    Event.RUN_HEALTH_CHECK_FAILURE: "failed a health check",
}


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def target_path(project_id: str, resource: Resource) -> str:
    return f"/projects/{project_id}/{resource.kind}s/{resource.id}"


def test_event_payload(
    project_id: str | None, integration_id: str, name: str, now: datetime
) -> dict[str, Any]:
    """The payload POST .../test sends: no build or run; the API link names the integration
    (the dashboard has no page of it) by the route the test was asked on, under a project or
    the team's (then `projectId` is empty)."""
    path = (
        f"/projects/{project_id}/notifications/{integration_id}"
        if project_id is not None
        else f"/integrations/notifications/{integration_id}"
    )
    return {
        "event": Event.TEST.value,
        "occurredAt": iso_utc(now),
        "projectId": project_id or "",
        "resource": {"kind": "notification", "id": integration_id, "name": name},
        "status": None,
        "message": "A test notification from dockyard",
        "logLines": [],
        "links": {"api": f"/v1{path}"},
    }


class PayloadResource(WireModel):
    kind: str
    id: str
    name: str


class PayloadLinks(WireModel):
    api: str
    dashboard: str | None = None


class EventPayload(WireModel):
    """A payload as stored (wire names, as the functions above write it), read back to render
    the body an integration is sent."""

    event: Event
    project_id: str
    resource: PayloadResource
    build_id: str | None = None
    run_id: str | None = None
    run_name: str | None = None
    status: str | None = None
    trigger: str | None = None
    sha: str | None = None
    branch: str | None = None
    message: str | None = None
    duration_seconds: float | None = None
    log_lines: list[str] = Field(default_factory=list)
    links: PayloadLinks


def _absolute(path: str, base_url: str) -> str:
    return base_url.rstrip("/") + path


def headline(payload: EventPayload) -> str:
    """One line saying what happened: `Build joyous-view-6290 of job api failed (FAILURE)`."""
    resource, event = payload.resource, payload.event
    if event is Event.TEST:
        return f"Test notification of {resource.name} in project {payload.project_id}"
    what = f"Build {payload.build_id}" if payload.build_id else f"Run {payload.run_name}"
    kind = "build service" if resource.kind == "service" else "job"
    return (
        f"{what} of {kind} {resource.name} in project {payload.project_id} "
        f"{VERBS[event]} ({payload.status})"
    )


def webhook_body(payload: dict[str, Any], delivery_id: str, base_url: str) -> str:
    links = {name: _absolute(path, base_url) for name, path in payload["links"].items()}
    return json.dumps({"deliveryId": delivery_id, **payload, "links": links}, separators=(",", ":"))


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text[:SLACK_TEXT_LIMIT]}


def _facts(payload: EventPayload) -> list[dict[str, str]]:
    duration = payload.duration_seconds
    facts = {
        "Status": payload.status,
        "Trigger": payload.trigger,
        "Branch": payload.branch,
        "Commit": (payload.sha or "")[:12] or None,
        "Duration": None if duration is None else f"{duration:.1f} s",
    }
    return [_mrkdwn(f"*{name}*\n{value}") for name, value in facts.items() if value]


def _log_tail(lines: Sequence[str]) -> str:
    """The last lines that fit in one Slack text, in a code block."""
    kept: list[str] = []
    size = len("``````")
    for line in reversed(lines):
        size += len(line) + 1
        if size > SLACK_TEXT_LIMIT:
            break
        kept.append(line)
    return "```" + "\n".join(reversed(kept)) + "```"


def slack_body(stored: dict[str, Any], base_url: str) -> str:
    """The Slack message of a stored payload."""
    payload = EventPayload.model_validate(stored)
    text = headline(payload)
    link = _absolute(payload.links.dashboard or payload.links.api, base_url)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _mrkdwn(f"*{text}*\n<{link}|Open in dockyard>")}
    ]
    if facts := _facts(payload):
        blocks.append({"type": "section", "fields": facts})
    if payload.message:
        blocks.append({"type": "section", "text": _mrkdwn(f"> {payload.message}")})
    if payload.log_lines:
        blocks.append({"type": "section", "text": _mrkdwn(_log_tail(payload.log_lines))})
    return json.dumps({"text": text, "blocks": blocks}, separators=(",", ":"))
