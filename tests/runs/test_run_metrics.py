"""Resource metrics of runs on real containers, read through the official `northflank` SDK:
a run's memory peak, a CPU spinner's cores, and an out-of-memory kill (its reason and peak)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from northflank import ApiClient, ApiClientContext

from tests.builds.conftest import CONCLUDE_TIMEOUT, LiveDockyard
from tests.runs.conftest import busybox_job, serving

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
# /dev/shm is a 64 MiB tmpfs: what is written there is the container's memory.
ALLOCATE = "sleep 1; head -c 67108864 /dev/zero > /dev/shm/x; sleep 3"
SPIN = "timeout 5 sh -c 'while :; do :; done'; true"
# A shell variable of 320 MiB, over nf-compute-10's 256 MiB.
OVERFLOW = "sleep 1; x=$(head -c 335544320 /dev/zero | tr '\\0' a); echo survived"


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    root = tmp_path_factory.mktemp("metrics")
    with serving(root, DOCKYARD_USAGE_SAMPLE_SECONDS="1") as live:
        yield live


def _concluded(sdk: ApiClient, ids: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + CONCLUDE_TIMEOUT
    while not (run := sdk.get.job.run(**ids).data)["concluded"]:
        assert time.monotonic() < deadline, run
        time.sleep(0.3)
    return run


def _series(sdk: ApiClient, ids: dict[str, str], metric: str) -> dict[str, Any]:
    job = {"project_id": ids["project_id"], "job_id": ids["job_id"]}
    found = sdk.get.job.metrics(
        **job, run_id=ids["run_id"], query_type="range", metric_types=[metric]
    ).data
    assert set(found) == {metric}, found
    values = found[metric]["values"]
    assert len(values) == 1, values  # one attempt's container
    series: dict[str, Any] = values[0]
    assert series["metadata"]["runId"] == ids["run_id"]
    return series


def test_memory_cpu_and_oom_through_the_sdk(sampled: LiveDockyard) -> None:
    token = sampled.http.headers["Authorization"].removeprefix("Bearer ")
    sdk = ApiClient(context=ApiClientContext(api_token=token, base_url=sampled.process.url))
    plans = {"allocate": "nf-compute-20", "spin": "nf-compute-100-1", "overflow": "nf-compute-10"}
    commands = {"allocate": ALLOCATE, "spin": SPIN, "overflow": OVERFLOW}
    started = {}
    for name, command in commands.items():
        job = busybox_job(sampled, name, command, billing={"deploymentPlan": plans[name]})
        ids = {"project_id": sampled.project, "job_id": job}
        run = sdk.start.job.run(**ids, data={}).data
        started[name] = ids | {"run_id": run["id"]}
    runs = {name: _concluded(sdk, ids) for name, ids in started.items()}

    assert runs["allocate"]["status"] == "SUCCESS", runs["allocate"]
    memory = _series(sdk, started["allocate"], "memory")
    assert 0.8 * 64 <= memory["metadata"]["peak"] <= 1.2 * 64, memory
    assert memory["metadata"]["limit"] == 512 and not memory["metadata"]["oomKilled"]
    assert len(memory["data"]) >= 2 and {"timestamp", "value"} <= set(memory["data"][0])

    cpu = _series(sdk, started["spin"], "cpu")
    assert 0.5 <= cpu["metadata"]["peak"] <= 1.3, cpu

    overflow = runs["overflow"]
    assert overflow["status"] == "FAILED" and "OOMKilled" in overflow["message"], overflow
    killed = _series(sdk, started["overflow"], "memory")
    assert (
        killed["metadata"] | {"oomKilled": True, "peak": 256, "limit": 256} == killed["metadata"]
    ), killed
    single = sdk.get.job.metrics(
        project_id=sampled.project,
        job_id=started["overflow"]["job_id"],
        query_type="single",
        metric_types=["memory", "networkIngress"],
    ).data
    assert [point["value"] for point in single["memory"]["values"][0]["data"]] == [256]
    assert single["memory"]["metricInfo"] == {
        "metricId": "memory",
        "metricUnit": "mb",
        "metricResolution": 1.0,
    }
