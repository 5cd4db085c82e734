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
from run_overhead import LINE, Dockyard, raw_first_line
from websockets.asyncio.client import ClientConnection, connect

POLL_SECONDS = 0.005


async def tail_until(socket: ClientConnection, start: list[float]) -> float:
    async for message in socket:
        if any(entry["log"] == LINE for entry in json.loads(message).get("data") or []):
            return time.perf_counter() - start[0]
    raise SystemExit("the tail ended without the line")


async def rest_until(http: httpx.AsyncClient, run_id: str, start: float) -> float:
    params = {"runId": run_id, "textIncludes": LINE}
    while True:
        response = await http.get("/v1/projects/bench/jobs/echo/logs", params=params)
        if response.status_code == 200 and response.json()["data"]:
            return time.perf_counter() - start
        await asyncio.sleep(POLL_SECONDS)


async def one_run(dockyard: Dockyard, http: httpx.AsyncClient, ws_url: str) -> tuple[float, float]:
    """(REST, WebSocket) seconds from POST to the line, of one run."""
    token = http.headers["Authorization"].removeprefix("Bearer ")
    async with connect(ws_url, open_timeout=60) as socket:
        await socket.send(
            json.dumps({"type": "init", "data": {"auth": {"type": "apiToken", "apiToken": token}}})
        )
        await socket.recv()
        start = [time.perf_counter()]
        tailing = asyncio.create_task(tail_until(socket, start))
        response = await http.post("/v1/projects/bench/jobs/echo/runs", json={})
        run_id = response.json()["data"]["id"]
        rest = await rest_until(http, run_id, start[0])
        return rest, await asyncio.wait_for(tailing, 30)


async def measure(dockyard: Dockyard, runs: int) -> None:
    base = str(dockyard.http.base_url)
    ws_url = (
        base.replace("http://", "ws://")
        + "/v1/projects/bench/jobs/echo/logs?queryType=tail&lineLimit=1"
    )
    async with httpx.AsyncClient(
        base_url=base, headers=dict(dockyard.http.headers), timeout=30
    ) as http:
        await one_run(dockyard, http, ws_url)  # warm-up (creates the network), not measured
        network = project_networks(dockyard)[0]
        raw_first_line(network=network)
        raw, host, rest, tail = [], [], [], []
        for index in range(runs):
            raw.append(raw_first_line(network=network))
            host.append(raw_first_line())
            ours = await one_run(dockyard, http, ws_url)
            rest.append(ours[0])
            tail.append(ours[1])
            print(
                f"  {index + 1}/{runs}: raw {raw[-1]:.3f} s (host network {host[-1]:.3f} s), "
                f"REST {rest[-1]:.3f} s, WebSocket {tail[-1]:.3f} s",
                flush=True,
            )
    raw_median = statistics.median(raw)
    print(
        f"the project network itself: raw median {raw_median:.3f} s, on the host network "
        f"{statistics.median(host):.3f} s"
    )
    for label, values, target in (("REST", rest, 100), ("WebSocket", tail, 50)):
        median = statistics.median(values)
        print(
            f"first line via {label}: raw median {raw_median:.3f} s, dockyard median "
            f"{median:.3f} s, over raw {(median - raw_median) * 1000:.0f} ms "
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
