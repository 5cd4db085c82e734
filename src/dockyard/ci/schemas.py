"""Wire models of webhook answers and CI events."""

from __future__ import annotations

from dockyard.api.wire import Timestamp, WireModel


class TargetDecision(WireModel):
    project_id: str
    kind: str
    id: str
    built: bool
    reason: str
    build_id: str | None = None


class WebhookOutcome(WireModel):
    delivery_id: str
    duplicate: bool
    note: str | None = None
    decisions: list[TargetDecision]


class CiEventResponse(WireModel):
    branch: str
    sha: str
    pull_request_id: int | None = None
    commit_message: str | None = None
    built: bool
    reason: str
    build_id: str | None = None
    created_at: Timestamp


class CiEventList(WireModel):
    events: list[CiEventResponse]
