from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime


class LogLine(Base):
    """One line of output of a build or a run, as it was written."""

    __tablename__ = "log_lines"
    __table_args__ = (
        Index("ix_log_lines_owner", "owner_kind", "owner_id", "pk"),
        Index("ix_log_lines_ts", "ts"),  # retention deletes by age
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_kind: Mapped[str] = mapped_column(String(8))  # "build" or "run"
    owner_id: Mapped[str] = mapped_column(String(64))
    container_id: Mapped[str] = mapped_column(String(64))
    # The container's own output, timed by its engine; else dockyard's (time of writing).
    from_container: Mapped[bool] = mapped_column(Boolean, server_default=false())
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    line: Mapped[str] = mapped_column(Text)
