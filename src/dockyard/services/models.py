"""The services table: a build target's columns, the service's type and its cache flag."""

from __future__ import annotations

from sqlalchemy import Boolean, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base
from dockyard.targets.models import TargetColumns


class Service(TargetColumns, Base):
    """A service (today only `build` services)."""

    __tablename__ = "services"
    __table_args__ = (
        UniqueConstraint("project_id", "id", name="uq_services_project_id_id"),
        Index("ix_services_project_id_pk", "project_id", "pk"),  # a project's list, in key order
    )

    name: Mapped[str] = mapped_column(String(64), index=True)
    service_type: Mapped[str] = mapped_column(String(16), default="build")
    # Set by DELETE .../build-cache: the next build ignores BuildKit's cache.
    build_cache_dropped: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
