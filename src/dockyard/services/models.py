"""The services table: indexed identity columns, the validated spec as JSON, secrets sealed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime, utcnow, when_created


class Service(Base):
    """A service (today only `build` services). `spec` is its wire body (camelCase) without
    its secret fields; those are in `sealed_secrets`, one SecretBox-sealed value per field path
    (`buildArguments`, `buildConfiguration.dockerCredentials`, ...)."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("project_id", "id", name="uq_services_project_id_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("projects.id", ondelete="CASCADE")
    )
    id: Mapped[str] = mapped_column(String(64))
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    service_type: Mapped[str] = mapped_column(String(16), default="build")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed_secrets: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Set by DELETE .../build-cache: the next build ignores BuildKit's cache.
    build_cache_dropped: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=when_created, onupdate=utcnow)
