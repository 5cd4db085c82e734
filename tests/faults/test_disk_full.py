"""Disk full in the data dir: a live `dockyard up` whose data dir is a tmpfs of fixed size
(`tests.faults.disk.SmallDisk`), filled by one filler file at the moment each case needs and
freed again, on the real Docker engine, BuildKit, registry and git.

On SQLite the database lives in the data dir too, so a full disk refuses its writes as well
("database or disk is full"); on PostgreSQL only the checkout case applies.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.logs.service import LogWriter, lines_of
from dockyard.migrations import prepare_storage
from tests.faults.disk import SmallDisk, small_disk
from tests.gitrepos import GitRepo
from tests.live import DOCKER_HOST, DockyardProcess
from tests.reliability.soak import (
    BUILD_JOB,
    PROCESS_ENV,
    RunJob,
    api_client,
    build_job_body,
    busybox_job_body,
    data_of,
)

pytestmark = pytest.mark.e2e

DISK_MEGABYTES = 48
# Random hex: its checkout takes this much of the disk, its git objects about half.
BIG_FILE_BYTES = 4 * 1024 * 1024
# What the full disk leaves: room for the build's status and log lines, not for its source.
LEFT_FOR_THE_DATABASE = 512 * 1024
CONCLUDED_WITHIN_SECONDS = 120.0
DOCKERFILE = "FROM local/busybox:1\nCOPY hello.txt /hello.txt\n"
LINES = 60
CHATTY = RunJob(
    "chatty",
    f"for i in $(seq 1 {LINES}); do echo line $i; sleep 0.1; done",
    0,
    True,
    1.0,
)
QUICK = RunJob("quick", "echo quick", 0, True, 1.0)
# A write takes a few pages of SQLite's log: the disk refuses one long before this many.
WRITES_TRIED = 500
DROPPED_MARKER = "log lines dropped: no space left on device"


@dataclass
class Live:
    """A `dockyard up` on the small disk, with a project of a build job and busybox jobs."""

    disk: SmallDisk
    process: DockyardProcess
    repo: GitRepo
    project: str
    root: httpx.Client  # /v1
    http: httpx.Client  # /v1/projects/<project>

    def build(self, sha: str) -> dict[str, Any]:
        build_id = data_of(self.http.post(f"/jobs/{BUILD_JOB}/build", json={"sha": sha}))["id"]
        return self.wait(f"/jobs/{BUILD_JOB}/build/{build_id}")

    def start_run(self, job: RunJob) -> str:
        run_id: str = data_of(self.http.post(f"/jobs/{job.name}/runs", json={}))["id"]
        return run_id

    def wait(self, path: str) -> dict[str, Any]:
        """The build or run at `path` once concluded."""
        return wait_for(lambda: _concluded(data_of(self.http.get(path))), path)

    def log_lines(self, job: str, run_id: str) -> list[str]:
        params = {"runId": run_id, "direction": "forward", "lineLimit": 1000}
        return [
            entry["log"] for entry in data_of(self.http.get(f"/jobs/{job}/logs", params=params))
        ]

    def assert_no_traceback(self) -> None:
        assert "Traceback" not in self.process.output(), self.process.output()


def _concluded(item: dict[str, Any]) -> dict[str, Any] | None:
    return item if item["concluded"] else None


def wait_for(probe: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + CONCLUDED_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if (found := probe()) is not None and found is not False:
            return found
        time.sleep(0.2)
    pytest.fail(f"{what}: not there within {CONCLUDED_WITHIN_SECONDS:.0f} s")


def big_repo(root: Path) -> GitRepo:
    """A repository whose one commit needs BIG_FILE_BYTES of disk to check out."""
    repo = GitRepo(root)
    repo.commit(
        {
            "Dockerfile": DOCKERFILE,
            "hello.txt": "hello\n",
            "big.txt": os.urandom(BIG_FILE_BYTES // 2).hex(),
        },
        "big",
    )
    return repo


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    database_fixture: str | None = getattr(request, "param", None)
    repo = big_repo(tmp_path / "git")
    with small_disk(tmp_path / "data", DISK_MEGABYTES) as disk:
        env = {**PROCESS_ENV, "DOCKYARD_GIT_INSTEADOF": json.dumps(repo.insteadof)}
        if database_fixture is not None:
            env["DOCKYARD_DATABASE_URL"] = request.getfixturevalue(database_fixture)
        process = DockyardProcess(data_dir=disk.path, env=env).start()
        try:
            process.wait_ready()
            token = process.admin_token()
            assert token, process.output()
            project = f"disk-{uuid.uuid4().hex[:8]}"
            with (
                api_client(process.url, token) as root,
                api_client(process.url, token, project) as http,
            ):
                data_of(root.post("/projects", json={"name": project}))
                data_of(http.post("/jobs/manual", json=build_job_body(repo)))
                for job in (CHATTY, QUICK):
                    data_of(http.post("/jobs/manual", json=busybox_job_body(job)))
                yield Live(disk, process, repo, project, root, http)
        finally:
            process.stop(signal.SIGKILL)


def test_log_lines_a_full_disk_refuses_are_dropped_and_counted_once(tmp_path: Path) -> None:
    """A build's or run's log as the user reads it after the disk was full for a while: the
    lines from before, ONE line "dockyard: 3 log lines dropped: no space left on device",
    the lines from after; writing them never raised (on SQLite in the small data dir)."""
    with small_disk(tmp_path / "data", 16) as disk:
        settings = Settings(data_dir=disk.path, registry="127.0.0.1:1", registry_autostart=False)
        prepare_storage(settings)
        lines, dropped = asyncio.run(write_through_a_full_disk(settings, disk))
    assert lines == ["before", f"dockyard: 3 {DROPPED_MARKER}", "after", "later"]
    assert dropped == 3


async def write_through_a_full_disk(settings: Settings, disk: SmallDisk) -> tuple[list[str], int]:
    database = Database(settings.resolved_database_url)
    writer = LogWriter(database, "run", "full-disk", "container")
    try:
        writer.write("before")
        await writer.flush()
        disk.fill()
        for batch in (["lost 1", "lost 2"], ["lost 3"]):
            for line in batch:
                writer.write(line)
            await writer.flush()
        disk.free()
        for line in ("after", "later"):
            writer.write(line)
            await writer.flush()
        async with database.sessions() as session:
            stored = [row.line for row in await lines_of(session, "run", "full-disk")]
        return stored, writer.dropped
    finally:
        await database.dispose()


@pytest.mark.parametrize(
    "live",
    [None, pytest.param("empty_postgres_database", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"],
    indirect=True,
)
def test_checkout_on_a_full_disk_fails_naming_it_and_the_next_build_succeeds(live: Live) -> None:
    """The user sees the build end FAILURE with "no space left on device for the checkout"
    in its message and its log (no traceback anywhere), the data dir keeps no half checkout
    (no build dir, no half-fetched git objects), and once space is freed the next build of
    the same commit succeeds, with dockyard never restarted."""
    sha = live.repo.head_of("main")
    assert sha is not None
    live.disk.fill(leave_bytes=LEFT_FOR_THE_DATABASE)

    failed = live.build(sha)

    assert failed["status"] == "FAILURE", failed
    assert "no space left on device for the checkout" in failed["message"], failed
    build_logs = live.http.get(f"/jobs/{BUILD_JOB}/build-logs", params={"buildId": failed["id"]})
    assert any("no space left on device" in entry["log"] for entry in data_of(build_logs))
    assert not (live.disk.path / "builds" / failed["id"]).exists()
    assert not list((live.disk.path / "git-cache").rglob("tmp_*"))
    live.assert_no_traceback()

    live.disk.free()
    built = live.build(sha)
    assert built["status"] == "SUCCESS", built
    live.assert_no_traceback()


def test_api_answers_while_the_database_disk_is_full(live: Live) -> None:
    """The user sees every GET answered 200 while the disk is full, and a write that cannot be
    stored answered 503 `disk-full` in the error envelope ("No space left on device ..."),
    never 500; once space is freed the same write succeeds, without a restart."""
    live.disk.fill()
    answers = []
    for number in range(WRITES_TRIED):
        response = live.root.post("/projects", json={"name": f"full {number}"})
        answers.append(response.status_code)
        if response.status_code != 200:
            break
    assert answers[-1] == 503, answers
    assert set(answers) <= {200, 503}, answers
    error = response.json()["error"]
    assert error["status"] == 503 and error["id"] == "disk-full", error
    assert "No space left on device" in error["message"], error
    assert live.root.get(f"/projects/{live.project}").status_code == 200
    for path in (f"/jobs/{BUILD_JOB}", f"/jobs/{BUILD_JOB}/build", f"/jobs/{QUICK.name}/runs"):
        assert live.http.get(path).status_code == 200, path

    live.disk.free()
    data_of(live.root.post("/projects", json={"name": "after the fill"}))
    live.assert_no_traceback()


def test_run_logs_on_a_full_disk_are_dropped_with_one_marker(live: Live) -> None:
    """The user sees the run go on while its log lines cannot be stored, and its container
    exit while its outcome cannot be stored either; once space is freed the run ends SUCCESS
    after one attempt, its log holds the lines from before the disk filled, then one line
    "dockyard: N log lines dropped: no space left on device" in place of the rest; the next
    run succeeds too, with dockyard never restarted."""
    run_id = live.start_run(CHATTY)
    wait_for(lambda: "line 3" in live.log_lines(CHATTY.name, run_id), "the run's first lines")
    live.disk.fill()
    wait_for(lambda: "log lines dropped" in live.process.output(), "the worker's warning")
    wait_for(lambda: exited(f"dockyard-run-{run_id}-1"), "the run's container exit")
    wait_for(lambda: f"run {run_id}" in waiting_for_space(live), "the run's outcome waiting")
    live.disk.free()

    run = live.wait(f"/jobs/{CHATTY.name}/runs/{run_id}")

    assert (run["status"], run["succeeded"], run["failed"]) == ("SUCCESS", 1, 0), run
    lines = live.log_lines(CHATTY.name, run_id)
    markers = [line for line in lines if DROPPED_MARKER in line]
    assert len(markers) == 1, lines
    dropped = int(markers[0].split()[1])
    numbers = [int(line.split()[1]) for line in lines if line.startswith("line ")]
    assert numbers == list(range(1, len(numbers) + 1)), lines  # in order, none twice
    assert 3 <= len(numbers) < LINES <= len(numbers) + dropped, lines
    assert lines.index(markers[0]) > lines.index(f"line {numbers[-1]}"), lines

    quick = live.wait(f"/jobs/{QUICK.name}/runs/{live.start_run(QUICK)}")
    assert quick["status"] == "SUCCESS", quick
    live.assert_no_traceback()


def exited(container: str) -> bool:
    with docker.APIClient(base_url=DOCKER_HOST) as engine:
        return bool(engine.inspect_container(container)["State"]["Status"] == "exited")


def waiting_for_space(live: Live) -> str:
    """The lines of the server's output that say a status write waits for the database (its
    disk full)."""
    return "\n".join(line for line in live.process.lines if "database cannot store" in line)
