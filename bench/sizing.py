"""Sizing: what each build and run costs in disk, CPU and memory, on a fresh `dockyard up`.

Makes `--builds` builds of distinct commits of a small repository (a Dockerfile and ~80 KB
of source; each commit changes one file), then `--runs` runs of the job's image that print
`--lines` lines each. Before, between and after, it measures:

- the database (SQLite, page count x page size, WAL included), and of it the log lines
  (table and indexes, from SQLite's dbstat);
- the local registry's storage (`<data dir>/registry/data`);
- the source cache (`<data dir>/git-cache`) and build directories (`<data dir>/builds`);
- the `dockyard up` process's CPU seconds (its own and its waited-for children's: git, the
  docker CLI) and its peak resident memory, and the registry process's.

Prints the growth per build and per run, and extrapolated to 1,000 of each (linear: these
stores grow by rows and blobs per item; retention and `dockyard gc` bound them).

    .venv/bin/python bench/sizing.py [--builds 50] [--runs 20] [--lines 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from server import LiveServer

REPO_HOST = "https://git.sizing.test/"
POLL_SECONDS = 0.5
SOURCE_FILES = 20
DOCKERFILE = """FROM local/busybox:1
COPY . /app/
CMD ["/bin/sh", "-c", "ls /app"]
"""
GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "sizing",
    "GIT_AUTHOR_EMAIL": "sizing@dockyard.test",
    "GIT_COMMITTER_NAME": "sizing",
    "GIT_COMMITTER_EMAIL": "sizing@dockyard.test",
}
LOG_TABLES = ("log_lines", "ix_log_lines_owner", "ix_log_lines_ts")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def git(args: list[str], cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


class Repository:
    """A bare repository `root/acme/app.git` and a work tree that commits to it."""

    def __init__(self, root: Path) -> None:
        self.bare, self.work = root / "acme" / "app.git", root / "work"
        self.bare.mkdir(parents=True)
        (self.work / "src").mkdir(parents=True)
        git(["init", "--quiet", "--bare"], self.bare)
        git(["init", "--quiet", "--initial-branch=main"], self.work)
        (self.work / "Dockerfile").write_text(DOCKERFILE)
        for index in range(SOURCE_FILES):
            (self.work / "src" / f"module{index}.py").write_text(f"VALUE = {index}\n" * 400)
        self.commits = 0
        self.commit("initial")

    def commit(self, message: str) -> str:
        """A new commit changing one source file (each in turn); its sha."""
        self.commits += 1
        changed = self.work / "src" / f"module{self.commits % SOURCE_FILES}.py"
        changed.write_text(changed.read_text() + f"# {message}\n")
        git(["add", "--all"], self.work)
        git(["commit", "--quiet", "-m", message], self.work)
        git(["push", "--quiet", str(self.bare), "main"], self.work)
        return git(["rev-parse", "HEAD"], self.work)


@dataclass(frozen=True)
class Sizes:
    database: int
    logs: int
    registry: int
    source_cache: int
    build_dirs: int
    cpu_seconds: float

    def minus(self, before: Sizes) -> Sizes:
        return Sizes(
            self.database - before.database,
            self.logs - before.logs,
            self.registry - before.registry,
            self.source_cache - before.source_cache,
            self.build_dirs - before.build_dirs,
            self.cpu_seconds - before.cpu_seconds,
        )


def tree_bytes(path: Path) -> int:
    """Bytes on disk (allocated blocks) under `path`, as `du` counts them."""
    if not path.exists():
        return 0
    return sum(item.lstat().st_blocks * 512 for item in [path, *path.rglob("*")])


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def registry_pid(server_pid: int) -> int | None:
    for child in Path(f"/proc/{server_pid}/task").glob("*/children"):
        for pid in child.read_text().split():
            if "docker-registry" in Path(f"/proc/{pid}/cmdline").read_text():
                return int(pid)
    return None


class Dockyard(LiveServer):
    """A live `dockyard up` with a job building the sizing repository."""

    def __init__(self, root: Path, lines: int) -> None:
        super().__init__(root, {"DOCKYARD_GIT_INSTEADOF": json.dumps({REPO_HOST: f"{root}/"})})
        command = (
            f"for i in $(seq 1 {lines}); do "
            'echo "$(date) step $i of the nightly job: processed 250 records, 0 errors"; done'
        )
        job = {
            "name": "app",
            "billing": {"deploymentPlan": "nf-compute-20"},
            "backoffLimit": 0,
            "deployment": {
                "vcs": {
                    "projectUrl": f"{REPO_HOST}acme/app",
                    "projectType": "github",
                    "projectBranch": "main",
                },
                "docker": {
                    "configType": "customCommand",
                    "customCommand": f"/bin/sh -c '{command}'",
                },
            },
            "buildSettings": {
                "dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}
            },
        }
        self.ok(self.http.post("/v1/projects/bench/jobs/manual", json=job))
        self.db = sqlite3.connect(f"file:{self.data_dir / 'dockyard.db'}?mode=ro", uri=True)

    def sizes(self) -> Sizes:
        page_size, pages = (
            self.db.execute("PRAGMA page_size").fetchone()[0],
            self.db.execute("PRAGMA page_count").fetchone()[0],
        )
        marks = ",".join("?" * len(LOG_TABLES))
        logs = self.db.execute(
            f"SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ({marks})", LOG_TABLES
        ).fetchone()[0]
        return Sizes(
            database=page_size * pages,
            logs=logs,
            registry=tree_bytes(self.data_dir / "registry" / "data"),
            source_cache=tree_bytes(self.data_dir / "git-cache"),
            build_dirs=tree_bytes(self.data_dir / "builds"),
            cpu_seconds=cpu_seconds(self.process.pid),
        )

    def log_lines(self, kind: str) -> tuple[int, int]:
        """Lines of builds or runs stored, and their text's bytes."""
        count, text = self.db.execute(
            "SELECT count(*), coalesce(sum(length(CAST(line AS BLOB))), 0) FROM log_lines "
            "WHERE owner_kind = ?",
            (kind,),
        ).fetchone()
        return count, text

    def wait(self, path: str) -> dict[str, object]:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            item = self.ok(self.http.get(path))
            if item["concluded"]:
                if item["status"] != "SUCCESS":
                    raise SystemExit(f"{path} ended {item['status']}: {item.get('message')}")
                return item
            time.sleep(POLL_SECONDS)
        raise SystemExit(f"{path} did not conclude in 900 s")

    def build_all(self, shas: list[str]) -> float:
        started = time.monotonic()
        ids = [
            self.ok(self.http.post("/v1/projects/bench/jobs/app/build", json={"sha": sha}))["id"]
            for sha in shas
        ]
        for build_id in ids:
            self.wait(f"/v1/projects/bench/jobs/app/build/{build_id}")
        return time.monotonic() - started

    def run_all(self, runs: int) -> float:
        started = time.monotonic()
        ids = [
            self.ok(self.http.post("/v1/projects/bench/jobs/app/runs", json={}))["id"]
            for _ in range(runs)
        ]
        for run_id in ids:
            self.wait(f"/v1/projects/bench/jobs/app/runs/{run_id}")
        return time.monotonic() - started


