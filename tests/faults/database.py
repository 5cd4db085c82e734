"""Database faults to inject into a live dockyard, each one a helper a long bench mode can loop:

- `PostgresCluster`: a PostgreSQL server of the test's own (initdb + pg_ctl on a free port in
  a temp dir, never the shared one), which `restart` stops and starts again after a pause;
- `SqliteLock`: another process holds a SQLite file locked (BEGIN EXCLUSIVE);
- `BlackHoleProxy`: a TCP proxy in front of the database that `pause` makes stop forwarding
  without closing anything, so its clients' statements hang, until `resume`;
- `ApiProbe`: a stream of API reads recording every answer (status, error code), to show
  what the user sees while the database is away.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import docker
import httpx

from tests.live import DOCKER_HOST, free_port
from tests.reliability.soak import (
    KILL_WINDOW,
    Cluster,
    Soak,
    SoakReport,
    data_of,
)

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRES_USER = "dockyard"


def _as_postgres_owner() -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` account then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PostgresCluster:
    """A PostgreSQL server of its own on 127.0.0.1:`port`, data in a temp dir, trust auth,
    with one database `dockyard` owned by the superuser `dockyard`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="dockyard-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{POSTGRES_USER}@127.0.0.1:{self.port}/dockyard"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*_as_postgres_owner(), str(POSTGRES_BIN / tool), *args],
            check=True,
            capture_output=True,
            cwd=self.root,
        )

    def create(self) -> PostgresCluster:
        self._run("initdb", "-D", str(self.data), "-U", POSTGRES_USER, "--auth=trust", "-E", "UTF8")
        self.start()
        self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", POSTGRES_USER, "dockyard"
        )
        return self

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", log, "-o", options)

    def stop(self) -> None:
        """Fast shutdown: the server ends every session (clients see their connection
        terminated) and stops; connecting is refused until `start`."""
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    # As a fault of the database soak: the server is gone from `begin` to `end`.
    begin = stop
    end = start

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster().create()
    try:
        yield cluster
    finally:
        cluster.destroy()


HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


class SqliteLock:
    """Another process holding the SQLite database at `path` locked (BEGIN EXCLUSIVE: no other
    connection may write; in WAL mode readers still read) from `begin` to `end`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holder: subprocess.Popen[str] | None = None

    def begin(self) -> None:
        """Returns once the lock is held."""
        holder = self.holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        line = holder.stdout.readline()
        if line.strip() != "locked":
            holder.kill()
            raise RuntimeError(f"the lock holder did not lock {self.path}: {line!r}")

    def end(self) -> None:
        assert self.holder is not None and self.holder.stdin is not None
        self.holder.stdin.close()
        self.holder.wait(timeout=10)
        self.holder = None


class BlackHoleProxy:
    """A TCP proxy from 127.0.0.1:`port` to `target_port`. `pause` black-holes it: every
    connection stays open, new ones are accepted, nothing is forwarded either way (what a
    client sees of a hung server or a stalled network path); `resume` forwards what was held
    back and carries on."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.forwarding = threading.Event()
        self.forwarding.set()
        self.closed = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="proxy accept", daemon=True).start()

    def pause(self) -> None:
        self.forwarding.clear()

    def resume(self) -> None:
        self.forwarding.set()

    def close(self) -> None:
        self.closed.set()
        self.forwarding.set()
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self._wait_forwarding()
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _wait_forwarding(self) -> None:
        while not self.forwarding.wait(0.1):
            if self.closed.is_set():
                return

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                self._wait_forwarding()
                data = source.recv(65536)
                if not data:
                    break
                self._wait_forwarding()
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@dataclass
class Answer:
    status: int | None  # None: no answer within the client's timeout, or the connection failed
    code: str | None  # the error envelope's id
    seconds: float


