"""The notification tables: integrations (where to send which events), the outbox of
deliveries (one row per event and integration, written in the transaction of the status
change that caused it) and each delivery's attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime, utcnow, when_created


class NotificationIntegration(Base):
    """A notification target of the team. Unless `all_projects`, it hears only the projects
    its `NotificationIntegrationProject` rows name (an integration restricted to projects;
    the per-project routes show those restricted to their project; `restrictions.projects`
    of its spec lists them too). `spec` is its wire body without its credentials: the signing
    secret is sealed in `sealed_secret` (RAW_WEBHOOK only), the webhook URL (a Slack
    hook's URL is its credential) in `sealed_webhook`, and `spec.webhook` holds it redacted.
    `failed_attempts` counts delivery attempts failed in a row (a success resets it); past
    DOCKYARD_NOTIFICATION_FAILING_AFTER the integration shows as failing, with `last_error`.
    `job_logs` / `service_logs`: whether its payloads carry the log lines of jobs / build
    services, which they do only when the token that created or last updated it could read
    those logs (View Observability)."""

    __tablename__ = "notification_integrations"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    all_projects: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Every row has one; nullable in the schema only (see migration 0014_sealed_urls).
    sealed_webhook: Mapped[str] = mapped_column(Text, nullable=True)
    job_logs: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    service_logs: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=when_created, onupdate=utcnow)


class NotificationIntegrationProject(Base):
    """A project a restricted integration hears (it goes with the project and with the
    integration)."""

    __tablename__ = "notification_integration_projects"
    __table_args__ = (Index("ix_notification_integration_projects_project", "project_id"),)

    integration_pk: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("notification_integrations.pk", ondelete="CASCADE"),
        primary_key=True,
    )
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )


class NotificationDelivery(Base):
    """One event for one integration. `payload` is what the event said, captured when it
    happened (log lines included); `body` the exact bytes sent, rendered at the first attempt
    and sent unchanged by every retry. `status` is pending until an attempt succeeds
    (succeeded) or the retry time is up (failed). A worker sending it holds it until
    `claimed_until`; past that, any worker may send it again."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_notification_deliveries_integration", "integration_pk", "pk"),
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    integration_pk: Mapped[int] = mapped_column(
        Integer, ForeignKey("notification_integrations.pk", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    concluded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class NotificationAttempt(Base):
    """One HTTP request of a delivery: the answer's status code (none when there was no
    answer), how long it took and what went wrong."""

    __tablename__ = "notification_attempts"
    __table_args__ = (Index("ix_notification_attempts_delivery", "delivery_pk", "pk"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_pk: Mapped[int] = mapped_column(
        Integer, ForeignKey("notification_deliveries.pk", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
