"""Bursts: N runs of a trivial job started at once, dockyard vs the same N raw `docker run`s
driven with the same concurrency, alternately in one run.

- raw:      N x `docker run --rm --network <network> local/busybox:1 true`, at most
            `--concurrency` at a time (a thread pool);
- dockyard: N x POST /jobs/{id}/runs of a job running the same image and command on a live
            `dockyard up` with DOCKYARD_MAX_CONCURRENT_RUNS = `--concurrency`, until every
            run has concluded (listed through the API).

Both sides use one network: by default (`--network project`) the project's own bridge
network dockyard creates for its runs (DOCKYARD_CONTAINER_NETWORK's default), which the raw
runs join too, since attaching a container to a bridge costs the engine far more than
`none` (measured: about half as much again of a trivial run's time); `--network none` sets
DOCKYARD_CONTAINER_NETWORK=none and runs the raw containers without a network.

Prints each round, the medians and the ratio dockyard / raw (target: <= 1.2; issue 24).

    .venv/bin/python bench/burst.py [--runs 200] [--concurrency 4] [--rounds 3]
        [--network project|none]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from server import DOCKER_HOST, LiveServer

from dockyard.engine.dockercli import DOCKER_CLI
from dockyard.engine.networks import LABEL_INSTALLATION

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


def docker(*args: str) -> str:
    done = subprocess.run(
        [DOCKER_CLI, *args],
        env=os.environ | {"DOCKER_HOST": DOCKER_HOST},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def project_networks(server: LiveServer) -> list[str]:
    """The ids of the networks the server's runs join (dockyard labels them with its
    installation, which is its registry)."""
    label = f"label={LABEL_INSTALLATION}={server.registry}"
    return docker("network", "ls", "--quiet", "--filter", label).split()


def raw_burst(count: int, concurrency: int, network: str) -> float:
    """Seconds for `count` raw `docker run`s, `concurrency` at a time."""

    def one(_: int) -> None:
        docker("run", "--rm", "--network", network, IMAGE, "true")

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
    done = set()
    for run in listed(http, RUNS, "runs"):
        if run["id"] in waiting and run["concluded"]:
            if run["status"] != "SUCCESS":
                raise SystemExit(f"run {run['id']}: {run['status']} {run.get('message')}")
            done.add(run["id"])
    return done


def listed(http: httpx.Client, path: str, key: str) -> Iterator[dict[str, Any]]:
    """Every item of the paginated list at `path` (its items under `key`)."""
    cursor = None
    while True:
        params: dict[str, str | int] = {"per_page": 100} | ({"cursor": cursor} if cursor else {})
        reply = http.get(path, params=params)
        yield from LiveServer.ok(reply)[key]  # type: ignore[misc]  # a list of objects
        pagination = reply.json()["pagination"]
        if not pagination["hasNextPage"]:
            return
        cursor = pagination["cursor"]


def print_round(index: int, rounds: int, raw: float, ours: float) -> None:
    load = os.getloadavg()[0]
    print(
        f"  {index + 1}/{rounds}: raw {raw:.1f} s, dockyard {ours:.1f} s (load {load:.1f})",
        flush=True,
    )


def report(what: str, raw: list[float], ours: list[float]) -> None:
    raw_median, our_median = statistics.median(raw), statistics.median(ours)
    print(
        f"{what}: raw median {raw_median:.1f} s, dockyard median {our_median:.1f} s, "
        f"ratio {our_median / raw_median:.2f} (target <= 1.2)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--network", choices=["project", "none"], default="project")
    options = parser.parse_args()
    env = {"DOCKYARD_MAX_CONCURRENT_RUNS": str(options.concurrency)}
    if options.network == "none":
        env["DOCKYARD_CONTAINER_NETWORK"] = "none"
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        server = LiveServer(Path(tmp), env)
        try:
            LiveServer.ok(server.http.post("/v1/projects/bench/jobs/manual", json=JOB))
            dockyard_burst(server, options.concurrency)  # warm-up, not measured
            network = project_networks(server)[0] if options.network == "project" else "none"
            raw_burst(options.concurrency, options.concurrency, network)
            raw, ours = [], []
            for index in range(options.rounds):
                raw.append(raw_burst(options.runs, options.concurrency, network))
                ours.append(dockyard_burst(server, options.runs))
                print_round(index, options.rounds, raw[-1], ours[-1])
        finally:
            server.stop()
            for leftover in project_networks(server):
                docker("network", "rm", leftover)
    what = f"{options.runs} runs at concurrency {options.concurrency}, network {options.network}"
    report(what, raw, ours)


if __name__ == "__main__":
    main()
