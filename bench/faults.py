"""Fault injection, long mode: the cases of tests/faults, run again and again for a chosen time.

Each case injects one fault into a live dockyard on the real part (a second Docker engine
restarted, the registry stopped or its storage filled, PostgreSQL restarted or cut off behind
a paused proxy, the SQLite file locked, the data dir full, a worker's clock stepped) and
asserts what the user sees: nothing lost, nothing run twice, nothing stuck. A passing round of
a case is a cycle with 0 lost, 0 duplicated, 0 stuck; a failing one is reported with its
assertion, and the loop goes on to the end.

    .venv/bin/python bench/faults.py [--minutes 30] [-k EXPRESSION] [--postgres URL]

`-k` picks cases as pytest does (say `-k "engine or registry"`); `--postgres` is the server
of the PostgreSQL cases (else DOCKYARD_TEST_POSTGRES_URL; without either they are skipped).
Prints one row per case: rounds, passed, failed, skipped; exits 1 if any round failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_round(selection: list[str], env: dict[str, str]) -> list[tuple[str, str, str]]:
    """Every case of tests/faults once: (case, outcome, message) from pytest's JUnit report."""
    with tempfile.TemporaryDirectory(prefix="dockyard-faults-") as tmp:
        report = Path(tmp) / "report.xml"
        subprocess.run(
            [
                *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"),
                *("tests/faults", *selection, f"--junitxml={report}"),
            ],
            cwd=ROOT,
            env=env,
            check=False,
        )
        if not report.exists():
            return [("(the round itself)", "failed", "pytest wrote no report")]
        return [outcome_of(case) for case in ElementTree.parse(report).iter("testcase")]


def outcome_of(case: ElementTree.Element) -> tuple[str, str, str]:
    name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
    for kind in ("failure", "error"):
        found = case.find(kind)
        if found is not None:
            return name, "failed", (found.get("message") or "").splitlines()[0][:200]
    if case.find("skipped") is not None:
        return name, "skipped", ""
    return name, "passed", ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("-k", dest="expression", help="pytest -k: which cases")
    parser.add_argument("--postgres", help="a PostgreSQL server URL, for the PostgreSQL cases")
    options = parser.parse_args()
    env = dict(os.environ)
    if options.postgres:
        env["DOCKYARD_TEST_POSTGRES_URL"] = options.postgres
    selection = ["-k", options.expression] if options.expression else []
    counts: dict[str, Counter[str]] = {}
    failures: list[str] = []
    rounds = 0
    ends_at = time.monotonic() + options.minutes * 60
    while time.monotonic() < ends_at:
        rounds += 1
        for case, outcome, message in one_round(selection, env):
            counts.setdefault(case, Counter())[outcome] += 1
            if outcome == "failed":
                failures.append(f"round {rounds}: {case}: {message}")
    print(f"\n{rounds} rounds in {options.minutes:g} min\n")
    print("| case | rounds | passed (0 lost / 0 duplicated / 0 stuck) | failed | skipped |")
    print("|---|---|---|---|---|")
    for case, seen in sorted(counts.items()):
        print(
            f"| {case} | {sum(seen.values())} | {seen['passed']} | {seen['failed']} "
            f"| {seen['skipped']} |"
        )
    for failure in failures:
        print(failure)
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
