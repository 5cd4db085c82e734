"""Resource metrics overhead: run start and a 100-run burst, with usage sampling on
(DOCKYARD_USAGE_SAMPLE_SECONDS, default 5 s) and off (0), one server after the other.

- start: POST /jobs/{id}/runs of a job echoing one line, until that line is stored (median);
- burst: 100 runs of a job that sleeps 1 s, asked for at once, until all have concluded.

Prints both figures for each setting and how much sampling adds (goal: within 5 %).

    .venv/bin/python bench/metrics_overhead.py [--starts 10] [--burst 100] [--interval 5]
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
    options = parser.parse_args()
    results = {}
    for label, interval in (("off", 0.0), ("on", options.interval)):
        results[label] = measure(interval, options.starts, options.burst)
        start, took, samples = results[label]
        print(
            f"sampling {label:3} ({interval:g} s): start median {start:.3f} s, "
            f"{options.burst}-run burst {took:.1f} s, {samples} samples stored"
        )
    (off_start, off_burst, _), (on_start, on_burst, _) = results["off"], results["on"]
    start_change, burst_change = (on_start / off_start - 1) * 100, (on_burst / off_burst - 1) * 100
    print(
        f"sampling adds {(on_start - off_start) * 1000:+.0f} ms to a start ({start_change:+.1f} %) "
        f"and {burst_change:+.1f} % to the burst (goal: within 5 %)"
    )


if __name__ == "__main__":
    main()