def report(label: str, count: int, growth: Sizes, seconds: float) -> None:
    def row(name: str, value: int) -> str:
        return (
            f"  {name:<14} {value / count / 1024:10.1f} KiB each"
            f"   {value / count * 1000 / 2**20:10.1f} MiB per 1,000"
        )

    print(f"{label}: {count} in {seconds:.1f} s, {growth.cpu_seconds / count:.2f} CPU s each")
    print(row("database", growth.database))
    print(row("  of it logs", growth.logs))
    print(row("registry", growth.registry))
    print(row("source cache", growth.source_cache))
    print(row("build dirs", growth.build_dirs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--builds", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--lines", type=int, default=1000, help="lines each run prints")
    options = parser.parse_args()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{platform.machine()}, {options.builds} builds, {options.runs} runs x "
        f"{options.lines} lines",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="dockyard-sizing-") as tmp:
        root = Path(tmp)
        repository = Repository(root)
        shas = [repository.commit(f"change {index}") for index in range(options.builds)]
        dockyard = Dockyard(root, options.lines)
        try:
            empty = dockyard.sizes()
            build_seconds = dockyard.build_all(shas)
            built = dockyard.sizes()
            run_seconds = dockyard.run_all(options.runs)
            ran = dockyard.sizes()
            build_lines, run_lines = dockyard.log_lines("build"), dockyard.log_lines("run")
            server_mb = peak_rss_mb(dockyard.process.pid)
            registry = registry_pid(dockyard.process.pid)
            registry_mb = peak_rss_mb(registry) if registry else 0.0
        finally:
            dockyard.stop()
    print(f"empty installation: database {empty.database / 1024:.0f} KiB")
    report("builds", options.builds, built.minus(empty), build_seconds)
    print(
        f"  build log lines: {build_lines[0] / options.builds:.0f} each, "
        f"{build_lines[1] / max(build_lines[0], 1):.0f} bytes of text a line"
    )
    report("runs", options.runs, ran.minus(built), run_seconds)
    print(
        f"  run log lines: {run_lines[0] / options.runs:.0f} each, "
        f"{ran.minus(built).logs / max(run_lines[0], 1):.0f} bytes stored a line "
        f"({run_lines[1] / max(run_lines[0], 1):.0f} of text)"
    )
    print(f"peak memory: dockyard up {server_mb:.0f} MiB, registry {registry_mb:.0f} MiB")


if __name__ == "__main__":
    main()
