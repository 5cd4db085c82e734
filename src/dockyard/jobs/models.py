"""The jobs table: a build target's columns, the job's type and when its schedule counts from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime
from dockyard.targets.models import TargetColumns


class Job(TargetColumns, Base):
    """A job. A cron job's due times count from `schedule_since` (when its schedule was set);
    earlier ones are never run."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("project_id", "id", name="uq_jobs_project_id_id"),
        Index("ix_jobs_project_id_pk", "project_id", "pk"),  # a project's list, in key order
    )

    job_type: Mapped[str] = mapped_column(String(16), default="manual")
    schedule_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
