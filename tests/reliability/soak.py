"""Crash soak: while a stream of builds and job runs is submitted through the HTTP API, the
process under test is killed with SIGKILL at random moments and started again, cycle after
cycle.

- mode "up": the one `dockyard up` process (API, worker and its local registry) dies;
- mode "worker": an `api` process stays up, a lone `worker` on the same data dir dies;
- mode "workers": an `api` and three `worker` processes share one PostgreSQL database; one of
  the workers, chosen at random each cycle, dies (the others take its work over).

After the last cycle dockyard runs undisturbed for a bounded time. What the soak then proves,
on the real Docker engine, BuildKit, registry and git:

- nothing is lost: every request answered 200 has its row (GET answers 200);
- everything concludes: every build and run of the soak's jobs, whether its request was
  answered or cut off by a kill, is concluded;
- no attempt runs twice: each (run, attempt) started at most one container (counted from the
  engine's event stream by the containers' labels, whatever their names), the attempts that
  started are 1..succeeded+failed, and each run ends as its job makes it end (the quick and
  the slow job succeed at the first attempt, the failing one fails backoffLimit+1 times);
- nothing is left over: no container of the soak's project remains (a counted attempt's
  container is removed by design, see `dockyard.worker.run_pipeline`), and no
  `<data dir>/builds/<id>` of a concluded build.

`run_soak` returns a `SoakReport`; `print(report.summary())` shows the counts on one screen.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import docker
import httpx

from dockyard.config import Settings
from dockyard.engine.registry import start_local_registry
from dockyard.secrets.credentials import local_registry_dir, registry_login
from tests.gitrepos import GitRepo, make_sample_repo
from tests.live import DOCKER_HOST, DockyardProcess

Mode = Literal["up", "worker", "workers"]
WORKERS_ON_POSTGRES = 3

# Retries back off 100 times faster than in production; a dead worker's lease ends in 3 s.
PROCESS_ENV = {
    "DOCKYARD_RUN_BACKOFF_SCALE": "0.01",
    "DOCKYARD_PROBE_TIME_SCALE": "0.1",
    "DOCKYARD_WORKER_LEASE_SECONDS": "3",
    "DOCKYARD_WORKER_POLL_SECONDS": "0.5",
}
# Each build gets its own NONCE (and every few builds a new commit), so BuildKit's cache
# does not finish them all at once; the RUN step gives kills a BUILDING phase to land in.
BUILD_DOCKERFILE = (
    'FROM local/busybox:1\nARG NONCE\nRUN echo "$NONCE" > /nonce\nCOPY hello.txt /hello.txt\n'
)
BUILD_JOB = "image"
BUILD_WEIGHT = 1.5
NEW_COMMIT_EVERY = 4
SUBMIT_PAUSE = (0.2, 0.6)
KILL_WINDOW = (0.5, 3.0)
DRAIN_SECONDS = 180.0
LEFTOVER_GRACE_SECONDS = 15.0
WORKER_START_SECONDS = 60.0
SHOWN_PER_PROBLEM = 5
MANIFEST_ACCEPT = {
    "Accept": "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json"
}


@dataclass(frozen=True)
class RunJob:
    """A busybox job of the soak and how each of its runs must end."""

    name: str
    command: str
    backoff_limit: int
    succeeds: bool
    weight: float

    def expected(self) -> tuple[str, int, int]:
        """(status, succeeded, failed) of a concluded run."""
        if self.succeeds:
            return "SUCCESS", 1, 0
        return "FAILED", 0, self.backoff_limit + 1


RUN_JOBS = (
    RunJob("quick", "echo quick; sleep 0.3", 0, True, 4.0),
    RunJob("slow", "echo slow; sleep 2", 0, True, 2.0),
    RunJob("failing", "echo failing; sleep 0.2; exit 3", 1, False, 2.0),
)


# ---- the report ----------------------------------------------------------------------------


@dataclass
class SoakReport:
    mode: str
    seed: int
    cycles: int = 0
    kills: int = 0
    seconds: float = 0.0
    builds_accepted: int = 0
    runs_accepted: int = 0
    builds_by_status: Counter[str] = field(default_factory=Counter)
    runs_by_status: Counter[str] = field(default_factory=Counter)
    not_accepted: int = 0  # the connection failed: the server was down or died mid-request
    unanswered_rows: int = 0  # rows of requests whose answer a kill cut off
    http_errors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    unconcluded: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    attempt_gaps: list[str] = field(default_factory=list)
    wrong_outcomes: list[str] = field(default_factory=list)
    orphan_containers: list[str] = field(default_factory=list)
    orphan_dirs: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        return {
            "lost": self.lost,
            "not concluded": self.unconcluded,
            "duplicate attempt containers": self.duplicates,
            "attempt gaps": self.attempt_gaps,
            "wrong outcomes": self.wrong_outcomes,
            "orphan containers": self.orphan_containers,
            "orphan build dirs": self.orphan_dirs,
            "error answers": self.http_errors,
        }

    @property
    def ok(self) -> bool:
        return not any(self.problems().values())

    def summary(self) -> str:
        lines = [
            f"crash soak, mode {self.mode}, seed {self.seed}: {self.cycles} cycles, "
            f"{self.kills} SIGKILLs, {self.seconds:.1f} s",
            f"  builds: {self.builds_accepted} accepted ({_counts(self.builds_by_status)})",
            f"  runs:   {self.runs_accepted} accepted ({_counts(self.runs_by_status)})",
            f"  requests not accepted (connection failed): {self.not_accepted}; "
            f"rows of requests whose answer was cut off: {self.unanswered_rows}",
            "  " + " · ".join(f"{name} {len(items)}" for name, items in self.problems().items()),
        ]
        for name, items in self.problems().items():
            lines += [f"    {name}: {item}" for item in items[:SHOWN_PER_PROBLEM]]
        lines.append("  OK" if self.ok else "  FAILED")
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{status} {count}" for status, count in sorted(counter.items())) or "none"


# ---- the processes under test --------------------------------------------------------------


class Cluster(Protocol):
    url: str
    registry: str

    def start(self) -> str:
        """Start everything; an admin token."""

    def kill(self) -> None:
        """SIGKILL the process under test (its whole process group)."""

    def restart(self) -> None:
        """Start the killed process again, on the same data dir."""

    def stop(self) -> None:
        """Stop everything gracefully."""

    def close(self) -> None:
        """SIGKILL whatever still runs."""


def _kill_if_running(process: DockyardProcess) -> None:
    if process.process is not None and process.process.poll() is None:
        process.stop(signal.SIGKILL)


class UpCluster:
    """One `dockyard up`: API, worker and the local registry it starts die together."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.process = DockyardProcess(data_dir=data_dir, command="up", env=env)
        self.url = self.process.url
        self.registry = f"127.0.0.1:{self.process.registry_port}"

    def start(self) -> str:
        self.restart()
        token = self.process.admin_token()
        assert token, self.process.output()
        return token

    def kill(self) -> None:
        self.process.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.process.start().wait_ready()

    def stop(self) -> None:
        self.process.stop(signal.SIGTERM)

    def close(self) -> None:
        _kill_if_running(self.process)


