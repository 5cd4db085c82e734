"""Log tail latency: `--clients` WebSocket tails of one run while its container prints a
line every 0.1 s; for every line each client receives, the time from the line's `ts` (when
dockyard stored it as written) to the frame's arrival. Prints the median and p95 over all.

    .venv/bin/python bench/tail_latency.py --clients 50 --lines 100

Target (issue 10): p95 <= 200 ms with 50 tailing clients."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from run_overhead import shell_job
from server import LiveServer
from websockets.asyncio.client import connect


def ticking_job(lines: int) -> dict[str, object]:
    script = f'i=0; while [ $i -lt {lines} ]; do echo "tick $i"; i=$((i+1)); sleep 0.1; done'
    return shell_job("ticker", script)


async def tail(url: str, token: str, last: str, ready: asyncio.Event) -> list[float]:
    """Follow the job's runs until the line `last`; each line's delay from its `ts` to the
    arrival of its frame, in ms."""
    latencies: list[float] = []
    async with connect(url, open_timeout=60, max_size=None) as socket:
        await socket.send(
            json.dumps({"type": "init", "data": {"auth": {"type": "apiToken", "apiToken": token}}})
        )
        await socket.recv()
        ready.set()
        async for message in socket:
            arrived = time.time()
            for entry in json.loads(message).get("data") or []:
                stored = datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp()
                latencies.append((arrived - stored) * 1000)
                if entry["log"] == last:
                    return latencies
    return latencies


async def measure(server: LiveServer, clients: int, lines: int) -> list[float]:
    """Every tail connected first (the job has no lines yet), then the run starts."""
    token = server.http.headers["Authorization"].removeprefix("Bearer ")
    base = str(server.http.base_url).replace("http://", "ws://")
    url = f"{base}/v1/projects/bench/jobs/ticker/logs?queryType=tail&lineLimit=1"
    events = [asyncio.Event() for _ in range(clients)]
    tails = [asyncio.create_task(tail(url, token, f"tick {lines - 1}", ev)) for ev in events]
    await asyncio.gather(*(event.wait() for event in events))
    server.ok(server.http.post("/v1/projects/bench/jobs/ticker/runs", json={}))
    per_client = await asyncio.wait_for(asyncio.gather(*tails), timeout=lines * 0.1 + 120)
    counts = [len(latencies) for latencies in per_client]
    print(f"{clients} tails received {min(counts)}..{max(counts)} lines each (of {lines + 2})")
    return [latency for latencies in per_client for latency in latencies]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--lines", type=int, default=100)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        server = LiveServer(Path(tmp))
        try:
            server.ok(
                server.http.post("/v1/projects/bench/jobs/manual", json=ticking_job(options.lines))
            )
            latencies = sorted(asyncio.run(measure(server, options.clients, options.lines)))
        finally:
            server.stop()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(
        f"write -> WebSocket frame: median {statistics.median(latencies):.0f} ms, "
        f"p95 {p95:.0f} ms over {len(latencies)} lines (target p95 <= 200 ms)"
    )


if __name__ == "__main__":
    main()
