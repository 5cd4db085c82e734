"""The cost of gVisor: job containers under `runsc` against `runc`, alternately in one run.

- start:     `docker run --rm --runtime R local/busybox:1 echo first-line`, until the line is
             read from its stdout;
- dockyard:  POST /jobs/{id}/runs of a job echoing that line until it is stored, on two live
             `dockyard up`, one with DOCKYARD_CONTAINER_RUNTIME=runc, one with runsc;
- loop:      a CPU-bound shell loop (few system calls), the whole `docker run`;
- md5sum:    `head -c 300M /dev/zero | md5sum`, CPU and a system call per pipe buffer.

The CPU-bound rows also give the work alone: the median less the runtime's median start.
Prints the medians and the runsc / runc ratios.

    .venv/bin/python bench/run_runtime.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from run_overhead import IMAGE, Dockyard, raw_first_line
from server import DOCKER_HOST

from dockyard.engine.dockercli import DOCKER_CLI

RUNTIMES = ("runc", "runsc")
LOOP = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"
MD5SUM = "head -c 300000000 /dev/zero | md5sum"


def docker_run(runtime: str, *command: str) -> list[str]:
    return [DOCKER_CLI, "run", "--rm", "--network", "none", "--runtime", runtime, IMAGE, *command]


def first_line(runtime: str) -> float:
    return raw_first_line("--runtime", runtime, network="none")


def whole_run(runtime: str, script: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        docker_run(runtime, "sh", "-c", script),
        env=os.environ | {"DOCKER_HOST": DOCKER_HOST},
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def alternately(measure: Callable[[str], float], runs: int, label: str) -> dict[str, float]:
    """The median of `runs` measures under each runtime, taken in turns after one unmeasured
    round each."""
    for runtime in RUNTIMES:
        measure(runtime)
    times: dict[str, list[float]] = {runtime: [] for runtime in RUNTIMES}
    for index in range(runs):
        for runtime in RUNTIMES:
            times[runtime].append(measure(runtime))
        figures = ", ".join(f"{runtime} {times[runtime][-1]:.3f} s" for runtime in RUNTIMES)
        print(f"  {label} {index + 1}/{runs}: {figures}", flush=True)
    return {runtime: statistics.median(values) for runtime, values in times.items()}


def report(label: str, medians: dict[str, float], start: dict[str, float] | None = None) -> None:
    runc, runsc = medians["runc"], medians["runsc"]
    line = (
        f"{label}: runc {runc:.3f} s, runsc {runsc:.3f} s, "
        f"difference {(runsc - runc) * 1000:.0f} ms, ratio {runsc / runc:.2f}"
    )
    if start is not None:
        work_runc, work_runsc = runc - start["runc"], runsc - start["runsc"]
        line += (
            f"; the work alone: runc {work_runc:.3f} s, runsc {work_runsc:.3f} s, "
            f"ratio {work_runsc / work_runc:.2f}"
        )
    print(line)


def through_dockyard(root: Path, runs: int) -> dict[str, float]:
    servers: dict[str, Dockyard] = {}
    try:
        for runtime in RUNTIMES:
            (root / runtime).mkdir()
            servers[runtime] = Dockyard(root / runtime, {"DOCKYARD_CONTAINER_RUNTIME": runtime})
        return alternately(lambda runtime: servers[runtime].first_line(), runs, "dockyard")
    finally:
        for server in servers.values():
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    start = alternately(first_line, options.runs, "start")
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        dockyard = through_dockyard(Path(tmp), options.runs)
    loop = alternately(lambda runtime: whole_run(runtime, LOOP), options.runs, "loop")
    md5sum = alternately(lambda runtime: whole_run(runtime, MD5SUM), options.runs, "md5sum")
    report("first line, docker run", start)
    report("first line, dockyard run", dockyard)
    report("CPU loop", loop, start)
    report("md5sum of 300 MB", md5sum, start)


if __name__ == "__main__":
    main()
