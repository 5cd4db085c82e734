"""Resource metrics overhead: run start and a 100-run burst, with usage sampling on
(DOCKYARD_USAGE_SAMPLE_SECONDS, default 5 s) and off (0), one server after the other, off and
on alternately for `--rounds` rounds (a shared machine's noise is larger than the effect).

- start: POST /jobs/{id}/runs of a job echoing one line, until that line is stored (median);
- burst: 100 runs of a job that sleeps 1 s, asked for at once, until all have concluded.

Prints both figures of each round and their medians per setting, and how much sampling adds
(goal: within 5 %).

    .venv/bin/python bench/metrics_overhead.py [--starts 10] [--burst 100] [--interval 5]
                                               [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from run_overhead import IMAGE, POLL_SECONDS, Dockyard

SLEEPER = {
    "name": "sleeper",
    "billing": {"deploymentPlan": "nf-compute-10"},
    "backoffLimit": 0,
    "deployment": {
        "external": {"imagePath": IMAGE},
        "docker": {"configType": "customCommand", "customCommand": "sleep 1"},
    },
}


def burst(dockyard: Dockyard, count: int) -> float:
    """Seconds from asking for `count` runs at once until every one has concluded."""
    start = time.perf_counter()
    ids = [
        dockyard.ok(dockyard.http.post("/v1/projects/bench/jobs/sleeper/runs", json={}))["id"]
        for _ in range(count)
    ]
    query = "SELECT count(*) FROM job_runs WHERE job_id = 'sleeper' AND concluded_at IS NOT NULL"
    while dockyard.db.execute(query).fetchone()[0] < len(ids):
        time.sleep(POLL_SECONDS * 10)
    return time.perf_counter() - start


def measure(interval: float, starts: int, runs: int) -> tuple[float, float, int]:
    """(median start seconds, burst seconds, samples stored) with that sampling interval."""
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        dockyard = Dockyard(Path(tmp), {"DOCKYARD_USAGE_SAMPLE_SECONDS": str(interval)})
        try:
            dockyard.ok(dockyard.http.post("/v1/projects/bench/jobs/manual", json=SLEEPER))
            dockyard.first_line()  # warm-up, not measured
            first_lines = [dockyard.first_line() for _ in range(starts)]
            took = burst(dockyard, runs)
            samples = dockyard.db.execute("SELECT count(*) FROM usage_samples").fetchone()[0]
        finally:
            dockyard.stop()
    return statistics.median(first_lines), took, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    results: dict[str, list[tuple[float, float, int]]] = {"off": [], "on": []}
    for round_number in range(options.rounds):
        for label, interval in (("off", 0.0), ("on", options.interval)):
            results[label].append(measure(interval, options.starts, options.burst))
            start, took, samples = results[label][-1]
            print(
                f"round {round_number + 1}, sampling {label:3} ({interval:g} s): start median "
                f"{start:.3f} s, {options.burst}-run burst {took:.1f} s, {samples} samples stored"
            )
    off_start, off_burst = (statistics.median(r[i] for r in results["off"]) for i in (0, 1))
    on_start, on_burst = (statistics.median(r[i] for r in results["on"]) for i in (0, 1))
    print(
        f"medians: off start {off_start:.3f} s, burst {off_burst:.1f} s; "
        f"on start {on_start:.3f} s, burst {on_burst:.1f} s"
    )
    start_change, burst_change = (on_start / off_start - 1) * 100, (on_burst / off_burst - 1) * 100
    print(
        f"sampling adds {(on_start - off_start) * 1000:+.0f} ms to a start ({start_change:+.1f} %) "
        f"and {burst_change:+.1f} % to the burst (goal: within 5 %)"
    )


if __name__ == "__main__":
    main()
