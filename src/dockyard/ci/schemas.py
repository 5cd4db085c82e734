"""Wire models of webhook answers, CI events and projects' webhook secrets."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dockyard.wire.models import RequestModel, Timestamp, WireModel

MAX_REPOSITORY_CHARS = 1000


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


class WebhookSecretRequest(RequestModel):
    """POST /v1/projects/{projectId}/webhook-secrets: the repository whose webhooks the secret
    signs; the secret itself, or none for one made by the server (32 random bytes)."""

    repository: Annotated[str, Field(min_length=1, max_length=MAX_REPOSITORY_CHARS)]
    secret: Annotated[str, Field(min_length=16, max_length=256)] | None = None


class WebhookSecretResponse(WireModel):
    """A project's webhook secret; the value (`secret`) only in the reply that set it."""

    id: str
    repository: str
    created_at: Timestamp
    secret: str | None = None


class WebhookSecretList(WireModel):
    webhook_secrets: list[WebhookSecretResponse]
