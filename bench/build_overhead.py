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
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

from dockyard.engine.dockercli import DOCKER_CLI

DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


class Dockyard:
    """A live `dockyard up` on a fresh data dir, with a build service of the bench repo."""

    def __init__(self, root: Path, registry_port: int) -> None:
        self.port = free_port()
        self.registry = f"127.0.0.1:{registry_port}"
        env = os.environ | {
            "DOCKYARD_DATA_DIR": str(root / "dockyard"),
            "DOCKYARD_LISTEN": f"127.0.0.1:{self.port}",
            "DOCKYARD_REGISTRY": self.registry,
            "DOCKYARD_GIT_INSTEADOF": json.dumps({REPO_HOST: f"{root}/"}),
            "DOCKYARD_LOG_LEVEL": "warning",
            "DOCKER_HOST": DOCKER_HOST,
        }
        self.output = (root / "dockyard.log").open("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dockyard", "up"],
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        self._wait_ready()
        self.http.headers["Authorization"] = f"Bearer {self._token()}"
        self._create_service()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.http.get("/ready").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"dockyard did not come up:\n{self._log()}")

    def _log(self) -> str:
        self.output.seek(0)
        return self.output.read()

    def _token(self) -> str:
        match = re.search(r"admin token \(shown once\): (\S+)", self._log())
        if not match:
            raise SystemExit(f"no admin token printed:\n{self._log()}")
        return match[1]

    def _create_service(self) -> None:
        self._ok(self.http.post("/v1/projects", json={"name": "bench"}))
        body = {
            "name": "app",
            "billing": {"buildPlan": "nf-compute-200-8"},
            "vcsData": {"projectUrl": f"{REPO_HOST}acme/app", "projectType": "github"},
            "buildSettings": {
                "dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}
            },
        }
        self._ok(self.http.post("/v1/projects/bench/services/build", json=body))

    @staticmethod
    def _ok(response: httpx.Response) -> dict[str, object]:
        if response.status_code != 200:
            raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
        data: dict[str, object] = response.json()["data"]
        return data

    def build(self, sha: str, cold: bool) -> float:
        if cold:
            self._ok(self.http.delete("/v1/projects/bench/services/app/build-cache"))
        start = time.time()
        build = self._ok(
            self.http.post(
                "/v1/projects/bench/services/app/build", json={"branch": "main", "sha": sha}
            )
        )
        path = f"/v1/projects/bench/services/app/build/{build['id']}"
        while not build["concluded"]:
            time.sleep(POLL_SECONDS)
            build = self._ok(self.http.get(path))
        if build["status"] != "SUCCESS":
            raise SystemExit(f"dockyard build {build['id']} ended {build['status']}: {build}")
        concluded_at = float(build["buildConcludedAt"]) / 1000  # type: ignore[arg-type]
        return concluded_at - start

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


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
        dockyard = Dockyard(root, free_port())
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
