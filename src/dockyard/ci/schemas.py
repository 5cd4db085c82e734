"""Wire models of webhook answers and CI events."""

from __future__ import annotations

from dockyard.api.wire import Timestamp, WireModel


class WebhookOutcome(WireModel):
    """How many jobs and build services built or not; which, and why, only their ci-events
    say (a webhook's sender is no user of any project)."""

    delivery_id: str
    duplicate: bool
    note: str | None = None
    built: int
    skipped: int


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
