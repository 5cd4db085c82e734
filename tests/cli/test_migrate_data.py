"""`dockyard migrate-data --to URL`: an installation on SQLite (a project, jobs with secrets, a
build, a run, their log lines, tokens) copied into an empty PostgreSQL database, where dockyard
then starts with the same key: the token lets in, the secrets open, the history reads the
same and new rows get fresh ids. And what it refuses, writing nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from dockyard.app import create_app
from dockyard.backup.transfer import row_counts
from dockyard.cli.main import app
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import run_in_session
from dockyard.logs import repository as logs
from dockyard.logs.repository import NewLine
from tests.conftest import issue_token
from tests.helpers import IMAGE_JOB, VCS_JOB, created_id, minimal_job

pytestmark = pytest.mark.postgres

BUILT = minimal_job("built", runtimeEnvironment={"TOKEN": "hunter2-built"}, **VCS_JOB)
RAN = minimal_job("ran", runtimeEnvironment={"TOKEN": "hunter2-ran"}, **IMAGE_JOB)


def installation(data_dir: Path, database_url: str | None = None) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        registry="127.0.0.1:1",
        registry_autostart=False,
    )


def migrate_data(settings: Settings, to: str) -> Result:
    """`dockyard migrate-data --to <to>` on the installation of `settings`."""
    env = {
        "DOCKYARD_DATA_DIR": str(settings.data_dir),
        "DOCKYARD_REGISTRY": settings.registry,
        "DOCKYARD_REGISTRY_AUTOSTART": "false",
        "DOCKYARD_DATABASE_URL": settings.database_url,
    }
    return CliRunner().invoke(app, ["migrate-data", "--to", to], env=env)


def serving(settings: Settings, token: str) -> TestClient:
    """A client of dockyard's API on `settings`, with the token (enter it to start)."""
    client = TestClient(create_app(settings))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def new_project(client: TestClient, name: str) -> str:
    reply = client.post("/v1/projects", json={"name": name})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["data"]["id"])


def get(client: TestClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def add_lines(settings: Settings, kind: str, owner: str, lines: list[str]) -> None:
    rows = [NewLine(kind, owner, "c1", False, utcnow(), line) for line in lines]

    async def work(session: Any) -> None:
        await logs.append_many(session, rows)
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
    tmp_path: Path, empty_postgres_database: str
) -> None:
    on_sqlite = installation(tmp_path / "data")
    token = issue_token(on_sqlite, name="admin", is_admin=True)
    issue_token(on_sqlite, name="reader", permissions=[])
    with serving(on_sqlite, token) as client:
        project = new_project(client, "Moved")
        created_id(client, project, "/jobs/manual", BUILT)
        created_id(client, project, "/jobs/manual", RAN)
        build = created_id(client, project, "/jobs/built/build", {"sha": "a" * 40})
        add_lines(on_sqlite, "build", build, ["#1 building", "#2 pushed"])
        run = created_id(client, project, "/jobs/ran/runs", {})
        add_lines(on_sqlite, "run", run, ["hello from the run"])
        before = history(client, project, build, run)

    done = migrate_data(on_sqlite, empty_postgres_database)

    assert done.exit_code == 0, done.output
    counts = row_counts(on_sqlite.resolved_database_url)
    assert row_counts(empty_postgres_database) == counts
    assert counts["log_lines"] == 3 and counts["api_tokens"] == 2
    assert "log_lines: 3 rows" in done.stdout and "DOCKYARD_DATABASE_URL=" in done.stdout
    on_postgres = installation(tmp_path / "data", empty_postgres_database)
    with serving(on_postgres, token) as moved:
        assert history(moved, project, build, run) == before
        assert before["secrets"][0]["runtimeEnvironment"] == {"TOKEN": "hunter2-built"}
        again = created_id(moved, project, "/jobs/built/build", {"sha": "b" * 40})
        builds = get(moved, f"/v1/projects/{project}/jobs/built/build")["builds"]
        assert [listed["id"] for listed in builds] == [again, build]
        new_project(moved, "New after the move")  # a new row: the ids' sequence was reset
    issue_token(on_postgres, name="new")
    assert row_counts(empty_postgres_database)["api_tokens"] == 3

    refused = migrate_data(on_sqlite, empty_postgres_database)

    assert refused.exit_code == 1 and "is not empty" in refused.stderr, refused.output
    assert row_counts(empty_postgres_database)["api_tokens"] == 3
    from_postgres = migrate_data(on_postgres, empty_postgres_database)
    assert from_postgres.exit_code == 1 and "copies from SQLite" in from_postgres.stderr
