"""Crash soak, long mode: SIGKILL dockyard at random moments while builds and runs stream in.

Builds and job runs are submitted through the API while dockyard is killed and started
again, `--cycles` times; then the soak checks that nothing accepted is lost, everything
concludes, no attempt ran twice and no container or build dir is left over (see
tests/reliability/soak.py for what exactly is checked).

- up:     the one `dockyard up` process (API + worker + its local registry) is killed;
- worker: an `api` process stays up, a lone `worker` on the same data dir is killed;
- workers: an `api` and three `worker` processes on one PostgreSQL database (`--postgres URL`
  of a server; a fresh database is made there), a random worker is killed each cycle;
- both:   one soak of `up` and one of `worker`, one after the other.

Prints each soak's counts; exits 1 if any check failed. Bounded: each cycle lasts a few
seconds, the final drain at most `--drain` seconds.

    .venv/bin/python bench/crash_soak.py [--cycles 50] [--mode up|worker|workers|both]
        [--seed N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import postgres_database
from tests.reliability.soak import DRAIN_SECONDS, Mode, SoakReport, run_soak

MODES: dict[str, list[Mode]] = {
    "up": ["up"],
    "worker": ["worker"],
    "workers": ["workers"],
    "both": ["up", "worker"],
}


def soak(mode: Mode, options: argparse.Namespace) -> SoakReport:
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"dockyard-soak-{mode}-"))
        database_url = (
            stack.enter_context(postgres_database(options.postgres)) if mode == "workers" else None
        )
        report = run_soak(
            Path(tmp),
            options.cycles,
            mode,
            options.seed,
            drain_seconds=options.drain,
            database_url=database_url,
        )
    print(report.summary(), flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--mode", choices=sorted(MODES), default="both")
    parser.add_argument("--seed", type=int, default=random.randrange(1_000_000))
    parser.add_argument("--drain", type=float, default=DRAIN_SECONDS, help="seconds at most")
    parser.add_argument("--postgres", help="a PostgreSQL server URL, for --mode workers")
    options = parser.parse_args()
    if options.mode == "workers" and not options.postgres:
        parser.error("--mode workers needs --postgres URL")
    reports = [soak(mode, options) for mode in MODES[options.mode]]
    if not all(report.ok for report in reports):
        sys.exit(1)


if __name__ == "__main__":
    main()
