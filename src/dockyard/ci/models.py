"""Webhook deliveries (each handled once per signer), CI events (what each delivery decided for
each job or build service of its repository) and projects' webhook secrets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime, utcnow

OPERATOR = "operator"


class WebhookDelivery(Base):
    """A delivery, once per provider, signer and delivery id: whoever holds one project's
    secret cannot pre-empt a delivery signed by another. `signer` is `operator` (the
    installation's secrets) or `project:<projectId>`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "provider", "signer", "delivery_id", name="uq_webhook_deliveries_signer_delivery"
        ),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    signer: Mapped[str] = mapped_column(String(80), server_default=OPERATOR)
    delivery_id: Mapped[str] = mapped_column(String(128))
    repository: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CiEvent(Base):
    """One target's decision on one git event: `build_id` when it built, else `reason` says
    which rule skipped it."""

    __tablename__ = "ci_events"
    __table_args__ = (Index("ix_ci_events_target", "project_id", "target_kind", "target_id", "pk"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("projects.id", ondelete="CASCADE")
    )
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(64))
    delivery_pk: Mapped[int] = mapped_column(
        Integer, ForeignKey("webhook_deliveries.pk", ondelete="CASCADE")
    )
    branch: Mapped[str] = mapped_column(String(256))
    sha: Mapped[str] = mapped_column(String(40))
    pull_request_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    commit_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    built: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text)
    build_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProjectWebhookSecret(Base):
    """A project's secret for the webhooks of one repository (`repository` normalized, see
    `normalized_repository`), sealed in `sealed_secret` under `webhook_secret_context(id)`. A
    delivery it signs builds that project's jobs and build services only."""

    __tablename__ = "project_webhook_secrets"
    __table_args__ = (
        UniqueConstraint("project_id", "repository", name="uq_project_webhook_secrets_repository"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("projects.id", ondelete="CASCADE")
    )
    repository: Mapped[str] = mapped_column(String(1024), index=True)
    sealed_secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def webhook_secret_context(secret_id: str) -> str:
    return f"webhook-secret:{secret_id}"
