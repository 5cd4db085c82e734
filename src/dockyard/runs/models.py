"""The job runs table: one row per requested run, what it runs resolved when it was asked for."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime, utcnow, when_created


class RunTrigger(StrEnum):
    """What started a run."""

    API = "api"
    SCHEDULE = "schedule"
    SOURCE_CHANGE = "source-change"  # a new image of the job (runOnSourceChange)


class JobRun(Base):
    """A run of a job: up to `backoffLimit + 1` attempts, each one container named
    `dockyard-run-<id>-<attempt>` (the engine refuses a second container of a name, so an
    attempt never runs twice).

    `spec` holds what the worker needs (image, entrypoint, command, resources, health checks,
    limits), so a run is unaffected by later edits of its job; its environment, files and
    secret mounts are in `sealed_secrets`. `attempt` counts attempts begun; `container_name`
    names the current attempt's container while its exit has not been counted yet, and
    `retry_at` is when the next attempt may begin. `claimed_by` / `heartbeat_at` say
    which worker drives the run and that the worker is alive. `trigger` says what started it;
    a run its job's schedule started has the due time it ran for in `scheduled_at`, unique
    per job, so any number of workers start one run per due time.
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        Index("ix_job_runs_job", "project_id", "job_id", "pk"),
        Index("ix_job_runs_status", "status", "pk"),
        UniqueConstraint("project_id", "job_id", "scheduled_at", name="uq_job_runs_scheduled"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    run_name: Mapped[str] = mapped_column(String(128))
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("projects.id", ondelete="CASCADE")
    )
    job_id: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed_secrets: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    backoff_limit: Mapped[int] = mapped_column(Integer)
    active: Mapped[int] = mapped_column(Integer, default=0)
    succeeded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    container_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    abort_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=when_created, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    concluded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    trigger: Mapped[str] = mapped_column(
        String(16), default=RunTrigger.API.value, server_default=RunTrigger.API.value
    )
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
