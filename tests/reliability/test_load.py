"""Load in its short mode (bench/load.py runs the long one): 200 concurrent API clients on a
mix of reads and writes with no 5xx and no locked database, and 50 builds queued at once
that all succeed in the order they were asked for, two at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.builds.conftest import LiveDockyard
from tests.reliability.load import api_load, build_queue
from tests.runs.conftest import serving

pytestmark = pytest.mark.e2e

CONCURRENCY = 2


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(
        tmp_path_factory.mktemp("load"), DOCKYARD_MAX_CONCURRENT_BUILDS=str(CONCURRENCY)
    ) as live:
        yield live


def test_200_clients_get_only_expected_answers(live: LiveDockyard) -> None:
    report = api_load(live, clients=200, seconds=5)
    print(report.summary())
    assert report.failures == [], report.summary() + "\n" + "\n".join(report.failures[:20])
    assert {"create job 200", "list jobs 200", "get job 200"} <= set(report.answers)


def test_50_queued_builds_all_succeed_in_order(live: LiveDockyard) -> None:
    report = build_queue(live, builds=50, concurrency=CONCURRENCY)
    print(report.summary())
    assert report.statuses == {"SUCCESS": 50}, report.summary()
    assert report.out_of_order == [], report.summary()
