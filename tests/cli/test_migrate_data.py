"""`dockyard migrate-data --to URL`: an installation on SQLite (a project, jobs with secrets, a
build, a run, their log lines, tokens) copied into an empty PostgreSQL database, where dockyard
then starts with the same key: the token lets in, the secrets open, the history reads the
same and new rows get fresh ids. And what it refuses, writing nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.app import create_app
from dockyard.backup.transfer import row_counts
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import run_in_session
from dockyard.logs import repository as logs
from tests.conftest import issue_token

pytestmark = pytest.mark.postgres

JOB = {"billing": {"deploymentPlan": "nf-compute-20"}, "backoffLimit": 0}
BUILT = JOB | {
    "name": "built",
    "runtimeEnvironment": {"TOKEN": "hunter2-built"},
    "deployment": {
        "vcs": {
            "projectUrl": "https://github.com/example/repo",
            "projectType": "github",
            "projectBranch": "main",
        }
    },
    "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
}
RAN = JOB | {
    "name": "ran",
    "runtimeEnvironment": {"TOKEN": "hunter2-ran"},
    "deployment": {"external": {"imagePath": "local/busybox:1"}},
}


def installation(data_dir: Path, database_url: str | None = None) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        registry="127.0.0.1:1",
        registry_autostart=False,
    )


def migrate_data(settings: Settings, to: str) -> subprocess.CompletedProcess[str]:
    env = {
        "DOCKYARD_DATA_DIR": str(settings.data_dir),
        "DOCKYARD_REGISTRY": settings.registry,
        "DOCKYARD_REGISTRY_AUTOSTART": "false",
    } | ({"DOCKYARD_DATABASE_URL": settings.database_url} if settings.database_url else {})
    return subprocess.run(
        [sys.executable, "-m", "dockyard", "migrate-data", "--to", to],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def serving(request: pytest.FixtureRequest) -> Iterator[Any]:
    """`serving(settings, token)`: a client of dockyard's API on `settings`, with the token."""
    clients: list[TestClient] = []

    def serve(settings: Settings, token: str) -> TestClient:
        client = TestClient(create_app(settings)).__enter__()
        clients.append(client)
        client.headers["Authorization"] = f"Bearer {token}"
        return client

    yield serve
    for client in clients:
        client.__exit__(None, None, None)


def post(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def get(client: TestClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def add_lines(settings: Settings, kind: str, owner: str, lines: list[str]) -> None:
    rows = [
        {"owner_kind": kind, "owner_id": owner, "container_id": "c1", "ts": utcnow(), "line": line}
        for line in lines
    ]

    async def work(session: Any) -> None:
        await logs.append(session, rows)
        await session.commit()

    asyncio.run(run_in_session(settings.resolved_database_url, work))


def history(client: TestClient, project: str, build: str, run: str) -> dict[str, Any]:
    jobs = f"/v1/projects/{project}/jobs"
    return {
        "jobs": [get(client, f"{jobs}/{job}") for job in ("built", "ran")],
        "secrets": [get(client, f"{jobs}/{job}/runtime-environment") for job in ("built", "ran")],
        "builds": get(client, f"{jobs}/built/build"),
        "build": get(client, f"{jobs}/built/build/{build}"),
        "run": get(client, f"{jobs}/ran/runs/{run}"),
        "build logs": get(client, f"{jobs}/built/build-logs?buildId={build}"),
        "run logs": get(client, f"{jobs}/ran/logs?runId={run}"),
    }


def test_migrate_data_moves_an_installation_onto_postgresql(
    tmp_path: Path, empty_postgres_database: str, serving: Any
) -> None:
    on_sqlite = installation(tmp_path / "data")
    token = issue_token(on_sqlite, name="admin", is_admin=True)
    issue_token(on_sqlite, name="reader", permissions=[])
    client = serving(on_sqlite, token)
    project = post(client, "/v1/projects", {"name": "Moved"})["id"]
    post(client, f"/v1/projects/{project}/jobs/manual", BUILT)
    post(client, f"/v1/projects/{project}/jobs/manual", RAN)
    build = post(client, f"/v1/projects/{project}/jobs/built/build", {"sha": "a" * 40})["id"]
    add_lines(on_sqlite, "build", build, ["#1 building", "#2 pushed"])
    run = post(client, f"/v1/projects/{project}/jobs/ran/runs", {})["id"]
    add_lines(on_sqlite, "run", run, ["hello from the run"])
    before = history(client, project, build, run)
    client.__exit__(None, None, None)

    done = migrate_data(on_sqlite, empty_postgres_database)

    assert done.returncode == 0, done.stderr
    counts = row_counts(on_sqlite.resolved_database_url)
    assert row_counts(empty_postgres_database) == counts
    assert counts["log_lines"] == 3 and counts["api_tokens"] == 2
    assert "log_lines: 3 rows" in done.stdout and "DOCKYARD_DATABASE_URL=" in done.stdout
    on_postgres = installation(tmp_path / "data", empty_postgres_database)
    moved = serving(on_postgres, token)
    assert history(moved, project, build, run) == before
    assert before["secrets"][0]["runtimeEnvironment"] == {"TOKEN": "hunter2-built"}
    again = post(moved, f"/v1/projects/{project}/jobs/built/build", {"sha": "b" * 40})["id"]
    assert [b["id"] for b in get(moved, f"/v1/projects/{project}/jobs/built/build")["builds"]][
        :2
    ] == [again, build]
    post(moved, "/v1/projects", {"name": "New after the move"})
    issue_token(on_postgres, name="new")
    assert row_counts(empty_postgres_database)["api_tokens"] == 3

    refused = migrate_data(on_sqlite, empty_postgres_database)

    assert refused.returncode == 1 and "is not empty" in refused.stderr, refused.stderr
    assert row_counts(empty_postgres_database)["api_tokens"] == 3


def test_migrate_data_refuses_a_source_that_is_not_sqlite(
    tmp_path: Path, empty_postgres_database: str
) -> None:
    on_postgres = installation(tmp_path / "data", empty_postgres_database)

    done = migrate_data(on_postgres, empty_postgres_database)

    assert done.returncode == 1 and "copies from SQLite" in done.stderr, done.stderr
