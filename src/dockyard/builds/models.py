"""The builds table: one row per requested build, the recipe captured when it was asked for."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime, utcnow, when_created


class BuildTrigger(StrEnum):
    """What started a build."""

    API = "api"
    WEBHOOK = "webhook"  # a git push or pull request event


class Build(Base):
    """A build of a job or a build service (`target_kind` "job" | "service").

    `recipe` holds everything the worker needs (source, Dockerfile location, options) so a
    build is unaffected by later edits of its job or service; its secret parts (build
    arguments, files, secret mounts) are in `sealed_secrets`. `claimed_by` / `heartbeat_at`
    say which worker drives it and that the worker is alive; `trigger` what started it.
    """

    __tablename__ = "builds"
    __table_args__ = (
        Index("ix_builds_target", "project_id", "target_kind", "target_id", "pk"),
        Index("ix_builds_status", "status", "pk"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("projects.id", ondelete="CASCADE")
    )
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(64))
    branch: Mapped[str | None] = mapped_column(String(256), nullable=True)
    pull_request_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sha: Mapped[str | None] = mapped_column(String(40), nullable=True)
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed_secrets: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(
        String(16), default=BuildTrigger.API.value, server_default=BuildTrigger.API.value
    )
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    image_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The manifest digest pushed as `image_uri`: runs pull it, whatever the tag names later.
    image_digest: Mapped[str | None] = mapped_column(String(71), nullable=True)
    abort_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=when_created, onupdate=utcnow)
    concluded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
