"""The columns every build target's table has (jobs, services): indexed identity columns, the
validated spec as JSON, secrets sealed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import UtcDateTime, utcnow, when_created


class TargetColumns:
    """`spec` is the target's wire body (camelCase) without its secret fields; those are in
    `sealed_secrets`, one SecretBox-sealed value per field path (`buildArguments`,
    `buildConfiguration.dockerCredentials`, ...)."""

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("projects.id", ondelete="CASCADE")
    )
    id: Mapped[str] = mapped_column(String(64))
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed_secrets: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=when_created, onupdate=utcnow)
