"""Build overhead: dockyard vs the raw tools, alternately, in one run.

Builds one repository at one sha N times each way, with each build engine:
- raw:      git init + shallow fetch of the sha + checkout, then `docker build` + `docker push`
            (buildkit) or `buildah bud` + `buildah push` (kaniko, dockyard's buildah flags);
- dockyard: POST /services/{id}/build on a live `dockyard up`, until the build concludes.

Both push to the same local registry, with dockyard's login. `warm` keeps the layer cache
(steps are cached; the push finds its layers present); `cold` rebuilds every step
(`--no-cache` for the raw build, DELETE .../build-cache before each dockyard build) so each
push uploads a new layer.

Prints the median of each and the ratio dockyard / raw (targets: <= 1.05 warm, <= 1.10 cold).
dockyard's time runs from just before the POST to the build's `buildConcludedAt` (the server's
clock is this machine's). The client polls slowly so that its requests do not steal CPU from
the build on a small machine.

    .venv/bin/python bench/build_overhead.py [--runs 5] [--mode warm|cold|both]
        [--engine buildkit|kaniko|both]
"""

from __future__ import annotations

import argparse
import base64
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

ENGINES = ("buildkit", "kaniko")

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


def run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    env = GIT_ENV | {"DOCKER_HOST": DOCKER_HOST, "DOCKER_BUILDKIT": "1"} | (env or {})
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
    """A live `dockyard up` with a build service of the bench repo per build engine
    (`app-buildkit`, `app-kaniko`), its registry holding local/busybox:1 as `local/busybox:1`
    (where buildah finds base images)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, {"DOCKYARD_GIT_INSTEADOF": json.dumps({REPO_HOST: f"{root}/"})})
        for engine in ENGINES:
            body = {
                "name": f"app-{engine}",
                "billing": {"buildPlan": "nf-compute-200-8"},
                "vcsData": {"projectUrl": f"{REPO_HOST}acme/app", "projectType": "github"},
                "buildSettings": {
                    "dockerfile": {
                        "buildEngine": engine,
                        "dockerFilePath": "/Dockerfile",
                        "dockerWorkDir": "/",
                    }
                },
            }
            self.ok(self.http.post("/v1/projects/bench/services/build", json=body))
        self.login = root / "docker-config"
        self.login.mkdir()
        password = (self.data_dir / "registry" / "password").read_text()
        auth = base64.b64encode(f"dockyard:{password}".encode()).decode()
        (self.login / "config.json").write_text(
            json.dumps({"auths": {self.registry: {"auth": auth}}})
        )
        base = f"{self.registry}/local/busybox:1"
        config = {"DOCKER_CONFIG": str(self.login)}
        run([DOCKER_CLI, "tag", "local/busybox:1", base])
        run([DOCKER_CLI, "push", "--quiet", base], env=config)
        run([DOCKER_CLI, "rmi", base])

    def build(self, engine: str, sha: str, cold: bool) -> float:
        service = f"/v1/projects/bench/services/app-{engine}"
        if cold:
            self.ok(self.http.delete(f"{service}/build-cache"))
        start = time.time()
        build = self.ok(self.http.post(f"{service}/build", json={"branch": "main", "sha": sha}))
        path = f"{service}/build/{build['id']}"
        while not build["concluded"]:
            time.sleep(POLL_SECONDS)
            build = self.ok(self.http.get(path))
        if build["status"] != "SUCCESS":
            raise SystemExit(f"dockyard build {build['id']} ended {build['status']}: {build}")
        concluded_at = float(build["buildConcludedAt"]) / 1000  # type: ignore[arg-type]
        return concluded_at - start


def raw_build(
    engine: str, bare: Path, sha: str, dockyard: Dockyard, scratch: Path, cold: bool
) -> float:
    """What a person would run by hand for the same result."""
    source = scratch / uuid.uuid4().hex
    source.mkdir()
    image = f"{dockyard.registry}/bench/raw-{engine}:{sha}"
    start = time.perf_counter()
    run(["git", "init", "--quiet"], source)
    run(["git", "fetch", "--quiet", "--no-tags", "--depth=1", "--", str(bare), sha], source)
    run(["git", "checkout", "--quiet", "--detach", sha], source)
    shutil.rmtree(source / ".git")
    no_cache = ["--no-cache"] if cold else []
    if engine == "kaniko":
        raw_buildah(image, source, scratch, dockyard, no_cache)
    else:
        run([DOCKER_CLI, "build", "--quiet", *no_cache, "-t", image, "."], source)
        run([DOCKER_CLI, "push", "--quiet", image], env={"DOCKER_CONFIG": str(dockyard.login)})
    elapsed = time.perf_counter() - start
    shutil.rmtree(source)
    return elapsed


def raw_buildah(
    image: str, source: Path, scratch: Path, dockyard: Dockyard, no_cache: list[str]
) -> None:
    """`buildah bud` + `buildah push` as engine/buildah.py runs them (vfs storage kept
    between builds, `--layers`, runc without a network)."""
    storage = scratch / "buildah"
    conf = scratch / "registries.conf"
    conf.write_text(
        f'unqualified-search-registries = ["{dockyard.registry}"]\n'
        f'[[registry]]\nlocation = "{dockyard.registry}"\ninsecure = true\n'
    )
    buildah = [
        "buildah",
        f"--root={storage / 'storage'}",
        f"--runroot={storage / 'run'}",
        "--storage-driver=vfs",
    ]
    env = {"CONTAINERS_REGISTRIES_CONF": str(conf)}
    authfile = f"--authfile={dockyard.login / 'config.json'}"
    build = ["bud", "--quiet", "--layers", "--format=docker", "--isolation=oci"]
    build += ["--network=none", authfile, *no_cache, "-t", image, "."]
    run([*buildah, *build], source, env)
    run([*buildah, "push", "--quiet", authfile, "--tls-verify=false", image], source, env)


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
    parser.add_argument("--engine", choices=[*ENGINES, "both"], default="both")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        root = Path(tmp)
        bare, sha = make_repo(root)
        dockyard = Dockyard(root)
        scratch = root / "raw"
        scratch.mkdir()
        try:
            modes = ["warm", "cold"] if options.mode == "both" else [options.mode]
            engines = ENGINES if options.engine == "both" else (options.engine,)
            ratios = {
                f"{engine} {mode}": measure(
                    f"{engine} {mode}",
                    options.runs,
                    partial(raw_build, engine, bare, sha, dockyard, scratch, mode == "cold"),
                    partial(dockyard.build, engine, sha, mode == "cold"),
                )
                for engine in engines
                for mode in modes
            }
        finally:
            dockyard.stop()
    print("ratios (dockyard / raw): " + ", ".join(f"{m} {r:.3f}" for m, r in ratios.items()))


if __name__ == "__main__":
    main()
