"""Wire models of notification integrations, in the official clients' shapes
(CreateNotificationRequest / Response, ListNotificationsResponse, UpdateNotificationRequest:
`name`, `type`, `webhook`, `secret`, `events`, `restricted`, `projects`, `restrictions`,
`status`). An integration is the team's: unrestricted, it hears every project; restricted, the
projects it names (`projects` or `restrictions.projects`) and, within them, the jobs, services
and tags its restrictions name. dockyard additions: `restrictions.jobs` /
`restrictions.services` (ids), `status.failing` / `status.lastError`, and deliveries with
their attempts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from dockyard.wire.fields import Name, ResourceTag
from dockyard.wire.models import RequestModel, Timestamp, WireModel
from dockyard.wire.paths import field_error

EventName = Literal[
    "trigger:build:start",
    "trigger:build:success",
    "trigger:build:failure",
    "trigger:build:abort",
    "trigger:build:crash",
    "trigger:job-run:start",
    "trigger:job-run:success",
    "trigger:job-run:failure",
    "trigger:job-run:health-check-failure",
]
ResourceId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
WebhookUrl = Annotated[str, Field(min_length=1, max_length=2048)]
Secret = Annotated[str, Field(min_length=8, max_length=256)]


# RAW_WEBHOOK: a signed JSON POST; SLACK: a Slack incoming webhook (or a compatible one).
NotificationType = Literal["RAW_WEBHOOK", "SLACK"]


class TagRestriction(RequestModel):
    enabled: bool = True
    items: list[ResourceTag] = Field(default_factory=list, max_length=50)
    match_condition: Literal["and", "or"] = "or"


class Restrictions(RequestModel):
    """What a restricted integration hears about: the projects named (all if none is), and in
    them the jobs and build services named and those whose tags match (all if none is)."""

    projects: list[ResourceId] | None = Field(default=None, max_length=100)
    jobs: list[ResourceId] = Field(default_factory=list, max_length=100)
    services: list[ResourceId] = Field(default_factory=list, max_length=100)
    tags: TagRestriction | None = None

    def names_resources(self) -> bool:
        tags = self.tags
        return bool(self.jobs or self.services or (tags and tags.enabled and tags.items))


class NotificationPatch(RequestModel):
    """Update body (POST .../{notificationId}): any field but `type`. `events` merges into the
    stored map; the other fields replace theirs."""

    name: Name | None = None
    webhook: WebhookUrl | None = None
    secret: Secret | None = None
    events: dict[EventName, bool] | None = None
    restricted: bool | None = None
    projects: list[ResourceId] | None = Field(default=None, max_length=100)
    restrictions: Restrictions | None = None

    def named_projects(self) -> list[str] | None:
        """The projects the body restricts the integration to (`projects` and
        `restrictions.projects` together), None when it names none."""
        given = [self.projects, self.restrictions.projects if self.restrictions else None]
        if all(projects is None for projects in given):
            return None
        return list(dict.fromkeys(p for projects in given for p in projects or ()))


class NotificationSpec(NotificationPatch):
    """Create body; also every stored integration, re-validated as a whole after a change."""

    name: Name
    type: NotificationType
    webhook: WebhookUrl
    events: dict[EventName, bool]

    def enables(self, event: str) -> bool:
        """Whether the integration is sent `event` (a `trigger:...` name)."""
        return any(on and name == event for name, on in self.events.items())

    @model_validator(mode="after")
    def _consistent(self) -> NotificationSpec:
        if not any(self.events.values()):
            raise field_error("events", "enable at least one event")
        if self.type == "SLACK" and self.secret is not None:
            raise field_error("secret", "only RAW_WEBHOOK integrations are signed")
        projects = self.named_projects()
        if self.restricted is False and projects:
            raise field_error("restricted", "an integration limited to projects is restricted")
        names_resources = self.restrictions is not None and self.restrictions.names_resources()
        if self.restricted and not (projects or names_resources):
            raise field_error(
                "restrictions", "a restricted integration names projects, jobs, services or tags"
            )
        return self


class NotificationStatus(WireModel):
    """`failing` once DOCKYARD_NOTIFICATION_FAILING_AFTER attempts in a row failed, until one
    succeeds; dockyard never disables an integration (`disabled` is always false)."""

    nullable = frozenset({"lastError"})

    disabled: bool = False
    failing: bool
    number_of_failed_requests: int
    time_of_first_failed_request: Timestamp | None = None
    last_error: str | None = None


class NotificationResponse(WireModel):
    """An integration; `secret` only in the reply to its creation."""

    id: str
    name: str
    type: NotificationType
    webhook: str
    events: dict[str, bool]
    restricted: bool
    restrictions: dict[str, Any]
    projects: list[str]
    status: NotificationStatus
    secret: str | None = None
    created_at: Timestamp
    updated_at: Timestamp


class NotificationListItem(WireModel):
    id: str
    name: str
    type: NotificationType
    webhook: str
    status: NotificationStatus
    created_at: Timestamp
    updated_at: Timestamp


class NotificationList(WireModel):
    notification_integrations: list[NotificationListItem]


class AttemptResponse(WireModel):
    nullable = frozenset({"statusCode", "error"})

    number: int
    attempted_at: Timestamp
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryResponse(WireModel):
    """One event sent (or being sent) to an integration: `pending` while attempts remain,
    then `succeeded` or `failed`."""

    id: str
    event: str
    status: Literal["pending", "succeeded", "failed"]
    resource: dict[str, str]
    build_id: str | None = None
    run_id: str | None = None
    created_at: Timestamp
    next_attempt_at: Timestamp | None = None
    concluded_at: Timestamp | None = None
    attempts: list[AttemptResponse]


class DeliveryList(WireModel):
    deliveries: list[DeliveryResponse]
