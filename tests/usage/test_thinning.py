"""A run's samples, thinned on a real database: every other one goes, never a peak."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import Database
from dockyard.migrations import prepare_storage
from dockyard.usage import repository
from dockyard.usage.models import UsageSample


def _sample(owner: str, second: int, memory: int, cpu: float) -> UsageSample:
    return UsageSample(
        owner_kind="run",
        owner_id=owner,
        container=f"dockyard-run-{owner}-1",
        ts=utcnow() + timedelta(seconds=second),
        cpu_cores=cpu,
        memory_bytes=memory,
        memory_peak_bytes=memory,
        memory_limit_bytes=None,
        network_rx_bytes=0,
        network_tx_bytes=0,
        disk_read_bytes=0,
        disk_write_bytes=0,
    )


def test_thinning_halves_the_samples_and_keeps_the_peaks(settings: Settings) -> None:
    prepare_storage(settings)

    async def scenario() -> tuple[list[tuple[int, float]], int]:
        database = Database(settings.resolved_database_url)
        # The memory peak and the CPU peak are both on samples thinning would drop (odd ranks).
        memory = {0: 999}
        cpu = {4: 3.0}
        async with database.sessions() as session:
            for second in range(10):
                repository.add(
                    session, _sample("a", second, memory.get(second, 1), cpu.get(second, 0.1))
                )
                repository.add(session, _sample("b", second, 5, 0.5))
            await session.commit()
            await repository.thin(session, "run", "a")
            await session.commit()
            kept = await session.execute(
                UsageSample.__table__.select()
                .where(UsageSample.owner_id == "a")
                .order_by(UsageSample.ts)
            )
            other = await repository.count(session, "run", "b")
        await database.dispose()
        return [(row.memory_peak_bytes, row.cpu_cores) for row in kept], other

    kept, other = asyncio.run(scenario())
    # Seconds 2, 6 and 8 go; 0 and 4, the peaks, stay.
    assert kept == [(999, 0.1), (1, 0.1), (1, 0.1), (1, 3.0), (1, 0.1), (1, 0.1), (1, 0.1)]
    assert other == 10  # another run's samples stay
