"""A stopping worker hands its work back within the grace period; one handler that cannot
finish does not keep the process from stopping, and the log says where it waits."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import structlog

from dockyard.config import Settings
from dockyard.worker.loop import Worker


class Handler:
    def __init__(self, hang: bool) -> None:
        self.hang = hang
        self.ticks = 0
        self.shut_down = False

    async def tick(self) -> None:
        self.ticks += 1

    async def shutdown(self) -> None:
        if self.hang:
            await asyncio.Event().wait()
        self.shut_down = True


def stop_soon(worker: Worker) -> float:
    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.2, stop.set)
        await worker.run(stop)

    started = time.monotonic()
    asyncio.run(run())
    return time.monotonic() - started


def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, shutdown_grace_seconds=1, worker_poll_seconds=0.05)


def test_every_handler_is_shut_down(tmp_path: Path) -> None:
    handlers = [Handler(hang=False), Handler(hang=False)]
    stop_soon(Worker(settings(tmp_path), list(handlers), asyncio.Event()))
    assert all(handler.shut_down and handler.ticks for handler in handlers)


def test_a_hanging_handler_is_left_after_the_grace_period(tmp_path: Path) -> None:
    hanging, prompt = Handler(hang=True), Handler(hang=False)
    worker = Worker(settings(tmp_path), [hanging, prompt], asyncio.Event())
    with structlog.testing.capture_logs() as logs:
        took = stop_soon(worker)

    assert took < 5, took
    assert prompt.shut_down
    (exceeded,) = [entry for entry in logs if "grace period" in entry["event"]]
    assert exceeded["log_level"] == "error"
    assert any("shutdown (" in pending for pending in exceeded["pending"]), exceeded
