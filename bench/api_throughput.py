"""API speed: requests/s of GET /jobs/{id} and POST /jobs/manual against a bare ASGI endpoint
on the same server stack (uvicorn + FastAPI, one process, measured alternately in one run),
and the latency of GET /jobs with 10,000 jobs in the project (first page and a deep cursor
page), on SQLite and, with --postgres URL (an empty database), on PostgreSQL after it.

    .venv/bin/python bench/api_throughput.py [--seconds 5] [--clients 16] [--jobs 10000]
        [--postgres postgresql+psycopg://user:password@host/empty_database]

Targets (issue 24): throughput ratio >= 0.7, p95 of GET /jobs <= 20 ms, on each database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from server import LiveServer, free_port

BENCH_DIR = Path(__file__).resolve().parent
Request = Callable[[httpx.AsyncClient, int], httpx.Request]
NAMES = itertools.count()  # unique job names across every round
RATIO_TARGET = 0.7
P95_TARGET_MS = 20.0


def job_body(name: str) -> dict[str, object]:
    return {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {"external": {"imagePath": "local/busybox:1"}},
    }


async def rate(
    base_url: str, headers: dict[str, str], request: Request, seconds: float, clients: int
) -> float:
    """Answers per second from `clients` concurrent connections for `seconds`; any answer but
    200 ends the benchmark."""
    counter = itertools.count()
    done = 0
    deadline = time.monotonic() + seconds

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            response = await client.send(request(client, next(counter)))
            if response.status_code != 200:
                raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
            done += 1

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        return done / (time.monotonic() - started)


class BareServer:
    def __init__(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bare_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=BENCH_DIR,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/bare/x").status_code == 200:
                    return
            time.sleep(0.1)
        raise SystemExit("the bare server did not come up")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def compare(
    label: str,
    dockyard: tuple[str, dict[str, str], Request],
    bare: tuple[str, Request],
    options: argparse.Namespace,
) -> None:
    ours, raw = [], []
    for _ in range(options.rounds):
        raw.append(asyncio.run(rate(bare[0], {}, bare[1], options.seconds, options.clients)))
        ours.append(asyncio.run(rate(*dockyard, options.seconds, options.clients)))
    ratio = statistics.median(ours) / statistics.median(raw)
    print(
        f"{label}: bare {statistics.median(raw):.0f}/s, dockyard {statistics.median(ours):.0f}/s,"
        f" ratio {ratio:.2f} (target >= {RATIO_TARGET})"
    )


def latency(
    http: httpx.Client, path: str, params: dict[str, str], samples: int
) -> tuple[float, float]:
    """(median, p95) in ms of sequential GETs."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        LiveServer.ok(http.get(path, params=params))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def fill(server: LiveServer, count: int) -> None:
    """`count` jobs in the project, created through the API by 16 concurrent clients."""
    headers = dict(server.http.headers)

    def create(client: httpx.AsyncClient, n: int) -> httpx.Request:
        return client.build_request(
            "POST", "/v1/projects/bench/jobs/manual", json=job_body(f"fill {n}")
        )

    async def run() -> None:
        queue = iter(range(count))
        async with httpx.AsyncClient(
            base_url=str(server.http.base_url), headers=headers, timeout=60
        ) as client:

            async def worker() -> None:
                for n in queue:
                    LiveServer.ok(await client.send(create(client, n)))

            await asyncio.gather(*(worker() for _ in range(16)))

    started = time.monotonic()
    asyncio.run(run())
    print(f"created {count} jobs in {time.monotonic() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--postgres", help="a PostgreSQL URL (an empty database) to measure too, after SQLite"
    )
    options = parser.parse_args()
    print("SQLite:")
    measure(options, {})
    if options.postgres:
        print("PostgreSQL:")
        measure(options, {"DOCKYARD_DATABASE_URL": options.postgres})


def measure(options: argparse.Namespace, env: dict[str, str]) -> None:
    """Every figure of dockyard on one database (`env` names it; SQLite without)."""
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        server, bare = LiveServer(Path(tmp), env), BareServer()
        try:
            url, headers = str(server.http.base_url), dict(server.http.headers)
            LiveServer.ok(
                server.http.post("/v1/projects/bench/jobs/manual", json=job_body("read me"))
            )
            compare(
                "GET /jobs/{id}",
                (
                    url,
                    headers,
                    lambda c, n: c.build_request("GET", "/v1/projects/bench/jobs/read-me"),
                ),
                (bare.url, lambda c, n: c.build_request("GET", "/bare/read-me")),
                options,
            )
            compare(
                "POST /jobs/manual",
                (
                    url,
                    headers,
                    lambda c, n: c.build_request(
                        "POST",
                        "/v1/projects/bench/jobs/manual",
                        json=job_body(f"post {next(NAMES)}"),
                    ),
                ),
                (
                    bare.url,
                    lambda c, n: c.build_request("POST", "/bare", json=job_body(f"post {n}")),
                ),
                options,
            )
            fill(server, options.jobs)
            median, p95 = latency(server.http, "/v1/projects/bench/jobs", {}, options.samples)
            print(
                f"GET /jobs (first page of 50, {options.jobs} jobs): median {median:.1f} ms,"
                f" p95 {p95:.1f} ms (target <= {P95_TARGET_MS:.0f} ms)"
            )
            deep = deep_cursor(server)
            median, p95 = latency(
                server.http, "/v1/projects/bench/jobs", {"cursor": deep}, options.samples
            )
            print(
                f"GET /jobs (a page near the end): median {median:.1f} ms, p95 {p95:.1f} ms"
                f" (target <= {P95_TARGET_MS:.0f} ms)"
            )
        finally:
            bare.stop()
            server.stop()


def deep_cursor(server: LiveServer) -> str:
    """The cursor of a page near the end of the list (walked with 100 per page)."""
    cursor, last = None, ""
    while True:
        response = server.http.get(
            "/v1/projects/bench/jobs",
            params={"per_page": 100} | ({"cursor": cursor} if cursor else {}),
        )
        pagination = response.json()["pagination"]
        if not pagination["hasNextPage"]:
            return last
        last, cursor = cursor or "", pagination["cursor"]


if __name__ == "__main__":
    main()
