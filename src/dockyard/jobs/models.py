"""The jobs table: indexed identity columns, the validated spec as JSON, secrets sealed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime, utcnow, when_created


class Job(Base):
    """A job. `spec` is the job's wire body (camelCase) without its secret fields; those are in
    `sealed_secrets`, one SecretBox-sealed value per field path (`buildArguments`,
    `buildConfiguration.dockerCredentials`, ...). A cron job's due times count from
    `schedule_since` (when its schedule was set); earlier ones are never run."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("project_id", "id", name="uq_jobs_project_id_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("projects.id", ondelete="CASCADE")
    )
    id: Mapped[str] = mapped_column(String(64))
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    job_type: Mapped[str] = mapped_column(String(16), default="manual")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed_secrets: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    schedule_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=when_created, onupdate=utcnow)
