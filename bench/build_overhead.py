"""Build overhead: dockyard vs the raw tools, alternately, in one run.

Builds one repository at one sha N times each way:
- raw:      git init + shallow fetch of the sha + checkout, `docker build`, `docker push`;
- dockyard: POST /services/{id}/build on a live `dockyard up`, until the build concludes.

Both push to the same local registry. `warm` keeps BuildKit's cache (steps are cached; the
push finds its layers present); `cold` rebuilds every step (`--no-cache` for the raw build,
DELETE .../build-cache before each dockyard build) so each push uploads a new layer.

Prints the median of each and the ratio dockyard / raw (targets: <= 1.05 warm, <= 1.10 cold).
dockyard's time runs from just before the POST to the build's `buildConcludedAt` (the server's
clock is this machine's). The client polls slowly so that its requests do not steal CPU from
the build on a small machine.

    .venv/bin/python bench/build_overhead.py [--runs 5] [--mode warm|cold|both]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

from server import DOCKER_HOST, LiveServer

from dockyard.engine.dockercli import DOCKER_CLI

REPO_HOST = "https://git.bench.test/"
POLL_SECONDS = 0.5
DOCKERFILE = """FROM local/busybox:1
COPY . /src/
RUN dd if=/dev/urandom of=/blob bs=1M count=16 2>/dev/null && sha256sum /blob > /blob.sum
RUN find /src -type f | sort > /manifest.txt
"""
GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@dockyard.test",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@dockyard.test",
}


def run(args: list[str], cwd: Path | None = None) -> str:
    env = GIT_ENV | {"DOCKER_HOST": DOCKER_HOST, "DOCKER_BUILDKIT": "1"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout.strip()


def make_repo(root: Path) -> tuple[Path, str]:
    """A bare repo `root/acme/app.git` with one commit of a small source tree; its sha."""
    bare, work = root / "acme" / "app.git", root / "work"
    bare.mkdir(parents=True)
    work.mkdir()
    run(["git", "init", "--quiet", "--bare"], bare)
    run(["git", "init", "--quiet", "--initial-branch=main"], work)
    (work / "Dockerfile").write_text(DOCKERFILE)
    for index in range(50):
        (work / "src" / f"module{index}.py").parent.mkdir(exist_ok=True)
        (work / "src" / f"module{index}.py").write_text(f"VALUE = {index}\n" * 200)
    run(["git", "add", "--all"], work)
    run(["git", "commit", "--quiet", "-m", "bench"], work)
    sha = run(["git", "rev-parse", "HEAD"], work)
    run(["git", "push", "--quiet", str(bare), "main"], work)
    return bare, sha


class Dockyard(LiveServer):
    """A live `dockyard up` with a build service of the bench repo."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, {"DOCKYARD_GIT_INSTEADOF": json.dumps({REPO_HOST: f"{root}/"})})
        body = {
            "name": "app",
            "billing": {"buildPlan": "nf-compute-200-8"},
            "vcsData": {"projectUrl": f"{REPO_HOST}acme/app", "projectType": "github"},
            "buildSettings": {
                "dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}
            },
        }
        self.ok(self.http.post("/v1/projects/bench/services/build", json=body))

    def build(self, sha: str, cold: bool) -> float:
        if cold:
            self.ok(self.http.delete("/v1/projects/bench/services/app/build-cache"))
        start = time.time()
        build = self.ok(
            self.http.post(
                "/v1/projects/bench/services/app/build", json={"branch": "main", "sha": sha}
            )
        )
        path = f"/v1/projects/bench/services/app/build/{build['id']}"
        while not build["concluded"]:
            time.sleep(POLL_SECONDS)
            build = self.ok(self.http.get(path))
        if build["status"] != "SUCCESS":
            raise SystemExit(f"dockyard build {build['id']} ended {build['status']}: {build}")
        concluded_at = float(build["buildConcludedAt"]) / 1000  # type: ignore[arg-type]
        return concluded_at - start


def raw_build(bare: Path, sha: str, registry: str, scratch: Path, cold: bool) -> float:
    """What a person would run by hand for the same result."""
    source = scratch / uuid.uuid4().hex
    source.mkdir()
    image = f"{registry}/bench/raw:{sha}"
    start = time.perf_counter()
    run(["git", "init", "--quiet"], source)
    run(["git", "fetch", "--quiet", "--no-tags", "--depth=1", "--", str(bare), sha], source)
    run(["git", "checkout", "--quiet", "--detach", sha], source)
    shutil.rmtree(source / ".git")
    no_cache = ["--no-cache"] if cold else []
    # --network=host as dockyard builds: this machine has no bridge network.
    run([DOCKER_CLI, "build", "--quiet", "--network=host", *no_cache, "-t", image, "."], source)
    run([DOCKER_CLI, "push", "--quiet", image])
    elapsed = time.perf_counter() - start
    shutil.rmtree(source)
    return elapsed


def measure(
    label: str, runs: int, raw: Callable[[], float], dockyard: Callable[[], float]
) -> float:
    raw(), dockyard()  # one unmeasured round each: BuildKit and the registry warm up
    raw_times, dockyard_times = [], []
    for index in range(runs):
        raw_times.append(raw())
        dockyard_times.append(dockyard())
        print(
            f"  {label} {index + 1}/{runs}: raw {raw_times[-1]:.3f} s, "
            f"dockyard {dockyard_times[-1]:.3f} s",
            flush=True,
        )
    raw_median = statistics.median(raw_times)
    dockyard_median = statistics.median(dockyard_times)
    ratio = dockyard_median / raw_median
    print(
        f"{label}: raw median {raw_median:.3f} s, dockyard median {dockyard_median:.3f} s, "
        f"ratio {ratio:.3f}",
        flush=True,
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", choices=["warm", "cold", "both"], default="both")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        root = Path(tmp)
        bare, sha = make_repo(root)
        dockyard = Dockyard(root)
        scratch = root / "raw"
        scratch.mkdir()
        try:
            modes = ["warm", "cold"] if options.mode == "both" else [options.mode]
            ratios = {
                mode: measure(
                    mode,
                    options.runs,
                    partial(raw_build, bare, sha, dockyard.registry, scratch, mode == "cold"),
                    partial(dockyard.build, sha, mode == "cold"),
                )
                for mode in modes
            }
        finally:
            dockyard.stop()
    print("ratios (dockyard / raw): " + ", ".join(f"{m} {r:.3f}" for m, r in ratios.items()))


if __name__ == "__main__":
    main()
