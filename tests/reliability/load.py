"""Load on a live dockyard, runnable short (the test suite) and long (bench/load.py):

- `api_load`: N concurrent API clients for S seconds on a mix of reads (list jobs, get a job,
  list projects) and writes (create a job, set its runtime environment, delete it); every
  answer must be the expected 2xx (a 5xx or a `database is locked` is a failure).
- `build_queue`: M builds of one job queued at once; with the server's concurrency C they all
  succeed, and they start in the order they were asked for (a build concludes at most C
  places away from its place in the queue).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.builds.conftest import LiveDockyard
from tests.builds.test_job_builds import vcs_job

LOCKED = "database is locked"


@dataclass
class LoadReport:
    clients: int
    seconds: float
    answers: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.answers.values())

    def summary(self) -> str:
        ordered = sorted(self.latencies_ms) or [0.0]
        p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
        return (
            f"api load: {self.clients} clients for {self.seconds:.0f} s: {self.total} requests "
            f"({self.total / self.seconds:.0f}/s), median {statistics.median(ordered):.0f} ms, "
            f"p95 {p95:.0f} ms; {dict(sorted(self.answers.items()))}; "
            f"failures {len(self.failures)}"
        )


def _job_body(name: str) -> dict[str, object]:
    return {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {"external": {"imagePath": "local/busybox:1"}},
    }


class ApiLoad:
    """One client's loop: a random operation, its expected status, until the deadline."""

    def __init__(self, live: LiveDockyard, report: LoadReport, seed: int) -> None:
        self.project = f"/v1/projects/{live.project}"
        self.report = report
        self.random = random.Random(seed)
        self.names = itertools.count()
        self.seed = seed

    async def run(self, client: httpx.AsyncClient, deadline: float) -> None:
        while time.monotonic() < deadline:
            await self.step(client)

    async def step(self, client: httpx.AsyncClient) -> None:
        kind = self.random.choices(["list", "get", "projects", "write"], [4, 4, 1, 2])[0]
        if kind == "list":
            await self.call(client, "list jobs", "GET", f"{self.project}/jobs")
        elif kind == "get":
            await self.call(client, "get job", "GET", f"{self.project}/jobs/steady")
        elif kind == "projects":
            await self.call(client, "list projects", "GET", "/v1/projects")
        else:
            await self.write_cycle(client)

    async def write_cycle(self, client: httpx.AsyncClient) -> None:
        name = f"load {self.seed} {next(self.names)}"
        created = await self.call(
            client, "create job", "POST", f"{self.project}/jobs/manual", _job_body(name)
        )
        if created is None:
            return
        job = f"{self.project}/jobs/{created['data']['id']}"
        env = {"runtimeEnvironment": {"LOAD": name}}
        await self.call(client, "set env", "POST", f"{job}/runtime-environment", env)
        await self.call(client, "delete job", "DELETE", job)

    async def call(
        self, client: httpx.AsyncClient, label: str, method: str, path: str, body: object = None
    ) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            response = await client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            self.report.failures.append(f"{label}: {type(exc).__name__} {exc}")
            return None
        self.report.latencies_ms.append((time.perf_counter() - started) * 1000)
        self.report.answers[f"{label} {response.status_code}"] += 1
        if response.status_code != 200:
            self.report.failures.append(f"{label}: {response.status_code} {response.text[:300]}")
            return None
        answer: dict[str, Any] = response.json()
        return answer


async def _api_load(live: LiveDockyard, clients: int, seconds: float, seed: int) -> LoadReport:
    report = LoadReport(clients, seconds)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=live.process.url, headers=dict(live.http.headers), limits=limits, timeout=60
    ) as client:
        deadline = time.monotonic() + seconds
        loads = [ApiLoad(live, report, seed * 1000 + n) for n in range(clients)]
        await asyncio.gather(*(load.run(client, deadline) for load in loads))
    return report


def api_load(live: LiveDockyard, clients: int, seconds: float, seed: int = 1) -> LoadReport:
    """Run the load; the server's own output must not mention a locked database either."""
    live.post("/jobs/manual", _job_body("steady"))
    report = asyncio.run(_api_load(live, clients, seconds, seed))
    report.failures += [line for line in live.process.lines if LOCKED in line]
    return report


@dataclass
class QueueReport:
    builds: int
    statuses: Counter[str]
    out_of_order: list[tuple[int, int]]
    seconds: float
    failed: list[str]

    def summary(self) -> str:
        return "\n".join(
            [
                f"build queue: {self.builds} builds in {self.seconds:.1f} s, "
                f"{dict(self.statuses)}, out of order {self.out_of_order}",
                *self.failed,
            ]
        )


def build_queue(live: LiveDockyard, builds: int, concurrency: int) -> QueueReport:
    """Queue `builds` builds of one job at once; wait for all; where each concluded against
    where it was queued."""
    job = vcs_job(live, f"queued {builds}")
    started = time.monotonic()
    ids = [live.post(f"/jobs/{job}/build", {"sha": live.sample.main})["id"] for _ in range(builds)]
    done = [live.wait_for(f"/jobs/{job}/build/{build_id}", timeout=600) for build_id in ids]
    by_conclusion = sorted(range(builds), key=lambda index: done[index]["buildConcludedAt"])
    out_of_order = [
        (queued, concluded)
        for concluded, queued in enumerate(by_conclusion)
        if abs(concluded - queued) > concurrency
    ]
    return QueueReport(
        builds,
        Counter(build["status"] for build in done),
        out_of_order,
        time.monotonic() - started,
        [_why_failed(live, build) for build in done if build["status"] != "SUCCESS"],
    )


def _why_failed(live: LiveDockyard, build: dict[str, Any]) -> str:
    tail = "\n    ".join(live.lines(build["id"])[-15:])
    return f"{build['id']} {build['status']}: {build.get('message')}\n    {tail}"