class ApiProbe(threading.Thread):
    """GETs each of `paths` in turn until stopped, recording every answer."""

    def __init__(self, http: httpx.Client, paths: list[str], pause: float = 0.2) -> None:
        super().__init__(name="api probe", daemon=True)
        self.http = http
        self.paths = paths
        self.pause = pause
        self.answers: list[Answer] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.pause):
            for path in self.paths:
                self.answers.append(self._get(path))

    def _get(self, path: str) -> Answer:
        started = time.monotonic()
        try:
            response = self.http.get(path)
        except httpx.TransportError:
            return Answer(None, None, time.monotonic() - started)
        code = None
        if response.status_code != 200:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                code = response.json()["error"]["id"]
        return Answer(response.status_code, code, time.monotonic() - started)

    def stop(self) -> list[Answer]:
        self.stopping.set()
        self.join()
        return self.answers


def statuses(answers: list[Answer]) -> Counter[str]:
    """How many answers of each status ("200", "503 database-unavailable", "None": none)."""
    return Counter(f"{a.status} {a.code}" if a.code else str(a.status) for a in answers)


class Fault(Protocol):
    def begin(self) -> None:
        """The database is gone (or locked) from here..."""

    def end(self) -> None:
        """...to here."""


PROBE_TIMEOUT_SECONDS = 20.0
RUNNING_WITHIN_SECONDS = 30.0
UNAVAILABLE = "database-unavailable"


@dataclass
class DatabaseFaultSoak(Soak):
    """The crash soak's stream of builds and runs, its checks and report (tests.reliability.
    soak), with a database fault instead of kills: each cycle starts a run of the soak's slow
    job, waits for its container, takes the database away for `down_seconds` (longer than the
    job's sleep: the container exits meanwhile) and brings it back. `answers` are what an
    `ApiProbe` got meanwhile, `exited_meanwhile` the runs whose container exited while the
    database was gone."""

    fault: Fault | None = None
    down_seconds: float = 4.0
    answers: list[Answer] = field(default_factory=list)
    exited_meanwhile: set[str] = field(default_factory=set)

    def _cycles(self, cluster: Cluster, cycles: int) -> None:
        assert self.fault is not None and self.http is not None
        probing = httpx.Client(
            base_url=self.http.base_url, headers=self.http.headers, timeout=PROBE_TIMEOUT_SECONDS
        )
        probe = ApiProbe(probing, ["/jobs/slow/runs", "/jobs"])
        probe.start()
        try:
            for _ in range(cycles):
                run_id = data_of(self.http.post("/jobs/slow/runs", json={}))["id"]
                wait_for_container(run_id, "running")
                self.fault.begin()
                time.sleep(self.down_seconds)
                self.exited_meanwhile |= exited_runs(self.project)
                self.fault.end()
                self.report.cycles += 1
                time.sleep(self.rng.uniform(*KILL_WINDOW))
        finally:
            self.answers = probe.stop()
            probing.close()


def take_unavailable(report: SoakReport) -> int:
    """How many of the report's error answers were 503 database-unavailable, which are taken
    out of them (what the user is told while the database is away)."""
    unavailable = [e for e in report.http_errors if " 503 " in e and UNAVAILABLE in e]
    report.http_errors = [e for e in report.http_errors if e not in unavailable]
    return len(unavailable)


def wait_for_container(run_id: str, status: str) -> None:
    """Until a container of the run is in `status` (running, exited)."""
    deadline = time.monotonic() + RUNNING_WITHIN_SECONDS
    with docker.APIClient(base_url=DOCKER_HOST) as api:
        filters = {"label": f"dockyard.run={run_id}", "status": status}
        while not api.containers(all=True, filters=filters):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no container of run {run_id} {status} within the bound")
            time.sleep(0.1)


def exited_runs(project: str) -> set[str]:
    """The runs of `project` with an exited container not removed yet."""
    with docker.APIClient(base_url=DOCKER_HOST) as api:
        filters = {"label": f"dockyard.project={project}", "status": "exited"}
        return {c["Labels"]["dockyard.run"] for c in api.containers(all=True, filters=filters)}