class WorkerCluster:
    """An `api` that stays up, `workers` worker processes of which one at a time dies, and a
    local registry (which only `up` would start), all on one data dir."""

    def __init__(
        self, data_dir: Path, env: dict[str, str], workers: int = 1, seed: int = 0
    ) -> None:
        self.data_dir = data_dir
        self.api = DockyardProcess(data_dir=data_dir, command="api", env=env)
        self.workers = [
            DockyardProcess(
                data_dir=data_dir,
                command="worker",
                env=env,
                port=self.api.port,
                registry_port=self.api.registry_port,
            )
            for _ in range(workers)
        ]
        self.victim = 0
        self.rng = random.Random(seed)
        self.url = self.api.url
        self.registry = f"127.0.0.1:{self.api.registry_port}"
        self.registry_process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        token = self.start_api()
        for worker in self.workers:
            self.start_worker(worker)
        return token

    def start_api(self) -> str:
        """The registry and the API, without a worker; an admin token."""
        settings = Settings(data_dir=self.data_dir, registry=self.registry)
        login = registry_login(settings)
        assert login is not None
        self.registry_process = start_local_registry(
            self.registry, local_registry_dir(settings), login
        )
        self.api.start().wait_ready()
        return self._admin_token()

    def _admin_token(self) -> str:
        env = (
            os.environ
            | {
                "DOCKYARD_DATA_DIR": str(self.data_dir),
                "DOCKYARD_REGISTRY": self.registry,
                "DOCKER_HOST": DOCKER_HOST,
            }
            | self.api.env
        )
        created = subprocess.run(
            [sys.executable, "-m", "dockyard", "token", "create", "--name", "soak", "--admin"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return created.stdout.strip().splitlines()[-1]

    def kill(self) -> None:
        self.victim = self.rng.randrange(len(self.workers))
        self.workers[self.victim].stop(signal.SIGKILL)

    def restart(self) -> None:
        self.start_worker(self.workers[self.victim])

    @staticmethod
    def start_worker(worker: DockyardProcess) -> None:
        worker.start()
        deadline = time.monotonic() + WORKER_START_SECONDS
        while "worker started" not in worker.output():
            assert worker.process is not None
            if worker.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{worker.output()}")
            time.sleep(0.1)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop(signal.SIGTERM)
        self.api.stop(signal.SIGTERM)

    def close(self) -> None:
        for worker in self.workers:
            _kill_if_running(worker)
        _kill_if_running(self.api)
        if self.registry_process is not None:
            self.registry_process.terminate()
            self.registry_process.wait(timeout=30)


def make_cluster(mode: Mode, data_dir: Path, env: dict[str, str], seed: int) -> Cluster:
    if mode == "up":
        return UpCluster(data_dir, env)
    return WorkerCluster(data_dir, env, WORKERS_ON_POSTGRES if mode == "workers" else 1, seed)


# ---- what the soak submits -----------------------------------------------------------------


def api_client(url: str, token: str, project: str | None = None) -> httpx.Client:
    base = f"{url}/v1/projects/{project}" if project else f"{url}/v1"
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def data_of(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json()["data"]


def create_jobs(http: httpx.Client, repo: GitRepo) -> None:
    """The busybox jobs of RUN_JOBS and the job BUILD_JOB built from `repo`."""
    for job in RUN_JOBS:
        data_of(http.post("/jobs/manual", json=busybox_job_body(job)))
    data_of(http.post("/jobs/manual", json=build_job_body(repo)))


def busybox_job_body(job: RunJob) -> dict[str, Any]:
    return {
        "name": job.name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": job.backoff_limit,
        "deployment": {
            "external": {"imagePath": "local/busybox:1"},
            "docker": {
                "configType": "customEntrypointCustomCommand",
                "customEntrypoint": "sh",
                "customCommand": f"-c {shlex.quote(job.command)}",
            },
        },
    }


def build_job_body(repo: GitRepo) -> dict[str, Any]:
    return {
        "name": BUILD_JOB,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "vcs": {"projectUrl": repo.url, "projectType": "github", "projectBranch": "main"}
        },
        "buildSettings": {
            "dockerfile": {
                "buildEngine": "buildkit",
                "dockerFilePath": "/Dockerfile",
                "dockerWorkDir": "/",
            }
        },
    }


@dataclass(frozen=True)
class Accepted:
    kind: Literal["build", "run"]
    job: str
    id: str


class Submitter(threading.Thread):
    """Submits a random mix of runs and builds until stopped, recording each one accepted
    (answered 200); a request whose connection fails is counted as not accepted."""

    def __init__(self, http: httpx.Client, repo: GitRepo, seed: int) -> None:
        super().__init__(name="soak submitter", daemon=True)
        self.http = http
        self.repo = repo
        self.rng = random.Random(f"{seed} submitter")
        self.stopping = threading.Event()
        self.accepted: list[Accepted] = []
        self.not_accepted = 0
        self.errors: list[str] = []
        self.builds = 0
        self.sha = repo.head_of("main")

    def run(self) -> None:
        self._post("build", BUILD_JOB, f"/jobs/{BUILD_JOB}/build", self._build_body())
        while not self.stopping.wait(self.rng.uniform(*SUBMIT_PAUSE)):
            self.submit_one()

    def stop(self) -> None:
        self.stopping.set()
        self.join()

    def submit_one(self) -> None:
        jobs = [*RUN_JOBS, None]
        weights = [*(job.weight for job in RUN_JOBS), BUILD_WEIGHT]
        job = self.rng.choices(jobs, weights)[0]
        if job is None:
            self._post("build", BUILD_JOB, f"/jobs/{BUILD_JOB}/build", self._build_body())
        else:
            self._post("run", job.name, f"/jobs/{job.name}/runs", {})

    def _build_body(self) -> dict[str, Any]:
        self.builds += 1
        if self.builds % NEW_COMMIT_EVERY == 0:
            self.sha = self.repo.commit({"soak.txt": f"{self.builds}\n"}, f"soak {self.builds}")
        nonce = f"{self.rng.getrandbits(64):016x}"
        return {"sha": self.sha, "overrides": {"buildArguments": {"NONCE": nonce}}}

    def _post(self, kind: Literal["build", "run"], job: str, path: str, body: Any) -> None:
        try:
            response = self.http.post(path, json=body)
        except httpx.TransportError:
            self.not_accepted += 1
            return
        if response.status_code != 200:
            self.errors.append(f"POST {path}: {response.status_code} {response.text[:300]}")
            return
        self.accepted.append(Accepted(kind, job, response.json()["data"]["id"]))


# ---- what the engine saw -------------------------------------------------------------------


class ContainerWatch(threading.Thread):
    """Every container start of the project, from the event stream of the engine at
    `docker_host` (subscribed at once, so no start is missed; from `since` on, and until
    `until` if given, both Unix times): (run id, attempt) -> the ids of containers started."""

    def __init__(
        self,
        project: str,
        docker_host: str = DOCKER_HOST,
        since: float | None = None,
        until: float | None = None,
    ) -> None:
        super().__init__(name="soak container watch", daemon=True)
        self.label = f"dockyard.project={project}"
        self.api = docker.APIClient(base_url=docker_host)
        self.stream = self.api.events(
            since=since,
            until=until,
            decode=True,
            filters={"type": "container", "event": "start", "label": self.label},
        )
        self.started: defaultdict[tuple[str, int], set[str]] = defaultdict(set)

    def run(self) -> None:
        with contextlib.suppress(Exception):  # the stream ends when closed
            for event in self.stream:
                labels = event["Actor"]["Attributes"]
                attempt = (labels["dockyard.run"], int(labels["dockyard.attempt"]))
                self.started[attempt].add(event["Actor"]["ID"])

    def close(self) -> None:
        self.stream.close()
        self.api.close()

    def leftovers(self) -> list[dict[str, Any]]:
        """The containers of the project still there (running or not)."""
        found: list[dict[str, Any]] = self.api.containers(all=True, filters={"label": self.label})
        return found

    def attempts_of(self, run_id: str) -> dict[int, int]:
        """attempt -> how many containers of it started."""
        return {attempt: len(ids) for (run, attempt), ids in self.started.items() if run == run_id}


def remove_containers(project: str) -> None:
    with docker.APIClient(base_url=DOCKER_HOST) as api:
        for container in api.containers(all=True, filters={"label": f"dockyard.project={project}"}):
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_container(container["Id"], force=True)


def remove_images(prefix: str) -> None:
    """The local tags of the images the soak's builds pushed."""
    with docker.APIClient(base_url=DOCKER_HOST) as api:
        for image in api.images():
            for tag in image.get("RepoTags") or []:
                if tag.startswith(prefix):
                    with contextlib.suppress(docker.errors.APIError):
                        api.remove_image(tag)


# ---- the rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    kind: Literal["build", "run"]
    job: str
    data: dict[str, Any]


def listed(http: httpx.Client, path: str, key: str) -> list[dict[str, Any]]:
    """Every item of a paginated list."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"per_page": 100}
    while True:
        response = http.get(path, params=params)
        items += data_of(response)[key]
        cursor = response.json()["pagination"].get("cursor")
        if not cursor:
            return items
        params = {"per_page": 100, "cursor": cursor}


def all_rows(http: httpx.Client) -> dict[str, Row]:
    rows = {
        item["id"]: Row("run", job.name, item)
        for job in RUN_JOBS
        for item in listed(http, f"/jobs/{job.name}/runs", "runs")
    }
    for item in listed(http, f"/jobs/{BUILD_JOB}/build", "builds"):
        rows[item["id"]] = Row("build", BUILD_JOB, item)
    return rows


def wait_concluded(http: httpx.Client, deadline: float) -> dict[str, Row]:
    """The rows once all are concluded, or as they are at `deadline`."""
    while True:
        rows = all_rows(http)
        if all(row.data["concluded"] for row in rows.values()) or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def is_lost(http: httpx.Client, accepted: Accepted) -> bool:
    path = (
        f"/jobs/{accepted.job}/build/{accepted.id}"
        if accepted.kind == "build"
        else f"/jobs/{accepted.job}/runs/{accepted.id}"
    )
    return http.get(path).status_code == 404


# ---- the checks ----------------------------------------------------------------------------


def check_rows(
    report: SoakReport, http: httpx.Client, accepted: list[Accepted], rows: dict[str, Row]
) -> None:
    """Lost and unconcluded work, and the counts by status."""
    for item in accepted:
        row = rows.get(item.id)
        if row is None:
            if is_lost(http, item):
                report.lost.append(f"{item.kind} {item.id} of {item.job}")
            continue
        status = row.data["status"]
        counter = report.builds_by_status if item.kind == "build" else report.runs_by_status
        counter[status] += 1
    report.builds_accepted = sum(1 for item in accepted if item.kind == "build")
    report.runs_accepted = sum(1 for item in accepted if item.kind == "run")
    report.unanswered_rows = len(set(rows) - {item.id for item in accepted})
    report.unconcluded = [
        f"{row.kind} {run_id} of {row.job}: {row.data['status']}"
        for run_id, row in rows.items()
        if not row.data["concluded"]
    ]


def check_attempts(report: SoakReport, watch: ContainerWatch, rows: dict[str, Row]) -> None:
    """At most one container per (run, attempt), attempts 1..n with n the counted ones, and
    the outcome the run's job makes."""
    jobs = {job.name: job for job in RUN_JOBS}
    for run_id, row in rows.items():
        if row.kind != "run" or not row.data["concluded"]:
            continue
        attempts = watch.attempts_of(run_id)
        for attempt, count in sorted(attempts.items()):
            if count > 1:
                report.duplicates.append(f"run {run_id} attempt {attempt}: {count} containers")
        counted = row.data["succeeded"] + row.data["failed"]
        if sorted(attempts) != list(range(1, counted + 1)):
            report.attempt_gaps.append(
                f"run {run_id} of {row.job}: started attempts {sorted(attempts)}, counted {counted}"
            )
        outcome = (row.data["status"], row.data["succeeded"], row.data["failed"])
        if outcome != jobs[row.job].expected():
            report.wrong_outcomes.append(
                f"run {run_id} of {row.job}: {outcome}, message {row.data.get('message')!r}"
            )
        if attempts and row.data["startedAt"] is None:
            report.wrong_outcomes.append(f"run {run_id} of {row.job}: started, no startedAt")


def check_images(report: SoakReport, registry: str, data_dir: Path, rows: dict[str, Row]) -> None:
    """Each successful build's image is in the registry (read with dockyard's login)."""
    login = registry_login(Settings(data_dir=data_dir, registry=registry))
    auth = httpx.BasicAuth(login.username, login.password) if login is not None else None
    with httpx.Client(base_url=f"http://{registry}/v2/", auth=auth, timeout=10) as http:
        for build_id, row in rows.items():
            if row.kind != "build" or row.data["status"] != "SUCCESS":
                continue
            repository, tag = row.data["registry"]["uri"].removeprefix(f"{registry}/").split(":")
            answer = http.head(f"{repository}/manifests/{tag}", headers=MANIFEST_ACCEPT)
            if answer.status_code != 200:
                report.wrong_outcomes.append(
                    f"build {build_id}: SUCCESS, but {tag} is not in the registry "
                    f"({answer.status_code})"
                )


def check_leftovers(
    report: SoakReport, watch: ContainerWatch, data_dir: Path, rows: dict[str, Row]
) -> None:
    """Containers and build dirs still there after a grace period, of concluded or unknown
    builds and runs."""
    builds = data_dir / "builds"
    deadline = time.monotonic() + LEFTOVER_GRACE_SECONDS
    while True:
        containers = [c for c in watch.leftovers() if _concluded_or_unknown(rows, _run_of(c))]
        dirs = [d for d in _dirs(builds) if _concluded_or_unknown(rows, d.name)]
        if not (containers or dirs) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    report.orphan_containers = [
        f"{c['Names'][0].lstrip('/')} ({c['State']}, run {_state_of(rows, _run_of(c))})"
        for c in containers
    ]
    report.orphan_dirs = [f"{d.name} ({_state_of(rows, d.name)})" for d in dirs]


def _run_of(container: dict[str, Any]) -> str:
    return str(container["Labels"].get("dockyard.run", ""))


def _dirs(root: Path) -> list[Path]:
    return sorted(root.iterdir()) if root.is_dir() else []


def _concluded_or_unknown(rows: dict[str, Row], item_id: str) -> bool:
    row = rows.get(item_id)
    return row is None or bool(row.data["concluded"])


def _state_of(rows: dict[str, Row], item_id: str) -> str:
    row = rows.get(item_id)
    return "no row" if row is None else str(row.data["status"])


# ---- the soak ------------------------------------------------------------------------------


@dataclass
class Soak:
    root: Path
    mode: Mode
    seed: int
    database_url: str | None = None
    report: SoakReport = field(init=False)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.report = SoakReport(self.mode, self.seed)
        self.rng = random.Random(self.seed)
        self.project = f"soak-{uuid.uuid4().hex[:8]}"
        self.data_dir = self.root / "dockyard"
        self.http: httpx.Client | None = None

    def run(self, cycles: int, drain_seconds: float) -> SoakReport:
        started = time.monotonic()
        sample = make_sample_repo(self.root / "git")
        sample.repo.commit({"Dockerfile": BUILD_DOCKERFILE}, "soak")
        env = {**PROCESS_ENV, "DOCKYARD_GIT_INSTEADOF": json.dumps(sample.repo.insteadof)}
        if self.database_url is not None:
            env["DOCKYARD_DATABASE_URL"] = self.database_url
        cluster = make_cluster(self.mode, self.data_dir, env, self.seed)
        watch: ContainerWatch | None = None
        submitter: Submitter | None = None
        try:
            token = cluster.start()
            with api_client(cluster.url, token) as http:
                data_of(http.post("/projects", json={"name": self.project}))
            http = self.http = api_client(cluster.url, token, self.project)
            create_jobs(http, sample.repo)
            watch = ContainerWatch(self.project)
            watch.start()
            submitter = Submitter(
                api_client(cluster.url, token, self.project), sample.repo, self.seed
            )
            submitter.start()
            self._cycles(cluster, cycles)
            submitter.stop()
            deadline = time.monotonic() + drain_seconds
            self._check(http, cluster.registry, watch, submitter, deadline)
            cluster.stop()
        finally:
            if submitter is not None:
                submitter.stopping.set()
                submitter.http.close()
            if self.http is not None:
                self.http.close()
            if watch is not None:
                watch.close()
            cluster.close()
            remove_containers(self.project)
            remove_images(f"{cluster.registry}/{self.project}/")
        self.report.seconds = time.monotonic() - started
        return self.report

    def _cycles(self, cluster: Cluster, cycles: int) -> None:
        """Kill at a random moment, start again; the last start stays up."""
        for _ in range(cycles):
            time.sleep(self.rng.uniform(*KILL_WINDOW))
            cluster.kill()
            self.report.kills += 1
            cluster.restart()
            self.report.cycles += 1

    def _check(
        self,
        http: httpx.Client,
        registry: str,
        watch: ContainerWatch,
        submitter: Submitter,
        deadline: float,
    ) -> None:
        rows = wait_concluded(http, deadline)
        self.report.not_accepted = submitter.not_accepted
        self.report.http_errors = submitter.errors
        check_rows(self.report, http, submitter.accepted, rows)
        check_images(self.report, registry, self.data_dir, rows)
        check_leftovers(self.report, watch, self.data_dir, rows)
        check_attempts(self.report, watch, rows)


def run_soak(
    root: Path,
    cycles: int,
    mode: Mode,
    seed: int,
    *,
    drain_seconds: float = DRAIN_SECONDS,
    database_url: str | None = None,
) -> SoakReport:
    """Soak dockyard under `root` (a fresh directory) for `cycles` kill-and-restart cycles,
    on `database_url` (an empty database; mode "workers" needs PostgreSQL) or SQLite."""
    if mode == "workers" and database_url is None:
        raise ValueError("mode 'workers' shares one PostgreSQL database: give its URL")
    return Soak(root, mode, seed, database_url).run(cycles, drain_seconds)
