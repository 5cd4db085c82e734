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

from dockyard.notifications.events import Event, Resource
from dockyard.wire.models import iso_utc

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
    project_id: str, integration_id: str, name: str, now: datetime
) -> dict[str, Any]:
    """The payload POST .../test sends: no build or run; the API link names the integration
    (the dashboard has no page of it)."""
    path = f"/projects/{project_id}/notifications/{integration_id}"
    return {
        "event": Event.TEST.value,
        "occurredAt": iso_utc(now),
        "projectId": project_id,
        "resource": {"kind": "notification", "id": integration_id, "name": name},
        "status": None,
        "message": "A test notification from dockyard",
        "logLines": [],
        "links": {"api": f"/v1{path}"},
    }


def _absolute(payload: dict[str, Any], base_url: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    return {name: base + path for name, path in payload["links"].items()}


def headline(payload: dict[str, Any]) -> str:
    """One line saying what happened: `Build joyous-view-6290 of job api failed (FAILURE)`."""
    resource = payload["resource"]
    event = Event(payload["event"])
    if event is Event.TEST:
        return f"Test notification of {resource['name']} in project {payload['projectId']}"
    what = f"Build {payload['buildId']}" if "buildId" in payload else f"Run {payload['runName']}"
    kind = "build service" if resource["kind"] == "service" else "job"
    return (
        f"{what} of {kind} {resource['name']} in project {payload['projectId']} "
        f"{VERBS[event]} ({payload['status']})"
    )


def webhook_body(payload: dict[str, Any], delivery_id: str, base_url: str) -> str:
    return json.dumps(
        {"deliveryId": delivery_id, **payload, "links": _absolute(payload, base_url)},
        separators=(",", ":"),
    )


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text[:SLACK_TEXT_LIMIT]}


def _facts(payload: dict[str, Any]) -> list[dict[str, str]]:
    facts = {
        "Status": payload.get("status"),
        "Trigger": payload.get("trigger"),
        "Branch": payload.get("branch"),
        "Commit": (payload.get("sha") or "")[:12] or None,
        "Duration": None
        if payload.get("durationSeconds") is None
        else f"{payload['durationSeconds']:.1f} s",
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


def slack_body(payload: dict[str, Any], base_url: str) -> str:
    links = _absolute(payload, base_url)
    text = headline(payload)
    link = links.get("dashboard", links["api"])
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _mrkdwn(f"*{text}*\n<{link}|Open in dockyard>")}
    ]
    if facts := _facts(payload):
        blocks.append({"type": "section", "fields": facts})
    if payload.get("message"):
        blocks.append({"type": "section", "text": _mrkdwn(f"> {payload['message']}")})
    if payload.get("logLines"):
        blocks.append({"type": "section", "text": _mrkdwn(_log_tail(payload["logLines"]))})
    return json.dumps({"text": text, "blocks": blocks}, separators=(",", ":"))
