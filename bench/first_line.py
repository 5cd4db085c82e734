"""First line: time from asking for a run to its first line being readable, dockyard vs a raw
`docker run`, alternately in one run (issue 24, goal 1).

- raw:       `docker run --rm --network <the project's network> local/busybox:1 echo
             first-line`, until the line is read from its stdout: the bridge network dockyard
             creates for the project's runs (DOCKYARD_CONTAINER_NETWORK's default), joined by
             the raw runs too, since setting up a bridge endpoint costs the engine far more
             than `--network host` (printed as well, as what the network itself costs);
- REST:      POST /jobs/{id}/runs, until `GET .../logs?runId=` returns the line (polled every
             5 ms);
- WebSocket: the same POST, until the line arrives on a `queryType=tail` WebSocket of the job
             opened before it (both read during the same run).

Each round times two jobs both ways: `echo first-line`, which exits at once, and `sh -c 'echo
first-line; sleep 1'`, which goes on after its line. The engine holds a container that has
exited while it tears its network down, and a log read of it waits that long; raw `docker
run` reads by attach before the start and does not.

Prints the medians and what dockyard adds (targets: REST <= 100 ms, WebSocket <= 50 ms).

    .venv/bin/python bench/first_line.py [--runs 9]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from burst import docker, project_networks
from run_overhead import LINE, Dockyard, raw_first_line, shell_job
from websockets.asyncio.client import ClientConnection, connect

POLL_SECONDS = 0.005
EXITING_JOB = "echo"  # run_overhead's job
STAYING_JOB = "echo-and-stay"
STAYING_SCRIPT = f"echo {LINE}; sleep 1"


async def tail_until(socket: ClientConnection, start: list[float]) -> float:
    async for message in socket:
        if any(entry["log"] == LINE for entry in json.loads(message).get("data") or []):
            return time.perf_counter() - start[0]
    raise SystemExit("the tail ended without the line")


async def rest_until(http: httpx.AsyncClient, job: str, run_id: str, start: float) -> float:
    params = {"runId": run_id, "textIncludes": LINE}
    while True:
        response = await http.get(f"/v1/projects/bench/jobs/{job}/logs", params=params)
        if response.status_code == 200 and response.json()["data"]:
            return time.perf_counter() - start
        await asyncio.sleep(POLL_SECONDS)


async def one_run(http: httpx.AsyncClient, job: str) -> tuple[float, float]:
    """(REST, WebSocket) seconds from POST to the line, of one run of `job`."""
    token = http.headers["Authorization"].removeprefix("Bearer ")
    ws_url = (
        str(http.base_url).replace("http://", "ws://")
        + f"/v1/projects/bench/jobs/{job}/logs?queryType=tail&lineLimit=1"
    )
    async with connect(ws_url, open_timeout=60) as socket:
        await socket.send(
            json.dumps({"type": "init", "data": {"auth": {"type": "apiToken", "apiToken": token}}})
        )
        await socket.recv()
        start = [time.perf_counter()]
        tailing = asyncio.create_task(tail_until(socket, start))
        response = await http.post(f"/v1/projects/bench/jobs/{job}/runs", json={})
        run_id = response.json()["data"]["id"]
        rest = await rest_until(http, job, run_id, start[0])
        tailed = await asyncio.wait_for(tailing, 30)
    # Concluded (outside the timing) before the next run, so that no container of the job
    # holds the project's network when the server stops.
    while not (await http.get(f"/v1/projects/bench/jobs/{job}/runs/{run_id}")).json()["data"][
        "concluded"
    ]:
        await asyncio.sleep(POLL_SECONDS)
    return rest, tailed


def add_staying_job(dockyard: Dockyard) -> None:
    job = shell_job(STAYING_JOB, STAYING_SCRIPT)
    dockyard.ok(dockyard.http.post("/v1/projects/bench/jobs/manual", json=job))


async def measure(dockyard: Dockyard, runs: int) -> None:
    add_staying_job(dockyard)
    kinds = {EXITING_JOB: ("echo", LINE), STAYING_JOB: ("sh", "-c", STAYING_SCRIPT)}
    async with httpx.AsyncClient(
        base_url=str(dockyard.http.base_url), headers=dict(dockyard.http.headers), timeout=30
    ) as http:
        for job in kinds:
            await one_run(http, job)  # warm-up (the first creates the network), not measured
        network = project_networks(dockyard)[0]
        raw_first_line(network=network)
        host: list[float] = []
        raw: dict[str, list[float]] = {job: [] for job in kinds}
        rest: dict[str, list[float]] = {job: [] for job in kinds}
        tail: dict[str, list[float]] = {job: [] for job in kinds}
        for index in range(runs):
            host.append(raw_first_line())
            for job, command in kinds.items():
                raw[job].append(raw_first_line(network=network, command=command))
                ours = await one_run(http, job)
                rest[job].append(ours[0])
                tail[job].append(ours[1])
                print(
                    f"  {index + 1}/{runs} {job}: raw {raw[job][-1]:.3f} s, REST "
                    f"{rest[job][-1]:.3f} s, WebSocket {tail[job][-1]:.3f} s",
                    flush=True,
                )
    print(
        f"the project network itself: raw median {statistics.median(raw[EXITING_JOB]):.3f} s, "
        f"on the host network {statistics.median(host):.3f} s"
    )
    for job in kinds:
        raw_median = statistics.median(raw[job])
        for label, values, target in (("REST", rest[job], 100), ("WebSocket", tail[job], 50)):
            median = statistics.median(values)
            print(
                f"{job}: first line via {label}: raw median {raw_median:.3f} s, dockyard "
                f"median {median:.3f} s, over raw {(median - raw_median) * 1000:.0f} ms "
                f"(target <= {target} ms)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        dockyard = Dockyard(Path(tmp))
        try:
            asyncio.run(measure(dockyard, options.runs))
        finally:
            dockyard.stop()
            for leftover in project_networks(dockyard):
                docker("network", "rm", leftover)


if __name__ == "__main__":
    main()
