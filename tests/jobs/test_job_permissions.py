"""Each jobs endpoint behind the permission its page names, and project scope."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import assert_error
from tests.helpers import assert_needs_permission, minimal_job, page_examples

SOURCE = page_examples("update-job-build-source.md")[0]
# (method, path under the project, body, the permission the page / the SDK names)
ENDPOINTS: list[tuple[str, str, Any, Permission]] = [
    ("POST", "/jobs/manual", minimal_job("Other Job"), Permission.JOBS_CREATE),
    ("PUT", "/jobs/manual", minimal_job("Other Job"), Permission.JOBS_CREATE),
    ("PATCH", "/jobs/manual/scoped-job", {"backoffLimit": 2}, Permission.JOBS_UPDATE),
    ("GET", "/jobs", None, Permission.JOBS_READ),
    ("GET", "/jobs/scoped-job", None, Permission.JOBS_READ),
    ("POST", "/jobs/scoped-job/build-source", SOURCE, Permission.JOBS_UPDATE),
    ("DELETE", "/jobs/scoped-job", None, Permission.JOBS_DELETE),
]


@pytest.fixture
def job(client: TestClient, project: str) -> str:
    response = client.post(f"/v1/projects/{project}/jobs/manual", json=minimal_job("Scoped Job"))
    assert response.status_code == 200, response.text
    return "scoped-job"


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS)
def test_each_endpoint_needs_its_permission_and_project(
    app_client: TestClient,
    settings: Settings,
    project: str,
    job: str,
    method: str,
    path: str,
    body: Any,
    permission: Permission,
) -> None:
    assert_needs_permission(app_client, settings, project, (method, path, body), permission)


def test_team_alias_serves_jobs_and_unknown_team_is_404(
    client: TestClient, project: str, job: str
) -> None:
    got = client.get(f"/v1/teams/dockyard/projects/{project}/jobs/{job}")
    assert got.status_code == 200 and got.json()["data"]["id"] == job
    assert_error(client.get(f"/v1/teams/elsewhere/projects/{project}/jobs/{job}"), 404)
    created = client.post(
        f"/v1/teams/dockyard/projects/{project}/jobs/manual", json=minimal_job("Via Team")
    )
    assert created.status_code == 200, created.text


def test_jobs_are_scoped_to_their_project(client: TestClient, project: str, job: str) -> None:
    client.post("/v1/projects", json={"name": "Second"})
    assert client.get("/v1/projects/second/jobs").json()["data"]["jobs"] == []
    assert_error(client.get(f"/v1/projects/second/jobs/{job}"), 404)
    same_name = client.post("/v1/projects/second/jobs/manual", json=minimal_job("Scoped Job"))
    assert same_name.status_code == 200
    assert (
        same_name.json()["data"]["uid"]
        != client.get(f"/v1/projects/{project}/jobs/{job}").json()["data"]["uid"]
    )
