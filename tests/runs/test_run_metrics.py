"""Resource metrics of runs on real containers, read through the official `northflank` SDK
and dockyard's CLI: a run's memory peak, a CPU spinner's cores (live in `dockyard runs top`),
and an out-of-memory kill (its reason and peak)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from northflank import ApiClient, ApiClientContext
from typer.testing import CliRunner

from dockyard.cli.main import app
from tests.builds.conftest import CONCLUDE_TIMEOUT, LiveDockyard
from tests.runs.conftest import busybox_job, serving

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
# /dev/shm is a 64 MiB tmpfs: what is written there is the container's memory.
ALLOCATE = "sleep 1; head -c 67108864 /dev/zero > /dev/shm/x; sleep 3"
# A spinner that prints the cores it got (its cgroup's CPU time over its 6 s, in millicores):
# on a busy machine its share is less than the core its plan allows.
USAGE = "cat /sys/fs/cgroup/cpuacct/cpuacct.usage"
SPIN = (
    f"a=$({USAGE}); timeout 6 sh -c 'while :; do :; done'; b=$({USAGE}); "
    'echo "spun $(( (b - a) / 6000000 ))"'
)
# A shell variable of 320 MiB, over nf-compute-10's 256 MiB.
OVERFLOW = "sleep 1; x=$(head -c 335544320 /dev/zero | tr '\\0' a); echo survived"


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    root = tmp_path_factory.mktemp("metrics")
    with serving(root, DOCKYARD_USAGE_SAMPLE_SECONDS="1") as live:
        yield live


def _concluded(live: LiveDockyard, sdk: ApiClient, ids: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + CONCLUDE_TIMEOUT
    while not (run := sdk.get.job.run(**ids).data)["concluded"]:
        assert time.monotonic() < deadline, (
            run,
            live.lines_of("run", ids["run_id"]),
            live.process.lines[-40:],
        )
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


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _top_shows(run_id: str, job_id: str) -> str:
    """`dockyard runs top --once`, once it shows the run's attempt with a CPU figure."""
    deadline = time.monotonic() + 30
    while run_id not in (table := _cli("runs", "top", "--job", job_id, "--once")):
        assert time.monotonic() < deadline, table
        time.sleep(0.5)
    return table


def test_memory_cpu_and_oom_through_the_sdk_and_cli(
    sampled: LiveDockyard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = sampled.http.headers["Authorization"].removeprefix("Bearer ")
    monkeypatch.setenv("DOCKYARD_CLI_CONFIG", str(tmp_path / "cli.json"))
    _cli("login", "--url", sampled.process.url, "--token", token, "--project", sampled.project)
    sdk = ApiClient(context=ApiClientContext(api_token=token, base_url=sampled.process.url))
    plans = {"allocate": "nf-compute-20", "spin": "nf-compute-100-1", "overflow": "nf-compute-10"}
    commands = {"allocate": ALLOCATE, "spin": SPIN, "overflow": OVERFLOW}
    started = {}
    for name, command in commands.items():
        job = busybox_job(sampled, name, command, billing={"deploymentPlan": plans[name]})
        ids = {"project_id": sampled.project, "job_id": job}
        run = sdk.start.job.run(**ids, data={}).data
        started[name] = ids | {"run_id": run["id"]}
    spin = started["spin"]
    top = _top_shows(spin["run_id"], spin["job_id"])
    assert "/ 1024 MiB" in top, top
    runs = {name: _concluded(sampled, sdk, ids) for name, ids in started.items()}
    assert spin["run_id"] not in _cli("runs", "top", "--job", spin["job_id"], "--once")

    assert runs["allocate"]["status"] == "SUCCESS", runs["allocate"]
    memory = _series(sdk, started["allocate"], "memory")
    assert 0.8 * 64 <= memory["metadata"]["peak"] <= 1.2 * 64, memory
    assert memory["metadata"]["limit"] == 512 and not memory["metadata"]["oomKilled"]
    assert len(memory["data"]) >= 2 and {"timestamp", "value"} <= set(memory["data"][0])

    allocated = started["allocate"]
    got = json.loads(
        _cli("runs", "get", allocated["run_id"], "--job", allocated["job_id"], "--json")
    )
    assert got["usage"][0]["memoryPeakMb"] == memory["metadata"]["peak"], got

    cpu = _series(sdk, started["spin"], "cpu")
    logs = sampled.http.get(
        f"/v1/projects/{sampled.project}/jobs/{spin['job_id']}/logs",
        params={"runId": spin["run_id"], "textIncludes": "spun"},
    ).json()["data"]
    got_cores = int(logs[0]["log"].split()[1]) / 1000
    assert 0.8 * got_cores <= cpu["metadata"]["peak"] <= min(1.3, 2 * got_cores + 0.1), (
        got_cores,
        cpu,
    )

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
    shown = _cli(
        "runs", "get", started["overflow"]["run_id"], "--job", started["overflow"]["job_id"]
    )
    assert "peaks:" in shown and "256.0 / 256 MiB OOMKilled" in shown, shown
    assert single["memory"]["metricInfo"] == {
        "metricId": "memory",
        "metricUnit": "mb",
        "metricResolution": 1.0,
    }
