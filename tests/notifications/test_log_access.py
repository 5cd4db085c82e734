"""Log lines in notifications reach only integrations whose creator (or last updater) could
read them: a token with Notifications > Create alone gets `logLines: []` and no Slack log
block; with View Observability of jobs or of services, that kind's lines."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from dockyard.auth.permissions import Permission
from dockyard.builds.models import Build
from dockyard.builds.notices import build_moved
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import Database
from dockyard.logs import repository as logs_repository
from dockyard.logs.repository import NewLine
from dockyard.notifications.models import NotificationDelivery, NotificationIntegration
from dockyard.notifications.payloads import slack_body
from tests.conftest import token_with
from tests.helpers import VCS_JOB, minimal_job, minimal_service
from tests.notifications.conftest import webhook

URL = "http://127.0.0.1:9/hook"
FAILURE = "trigger:build:failure"
LINE = "secret-looking build output"
CREATE = Permission.NOTIFICATIONS_CREATE


def create_as(
    app_client: TestClient, settings: Settings, project: str, name: str, *held: Permission
) -> str:
    token = token_with(settings, *held, projects=[project])
    reply = app_client.post(
        f"/v1/projects/{project}/notifications",
        json=webhook(name, URL, FAILURE),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 200, reply.text
    integration_id: str = reply.json()["data"]["id"]
    return integration_id


def fail_build(settings: Settings, build_id: str) -> dict[str, dict[str, Any]]:
    """Log a line of the build, fail it as the worker would, and return each integration's
    delivery payload."""

    async def scenario() -> dict[str, dict[str, Any]]:
        database = Database(settings.resolved_database_url)
        try:
            async with database.sessions() as session:
                build = (
                    await session.execute(select(Build).where(Build.id == build_id))
                ).scalar_one()
                row = NewLine("build", build_id, "c", False, utcnow(), LINE)
                await logs_repository.append_many(session, [row])
                build.status = "FAILURE"
                build.concluded_at = utcnow()
                await build_moved(session, build)
                await session.commit()
                found = await session.execute(
                    select(NotificationIntegration.id, NotificationDelivery.payload)
                    .join(NotificationIntegration)
                    .where(NotificationDelivery.payload["buildId"].as_string() == build_id)
                )
                return {integration_id: payload for integration_id, payload in found.all()}
        finally:
            await database.dispose()

    return asyncio.run(scenario())


def test_build_logs_reach_only_integrations_made_by_observers(
    app_client: TestClient, settings: Settings, client: TestClient, project: str
) -> None:
    base = f"/v1/projects/{project}"
    assert client.post(f"{base}/services/build", json=minimal_service()).status_code == 200
    job = client.post(f"{base}/jobs/manual", json=minimal_job(**VCS_JOB))
    assert job.status_code == 200, job.text
    create_only = create_as(app_client, settings, project, "create only", CREATE)
    services = create_as(
        app_client, settings, project, "services", CREATE, Permission.SERVICES_OBSERVE
    )
    jobs = create_as(app_client, settings, project, "jobs", CREATE, Permission.JOBS_OBSERVE)

    service_build = client.post(f"{base}/services/minimal-service/build", json={"branch": "main"})
    job_build = client.post(f"{base}/jobs/minimal-job/build", json={})
    assert service_build.status_code == 200 and job_build.status_code == 200, job_build.text

    of_service = fail_build(settings, service_build.json()["data"]["id"])
    assert {i: p["logLines"] for i, p in of_service.items()} == {
        create_only: [],
        services: [LINE],
        jobs: [],
    }
    of_job = fail_build(settings, job_build.json()["data"]["id"])
    assert {i: p["logLines"] for i, p in of_job.items()} == {
        create_only: [],
        services: [],
        jobs: [LINE],
    }
    slack = json.loads(slack_body(of_service[create_only], "https://dockyard.example"))
    assert LINE not in json.dumps(slack)


def test_the_last_update_decides(
    app_client: TestClient, settings: Settings, client: TestClient, project: str
) -> None:
    """An update by a token without Observe takes the logs away; one with it gives them."""
    base = f"/v1/projects/{project}"
    assert client.post(f"{base}/services/build", json=minimal_service()).status_code == 200
    hook = create_as(app_client, settings, project, "hook", CREATE, Permission.SERVICES_OBSERVE)

    def update_as(*held: Permission) -> None:
        token = token_with(settings, Permission.NOTIFICATIONS_UPDATE, *held, projects=[project])
        reply = app_client.post(
            f"{base}/notifications/{hook}",
            json={"name": "hook"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert reply.status_code == 200, reply.text

    def lines_of_a_failed_build() -> list[str]:
        build = client.post(f"{base}/services/minimal-service/build", json={"branch": "main"})
        assert build.status_code == 200, build.text
        lines: list[str] = fail_build(settings, build.json()["data"]["id"])[hook]["logLines"]
        return lines

    update_as()
    assert lines_of_a_failed_build() == []
    update_as(Permission.SERVICES_OBSERVE)
    assert lines_of_a_failed_build() == [LINE]
