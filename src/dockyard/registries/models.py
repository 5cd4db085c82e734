"""The registry credentials table: logins to container registries that jobs and build services
name by id (`buildConfiguration.dockerCredentials`, `deployment.external.credentials`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime, utcnow, when_created


class RegistryCredential(Base):
    """A registry login of the account. `spec` is its wire body without the password, which
    is sealed in `sealed_password` (bound to the row's uid)."""

    __tablename__ = "registry_credentials"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed_password: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=when_created, onupdate=utcnow)
