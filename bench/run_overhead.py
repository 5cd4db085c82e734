"""Run overhead: time from asking for a run to the container's first log line, dockyard vs a
raw `docker run`, alternately in one run.

- raw:      `docker run --rm --network host local/busybox:1 echo first-line`, until the
            line is read from its stdout;
- dockyard: POST /jobs/{id}/runs of a job running the same image and command, until its
            first line is stored (read from the database, which the API's log endpoints read).

Prints the medians and the overhead dockyard adds (target: <= 150 ms median).

    .venv/bin/python bench/run_overhead.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from server import DOCKER_HOST, LiveServer

from dockyard.engine.dockercli import DOCKER_CLI

IMAGE = "local/busybox:1"
LINE = "first-line"
POLL_SECONDS = 0.005


def shell_job(name: str, script: str) -> dict[str, Any]:
    """The body of a manual job running `sh -c script` in IMAGE (one core, no retries)."""
    return {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-100-1"},
        "backoffLimit": 0,
        "deployment": {
            "external": {"imagePath": IMAGE},
            "docker": {
                "configType": "customEntrypointCustomCommand",
                "customEntrypoint": "sh",
                "customCommand": "-c " + shlex.quote(script),
            },
        },
    }


class Dockyard(LiveServer):
    """A live `dockyard up` with a job that echoes one line."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(root, env)
        job = {
            "name": "echo",
            "billing": {"deploymentPlan": "nf-compute-100-1"},
            "backoffLimit": 0,
            "deployment": {
                "external": {"imagePath": IMAGE},
                "docker": {"configType": "customCommand", "customCommand": f"echo {LINE}"},
            },
        }
        self.ok(self.http.post("/v1/projects/bench/jobs/manual", json=job))
        self.db = sqlite3.connect(self.data_dir / "dockyard.db")

    def first_line(self) -> float:
        start = time.perf_counter()
        run = self.ok(self.http.post("/v1/projects/bench/jobs/echo/runs", json={}))
        query = "SELECT 1 FROM log_lines WHERE owner_kind = 'run' AND owner_id = ? AND line = ?"
        while self.db.execute(query, (run["id"], LINE)).fetchone() is None:
            time.sleep(POLL_SECONDS)
        return time.perf_counter() - start


def raw_first_line(
    *run_options: str, network: str = "host", command: Sequence[str] = ("echo", LINE)
) -> float:
    """Seconds from `docker run [run_options] IMAGE command` to the container's first stdout
    line (LINE)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [DOCKER_CLI, "run", "--rm", "--network", network, *run_options, IMAGE, *command],
        env=os.environ | {"DOCKER_HOST": DOCKER_HOST},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    elapsed = time.perf_counter() - start
    process.wait()
    if line != LINE:
        raise SystemExit(f"docker run {' '.join(run_options)} printed {line!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        dockyard = Dockyard(Path(tmp))
        try:
            raw_first_line(), dockyard.first_line()  # warm-up, not measured
            raw, ours = [], []
            for index in range(options.runs):
                raw.append(raw_first_line())
                ours.append(dockyard.first_line())
                print(
                    f"  {index + 1}/{options.runs}: raw {raw[-1]:.3f} s, dockyard {ours[-1]:.3f} s"
                )
        finally:
            dockyard.stop()
    raw_median, our_median = statistics.median(raw), statistics.median(ours)
    print(
        f"first log line: raw median {raw_median:.3f} s, dockyard median {our_median:.3f} s, "
        f"overhead {(our_median - raw_median) * 1000:.0f} ms (target <= 150 ms)"
    )


if __name__ == "__main__":
    main()
