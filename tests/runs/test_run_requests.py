"""Start-run requests: bad bodies are 400s naming the field, nothing to run is 409, unknown
ids are 404, and the permission is Run Job; nothing is written on any of them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import assert_error, token_with
from tests.helpers import minimal_job


def external_job(client: TestClient, project: str, **fields: Any) -> str:
    body = minimal_job(
        "Runner", deployment={"external": {"imagePath": "local/busybox:1"}}, **fields
    )
    response = client.post(f"/v1/projects/{project}/jobs/manual", json=body)
    assert response.status_code == 200, response.text
    job_id: str = response.json()["data"]["id"]
    return job_id


def runs_of(client: TestClient, project: str, job: str) -> list[dict[str, Any]]:
    listed = client.get(f"/v1/projects/{project}/jobs/{job}/runs")
    assert listed.status_code == 200, listed.text
    runs: list[dict[str, Any]] = listed.json()["data"]["runs"]
    return runs


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"runtimeEnvironment": {"A": 1}}, "runtimeEnvironment.A"),
        ({"billing": {"deploymentPlan": "no spaces allowed"}}, "billing.deploymentPlan"),
        (
            {"deployment": {"internal": {"id": "abc"}, "external": {"imagePath": "a/b:1"}}},
            "deployment",
        ),
        (
            {"deployment": {"external": {"imagePath": "not an image"}}},
            "deployment.external.imagePath",
        ),
        ({"runtimeFiles": {"relative/path": {"data": "YQ=="}}}, "runtimeFiles"),
        ({"unknown": True}, "unknown"),
    ],
)
def test_bad_bodies_are_400(
    client: TestClient, project: str, body: dict[str, Any], path: str
) -> None:
    job = external_job(client, project)

    response = client.post(f"/v1/projects/{project}/jobs/{job}/runs", json=body)

    error = assert_error(response, 400)
    assert any(key.startswith(path) for key in error["details"]), error["details"]
    assert runs_of(client, project, job) == []


def test_nothing_to_run_is_409(client: TestClient, project: str) -> None:
    response = client.post(f"/v1/projects/{project}/jobs/manual", json=minimal_job("No Image"))
    assert response.status_code == 200, response.text

    started = client.post(f"/v1/projects/{project}/jobs/no-image/runs", json={})

    assert_error(started, 409)
    assert runs_of(client, project, "no-image") == []


def test_unknown_plan_is_409_and_unknown_internal_id_is_404(
    client: TestClient, project: str
) -> None:
    job = external_job(client, project)
    url = f"/v1/projects/{project}/jobs/{job}/runs"

    assert_error(client.post(url, json={"billing": {"deploymentPlan": "nf-compute-9000"}}), 409)
    missing = {"deployment": {"internal": {"id": "no-such-service"}}}
    assert_error(client.post(url, json=missing), 404)
    assert_error(client.get(f"{url}/no-such-run"), 404)
    assert_error(client.delete(f"{url}/no-such-run"), 404)
    assert_error(client.post(f"/v1/projects/{project}/jobs/nope/runs", json={}), 404)
    assert runs_of(client, project, job) == []


def test_a_queued_run_is_listed_and_aborted(client: TestClient, project: str) -> None:
    """No worker runs in this app: the run stays queued (shown RUNNING, active 0)."""
    job = external_job(client, project)
    url = f"/v1/projects/{project}/jobs/{job}/runs"
    started = client.post(url, json={}).json()["data"]

    run = client.get(f"{url}/{started['id']}").json()["data"]
    assert (run["status"], run["active"], run["concluded"]) == ("RUNNING", 0, False)
    assert run["startedAt"] is None and run["concludedAt"] is None
    aborted = client.delete(f"{url}/{started['id']}").json()["data"]
    assert (aborted["status"], aborted["concluded"]) == ("FAILED", True)
    assert_error(client.delete(f"{url}/{started['id']}"), 409)


def test_starting_needs_run_job(client: TestClient, project: str, settings: Settings) -> None:
    job = external_job(client, project)
    url = f"/v1/projects/{project}/jobs/{job}/runs"

    def as_token(token: str) -> Any:
        return client.post(url, json={}, headers={"Authorization": f"Bearer {token}"})

    assert_error(as_token("not-a-token"), 401)
    assert_error(as_token(token_with(settings, Permission.JOBS_READ)), 403)
    assert as_token(token_with(settings, Permission.JOBS_RUN)).status_code == 200
