"""Resource usage samples of runs and builds: one row every few seconds while one runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime


class UsageSample(Base):
    """What an attempt's container (`container`) had used at `ts`: CPU in cores over the
    interval before, memory in use and the most used since its start (bytes), its limit, and
    the byte counters of its network and disk since its start. A run's samples are thinned
    (every other one dropped, never its peak) when they reach the cap of a run."""

    __tablename__ = "usage_samples"
    __table_args__ = (Index("ix_usage_samples_owner", "owner_kind", "owner_id", "ts"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_kind: Mapped[str] = mapped_column(String(8))  # "build" or "run"
    owner_id: Mapped[str] = mapped_column(String(64))
    container: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    cpu_cores: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    memory_peak_bytes: Mapped[int] = mapped_column(BigInteger)
    memory_limit_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    network_rx_bytes: Mapped[int] = mapped_column(BigInteger)
    network_tx_bytes: Mapped[int] = mapped_column(BigInteger)
    disk_read_bytes: Mapped[int] = mapped_column(BigInteger)
    disk_write_bytes: Mapped[int] = mapped_column(BigInteger)
    # The container was killed for reaching its memory limit (its last sample).
    oom_killed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
