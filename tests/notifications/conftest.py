"""Notification tests: a receiver on 127.0.0.1, an app allowed to reach it, and a live
`dockyard up` whose notification retries back off 100 times faster than in production."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.config import Settings
from tests.builds.conftest import LiveDockyard
from tests.notifications.receiver import Receiver
from tests.runs.conftest import serving

FAST_RETRIES = {"DOCKYARD_NOTIFICATION_BACKOFF_SCALE": "0.01"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings (SQLite, and PostgreSQL where one runs), allowed to send to this
    machine as the live servers are; retries 100 times faster; failing after 2 attempts."""
    return settings.model_copy(
        update={
            "fetch_allow": ["127.0.0.0/8"],
            "notification_backoff_scale": 0.01,
            "notification_failing_after": 2,
        }
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(tmp_path_factory.mktemp("notifications"), **FAST_RETRIES) as live:
        yield live


def webhook(name: str, url: str, *events: str, **fields: Any) -> dict[str, Any]:
    """A create body of a RAW_WEBHOOK integration with `events` enabled."""
    return {
        "name": name,
        "type": "RAW_WEBHOOK",
        "webhook": url,
        "events": dict.fromkeys(events, True),
    } | fields


def deliveries(live: LiveDockyard, integration_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = live.get(f"/notifications/{integration_id}/deliveries")[
        "deliveries"
    ]
    return found


def wait_for_deliveries(
    live: LiveDockyard, integration_id: str, done: Any, timeout: float = 30
) -> list[dict[str, Any]]:
    """Poll the integration's deliveries until `done(deliveries)`."""
    deadline = time.monotonic() + timeout
    while True:
        found = deliveries(live, integration_id)
        if done(found):
            return found
        assert time.monotonic() < deadline, f"deliveries still {found}"
        time.sleep(0.2)
