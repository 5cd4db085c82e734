"""Log ingestion: a chatty job as a raw `docker run` and as a dockyard run, alternately in one
run.

- raw:      `docker run --rm --network host local/busybox:1 sh -c SCRIPT`, its stdout read to
            the end;
- dockyard: POST /jobs/{id}/runs of a job running the same script, until the run has
            concluded (a run concludes once all its lines are stored), then its line count
            checked through the database.

Three floods: 100,000 short lines echoed by a shell loop (as issue 24 measured) and written
by `seq` at once, and 10 MiB in 10 lines. Prints the medians, the ratios
(target <= 1.3) and the worker's peak RSS (`dockyard up`'s VmHWM).

    .venv/bin/python bench/log_ingest.py [--runs 5] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from run_overhead import IMAGE, shell_job
from server import DOCKER_HOST, LiveServer

from dockyard.engine.dockercli import DOCKER_CLI

POLL_SECONDS = 0.01
LOOP = "i=0; while [ $i -lt 100000 ]; do echo line $i; i=$((i+1)); done"
FLOODS = {
    "100k lines (a shell loop)": (LOOP, 100_000),
    "100k lines (seq, one burst)": ("seq 100000", 100_000),
    "10 MiB in 10 lines": (
        "for i in 0 1 2 3 4 5 6 7 8 9; do head -c 1048576 /dev/zero | tr '\\0' x; echo; done",
        10,
    ),
}


class Flooder(LiveServer):
    """A live `dockyard up` with one job per flood."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(root, env)
        for index, (script, _) in enumerate(FLOODS.values()):
            job = shell_job(f"flood{index}", script)
            self.ok(self.http.post("/v1/projects/bench/jobs/manual", json=job))
        postgres = (env or {}).get("DOCKYARD_DATABASE_URL")
        self.db: Any = (
            psycopg.connect(postgres.replace("+psycopg", ""))
            if postgres
            else sqlite3.connect(self.data_dir / "dockyard.db")
        )

    def flood(self, index: int, lines: int) -> float:
        start = time.perf_counter()
        run = self.ok(self.http.post(f"/v1/projects/bench/jobs/flood{index}/runs", json={}))
        path = f"/v1/projects/bench/jobs/flood{index}/runs/{run['id']}"
        while (status := self.ok(self.http.get(path))["status"]) not in ("SUCCESS", "FAILED"):
            time.sleep(POLL_SECONDS)
        elapsed = time.perf_counter() - start
        if status != "SUCCESS":
            raise SystemExit(f"run {run['id']} {status}")
        self.check_stored(str(run["id"]), lines)
        return elapsed

    def check_stored(self, run_id: str, lines: int) -> None:
        query = (
            "SELECT count(*) FROM log_lines WHERE owner_kind = 'run' AND owner_id = ? "
            "AND from_container"
        )
        if not isinstance(self.db, sqlite3.Connection):
            query = query.replace("?", "%s")
        stored = self.db.execute(query, (run_id,)).fetchone()[0]
        self.db.commit()
        if stored != lines:
            raise SystemExit(f"run {run_id}: {stored} container lines stored, not {lines}")

    def peak_rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(int(row.split()[1]) for row in status.splitlines() if row.startswith("VmHWM"))
        return kib / 1024


def raw_flood(script: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [DOCKER_CLI, "run", "--rm", "--network", "host", IMAGE, "sh", "-c", script],
        env=os.environ | {"DOCKER_HOST": DOCKER_HOST},
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", help="a database URL for dockyard instead of SQLite")
    parser.add_argument("--only", default="", help="only the floods whose label contains this")
    options = parser.parse_args()
    env = {"DOCKYARD_DATABASE_URL": options.postgres} if options.postgres else None
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        dockyard = Flooder(Path(tmp), env)
        try:
            for index, (label, (script, lines)) in enumerate(FLOODS.items()):
                if options.only not in label:
                    continue
                raw_flood(script), dockyard.flood(index, lines)  # warm-up, not measured
                raw, ours = [], []
                for round_ in range(options.runs):
                    raw.append(raw_flood(script))
                    ours.append(dockyard.flood(index, lines))
                    print(
                        f"  {label} {round_ + 1}/{options.runs}: raw {raw[-1]:.3f} s, "
                        f"dockyard {ours[-1]:.3f} s",
                        flush=True,
                    )
                raw_median, our_median = statistics.median(raw), statistics.median(ours)
                print(
                    f"{label}: raw median {raw_median:.3f} s, dockyard median "
                    f"{our_median:.3f} s, ratio {our_median / raw_median:.2f} (target <= 1.3)"
                )
            print(f"dockyard up peak RSS: {dockyard.peak_rss_mib():.0f} MiB")
        finally:
            dockyard.stop()


if __name__ == "__main__":
    main()
