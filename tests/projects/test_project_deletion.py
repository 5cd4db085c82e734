"""Deleting a project with `delete_child_objects` takes its jobs and services as their own
DELETEs would: their runs, builds and the log lines of both go too, in one transaction."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds.models import Build
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import run_in_session
from dockyard.logs import repository as logs
from dockyard.logs.models import LogLine
from dockyard.logs.repository import NewLine
from dockyard.runs.models import JobRun
from tests.helpers import minimal_job, minimal_service


def _store_lines(settings: Settings, owners: list[tuple[str, str]]) -> None:
    rows = [NewLine(kind, owner, "c", False, utcnow(), "x") for kind, owner in owners]

    async def append(session: AsyncSession) -> None:
        await logs.append_many(session, rows)
        await session.commit()

    asyncio.run(run_in_session(settings.resolved_database_url, append))


def _count(settings: Settings, table: type[LogLine | JobRun | Build]) -> int:
    async def count(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)

    return asyncio.run(run_in_session(settings.resolved_database_url, count))


def test_children_go_with_their_runs_builds_and_lines(
    client: TestClient, settings: Settings, project: str
) -> None:
    url = f"/v1/projects/{project}"
    job = minimal_job("Runner", deployment={"external": {"imagePath": "local/busybox:1"}})
    assert client.post(f"{url}/jobs/manual", json=job).status_code == 200
    run = client.post(f"{url}/jobs/runner/runs", json={})
    assert run.status_code == 200, run.text
    assert client.post(f"{url}/services/build", json=minimal_service()).status_code == 200
    build = client.post(f"{url}/services/minimal-service/build", json={"branch": "main"})
    assert build.status_code == 200, build.text
    owners = [("run", run.json()["data"]["id"]), ("build", build.json()["data"]["id"])]
    _store_lines(settings, owners)
    assert _count(settings, LogLine) == 2

    deleted = client.delete(url, params={"delete_child_objects": "true"})

    assert deleted.status_code == 200, deleted.text
    assert _count(settings, LogLine) == 0
    assert _count(settings, JobRun) == 0
    assert _count(settings, Build) == 0
