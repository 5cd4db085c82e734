"""Bursts: N runs of a trivial job started at once, dockyard vs the same N raw `docker run`s
driven with the same concurrency, alternately in one run.

- raw:      N x `docker run --rm --network none local/busybox:1 true`, at most
            `--concurrency` at a time (a thread pool);
- dockyard: N x POST /jobs/{id}/runs of a job running the same image and command on a live
            `dockyard up` with DOCKYARD_MAX_CONCURRENT_RUNS = `--concurrency`, until every
            run has concluded (listed through the API).

Prints each round, the medians and the ratio dockyard / raw (target: <= 1.2; issue 24).

    .venv/bin/python bench/burst.py [--runs 200] [--concurrency 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from server import DOCKER_HOST, LiveServer

from dockyard.engine.dockercli import DOCKER_CLI

IMAGE = "local/busybox:1"
POLL_SECONDS = 0.25
JOB = {
    "name": "trivial",
    "billing": {"deploymentPlan": "nf-compute-20"},
    "backoffLimit": 0,
    "deployment": {
        "external": {"imagePath": IMAGE},
        "docker": {"configType": "customCommand", "customCommand": "true"},
    },
}
RUNS = "/v1/projects/bench/jobs/trivial/runs"


def raw_burst(count: int, concurrency: int) -> float:
    """Seconds for `count` raw `docker run`s, `concurrency` at a time."""

    def one(_: int) -> None:
        subprocess.run(
            [DOCKER_CLI, "run", "--rm", "--network", "none", IMAGE, "true"],
            env=os.environ | {"DOCKER_HOST": DOCKER_HOST},
            check=True,
            capture_output=True,
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    return time.perf_counter() - started


def dockyard_burst(server: LiveServer, count: int) -> float:
    """Seconds from the first POST of `count` runs to the last one's conclusion."""
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: start_run(server.http), range(count)))
    while ids:
        time.sleep(POLL_SECONDS)
        ids -= concluded(server.http, ids)
    return time.perf_counter() - started


def start_run(http: httpx.Client) -> str:
    run_id: str = LiveServer.ok(http.post(RUNS, json={}))["id"]
    return run_id


def concluded(http: httpx.Client, waiting: set[str]) -> set[str]:
    """Those of `waiting` that have concluded (all of them SUCCESS, or the benchmark ends)."""
    done, cursor = set(), None
    while True:
        params: dict[str, str | int] = {"per_page": 100} | ({"cursor": cursor} if cursor else {})
        reply = http.get(RUNS, params=params)
        page = LiveServer.ok(reply)
        for run in page["runs"]:
            if run["id"] in waiting and run["concluded"]:
                if run["status"] != "SUCCESS":
                    raise SystemExit(f"run {run['id']}: {run['status']} {run.get('message')}")
                done.add(run["id"])
        pagination = reply.json()["pagination"]
        if not pagination["hasNextPage"]:
            return done
        cursor = pagination["cursor"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    env = {"DOCKYARD_MAX_CONCURRENT_RUNS": str(options.concurrency)}
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        server = LiveServer(Path(tmp), env)
        try:
            LiveServer.ok(server.http.post("/v1/projects/bench/jobs/manual", json=JOB))
            raw_burst(options.concurrency, options.concurrency)  # warm-up, not measured
            dockyard_burst(server, options.concurrency)
            raw, ours = [], []
            for index in range(options.rounds):
                raw.append(raw_burst(options.runs, options.concurrency))
                ours.append(dockyard_burst(server, options.runs))
                print(
                    f"  {index + 1}/{options.rounds}: raw {raw[-1]:.1f} s, "
                    f"dockyard {ours[-1]:.1f} s"
                )
        finally:
            server.stop()
    raw_median, our_median = statistics.median(raw), statistics.median(ours)
    print(
        f"{options.runs} runs at concurrency {options.concurrency}: raw median {raw_median:.1f} s,"
        f" dockyard median {our_median:.1f} s, ratio {our_median / raw_median:.2f}"
        " (target <= 1.2)"
    )


if __name__ == "__main__":
    main()
