"""Load, long mode: `--clients` concurrent API clients for `--seconds` on a mix of reads and
writes, then `--builds` builds queued at once (concurrency 2). Prints both reports; exits 1
on any failure. The same checks run short in tests/reliability/test_load.py.

    .venv/bin/python bench/load.py --clients 200 --seconds 30 --builds 50
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.load import api_load, build_queue
from tests.runs.conftest import serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--builds", type=int, default=50)
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="dockyard-load-") as tmp,
        serving(Path(tmp), DOCKYARD_MAX_CONCURRENT_BUILDS="2") as live,
    ):
        load = api_load(live, options.clients, options.seconds)
        print(load.summary())
        queue = build_queue(live, options.builds, concurrency=2)
        print(queue.summary())
    failed = load.failures or queue.out_of_order or set(queue.statuses) != {"SUCCESS"}
    for failure in load.failures[:20]:
        print("  ", failure)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
