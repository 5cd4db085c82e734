"""Webhook deliveries (each handled once) and CI events: what each delivery decided for each
job or build service of its repository."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime, utcnow


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("provider", "delivery_id", name="uq_webhook_deliveries_delivery"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
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
