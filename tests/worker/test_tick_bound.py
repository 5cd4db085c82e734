"""A tick that hangs (a database connection whose server or network went silent) is cut short
once it outlasts a few leases, which it has lost anyway: the worker carries on with its
other handlers and ticks the hung one again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from dockyard.config import Settings
from dockyard.worker.loop import Worker


class HangingOnce:
    def __init__(self) -> None:
        self.ticks = 0

    async def tick(self) -> None:
        self.ticks += 1
        if self.ticks == 1:
            await asyncio.Event().wait()

    async def shutdown(self) -> None:
        pass


class Counting:
    def __init__(self) -> None:
        self.ticks = 0

    async def tick(self) -> None:
        self.ticks += 1

    async def shutdown(self) -> None:
        pass


def test_a_hung_tick_is_cut_short_after_a_few_leases(tmp_path: Path) -> None:
    hanging, counting = HangingOnce(), Counting()
    settings = Settings(data_dir=tmp_path, worker_lease_seconds=0.05, worker_poll_seconds=0.05)
    worker = Worker(settings, [hanging, counting], asyncio.Event())

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(1.0, stop.set)
        async with asyncio.timeout(10):  # a worker held by the hung tick would never stop
            await worker.run(stop)

    with structlog.testing.capture_logs() as logs:
        asyncio.run(run())

    assert hanging.ticks > 1 and counting.ticks > 1
    (cut,) = [entry for entry in logs if "cut short" in entry["event"]]
    assert cut["handler"] == "HangingOnce"
