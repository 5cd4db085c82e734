"""Build bursts: N builds of N distinct commits started at once, dockyard vs the same N raw
builds driven with the same concurrency, alternately in one run.

- raw:      for each commit, at most `--concurrency` at a time (a thread pool): git init +
            shallow fetch of the sha + checkout, `docker build`, `docker push` to the live
            server's registry with its login (build_overhead.py's `raw_build`, BuildKit);
- dockyard: N x POST /services/{id}/build with the sha, on a live `dockyard up` with
            DOCKYARD_MAX_CONCURRENT_BUILDS = `--concurrency`, until every build has
            concluded (the last `buildConcludedAt`).

Each commit changes the sources, so every build runs its steps after the COPY and pushes a
new layer (BuildKit's cache serves the base image only). Each round builds commits of its
own: a build of a sha built before would find everything cached.

Prints each round, the medians and the ratio dockyard / raw (target: <= 1.2; issue 24).

    .venv/bin/python bench/build_burst.py [--builds 50] [--concurrency 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from build_overhead import Dockyard, make_repo, raw_build, run
from burst import listed, print_round, report

POLL_SECONDS = 1.0
ENGINE = "buildkit"
BUILDS = f"/v1/projects/bench/services/app-{ENGINE}/build"


def add_commits(root: Path, bare: Path, count: int) -> list[str]:
    """`count` new commits on make_repo's work tree, each a branch tip of `bare` (fetched by
    sha as a tip); their shas."""
    work, shas = root / "work", []
    for _ in range(count):
        (work / "src" / "change.txt").write_text(f"{time.time_ns()}\n")
        run(["git", "add", "--all"], work)
        run(["git", "commit", "--quiet", "-m", "change"], work)
        sha = run(["git", "rev-parse", "HEAD"], work)
        run(["git", "push", "--quiet", str(bare), f"HEAD:refs/heads/b-{sha[:12]}"], work)
        shas.append(sha)
    return shas


def raw_burst(
    bare: Path, shas: list[str], server: Dockyard, scratch: Path, concurrency: int
) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda sha: raw_build(ENGINE, bare, sha, server, scratch, False), shas))
    return time.perf_counter() - started


def dockyard_burst(server: Dockyard, shas: list[str]) -> float:
    """Seconds from the first POST to the last build's conclusion (the server's clock is this
    machine's)."""
    started = time.time()
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda sha: start_build(server, sha), shas))
    concluded: dict[str, float] = {}
    while len(concluded) < len(ids):
        time.sleep(POLL_SECONDS)
        concluded |= concluded_builds(server, ids)
    return max(concluded.values()) - started


def start_build(server: Dockyard, sha: str) -> str:
    body = {"branch": f"b-{sha[:12]}", "sha": sha}
    build_id: str = server.ok(server.http.post(BUILDS, json=body))["id"]
    return build_id


def concluded_builds(server: Dockyard, waiting: set[str]) -> dict[str, float]:
    """Those of `waiting` that have concluded -> when (all of them SUCCESS, or the benchmark
    ends)."""
    done = {}
    for build in listed(server.http, BUILDS, "builds"):
        if build["id"] in waiting and build["concluded"]:
            if build["status"] != "SUCCESS":
                raise SystemExit(f"build {build['id']}: {build['status']} {build}")
            done[build["id"]] = float(build["buildConcludedAt"]) / 1000
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--builds", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    options = parser.parse_args()
    # The live server's environment is this one's (build_overhead.Dockyard sets the rest).
    os.environ["DOCKYARD_MAX_CONCURRENT_BUILDS"] = str(options.concurrency)
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        root = Path(tmp)
        bare, _ = make_repo(root)
        server = Dockyard(root)
        scratch = root / "raw"
        scratch.mkdir()
        raw_of = partial(raw_burst, bare, server=server, scratch=scratch)
        try:
            warm = add_commits(root, bare, 2 * options.concurrency)  # warm-up, not measured
            raw_of(warm[: options.concurrency], concurrency=options.concurrency)
            dockyard_burst(server, warm[options.concurrency :])
            raw, ours = [], []
            for index in range(options.rounds):
                shas = add_commits(root, bare, 2 * options.builds)
                raw.append(raw_of(shas[: options.builds], concurrency=options.concurrency))
                ours.append(dockyard_burst(server, shas[options.builds :]))
                print_round(index, options.rounds, raw[-1], ours[-1])
        finally:
            server.stop()
    report(f"{options.builds} builds at concurrency {options.concurrency}", raw, ours)


if __name__ == "__main__":
    main()
