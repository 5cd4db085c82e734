"""DOCKYARD_METRICS_LISTEN: a listener that answers without a token, with the database's
gauges and the process's counters, on the configured address only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.migrations import prepare_storage
from dockyard.worker.gauges import metrics_listener
from tests.live import free_port
from tests.metrics.scrape import samples


def test_no_listener_unless_set(tmp_path: Path) -> None:
    async def start() -> object:
        return metrics_listener(Settings(data_dir=tmp_path), Database("sqlite+aiosqlite://"))

    assert asyncio.run(start()) is None


def test_the_listener_answers_without_a_token_on_its_address_only(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        registry="127.0.0.1:1",
        registry_autostart=False,
        metrics_listen=f"127.0.0.1:{port}",
    )
    prepare_storage(settings)

    async def scrape() -> tuple[httpx.Response, type[BaseException] | None]:
        database = Database(settings.resolved_database_url)
        listener = metrics_listener(settings, database)
        assert listener is not None
        try:
            # Off the event loop, which the scrape's gauges are read on.
            reply = await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{port}/metrics")
            try:
                await asyncio.to_thread(httpx.get, f"http://127.0.0.2:{port}/metrics")
                refused = None
            except httpx.ConnectError as exc:
                refused = type(exc)
            return reply, refused
        finally:
            listener.stop()
            await database.dispose()

    reply, refused = asyncio.run(scrape())
    assert reply.status_code == 200
    queued = ("dockyard_queue_depth", frozenset({("kind", "build"), ("status", "QUEUED")}))
    assert samples(reply.text)[queued] == 0
    assert "# TYPE dockyard_worker_claims_total counter" in reply.text
    assert refused is httpx.ConnectError  # bound to 127.0.0.1, not every address
    with pytest.raises(httpx.ConnectError):  # and gone once stopped
        httpx.get(f"http://127.0.0.1:{port}/metrics")
