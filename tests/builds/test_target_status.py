"""A job's and a build service's GET show `status.build` from their own newest build: not an
older one, not one of a target of the other kind with the same id, not another target's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from dockyard.builds.models import Build
from dockyard.config import Settings
from dockyard.db.session import Database
from tests.helpers import IMAGE_JOB, created_id, minimal_job, minimal_service

CHANGED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def store_builds(url: str, project: str, builds: list[tuple[str, str, str]]) -> None:
    """(target kind, target id, status) each, oldest first."""
    database = Database(url)
    try:
        async with database.sessions() as session:
            for number, (kind, target_id, status) in enumerate(builds):
                session.add(
                    Build(
                        id=f"build-{number}",
                        project_id=project,
                        target_kind=kind,
                        target_id=target_id,
                        recipe={},
                        status=status,
                        updated_at=CHANGED,
                    )
                )
                await session.flush()  # in this order: the newest has the highest key
            await session.commit()
    finally:
        await database.dispose()


def build_status(client: TestClient, path: str) -> object:
    reply = client.get(path)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]["status"]


def test_get_shows_the_newest_build_of_that_target(
    settings: Settings, client: TestClient, project: str
) -> None:
    job = created_id(client, project, "/jobs/manual", minimal_job("Shared Name", **IMAGE_JOB))
    service = created_id(client, project, "/services/build", minimal_service("Shared Name"))
    other = created_id(client, project, "/jobs/manual", minimal_job("Other", **IMAGE_JOB))
    unbuilt = created_id(client, project, "/jobs/manual", minimal_job("Unbuilt", **IMAGE_JOB))
    assert job == service
    builds = [
        ("job", job, "FAILURE"),
        ("job", job, "BUILDING"),
        ("service", service, "SUCCESS"),
        ("job", other, "QUEUED"),
    ]
    asyncio.run(store_builds(settings.resolved_database_url, project, builds))

    url = f"/v1/projects/{project}"
    changed = "2026-01-02T03:04:05.000Z"
    assert build_status(client, f"{url}/jobs/{job}") == {
        "build": {"status": "BUILDING", "lastTransitionTime": changed}
    }
    assert build_status(client, f"{url}/services/{service}") == {
        "build": {"status": "SUCCESS", "lastTransitionTime": changed}
    }
    assert build_status(client, f"{url}/jobs/{other}") == {
        "build": {"status": "QUEUED", "lastTransitionTime": changed}
    }
    assert build_status(client, f"{url}/jobs/{unbuilt}") == {}
