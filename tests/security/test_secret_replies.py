"""A token that may write a job or a build service but not read its secrets sees no secret
value in the write's reply, exactly as GET shows the resource to everyone; with the secrets
read permission the reply to a write carries them."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import token_with
from tests.helpers import minimal_job, minimal_service
from tests.ui.conftest import log_in

MARKER = f"leak-{uuid.uuid4().hex}"
SECRET_FILE = {"/etc/app/key.pem": {"data": base64.b64encode(MARKER.encode()).decode()}}


def secret_job(name: str) -> dict[str, Any]:
    return minimal_job(
        name, runtimeEnvironment={"TOKEN": MARKER}, buildArguments={"NPM_TOKEN": MARKER}
    )


def secret_cron_job(name: str) -> dict[str, Any]:
    return secret_job(name) | {"schedule": "*/5 * * * *"}


def secret_service(name: str) -> dict[str, Any]:
    return minimal_service(name, buildArguments={"NPM_TOKEN": MARKER})


# (method, path under the project, body, the write permission, the secrets read permission)
WRITES: list[tuple[str, str, dict[str, Any], Permission, Permission]] = [
    (
        "POST",
        "/jobs/manual",
        secret_job("Fresh Job"),
        Permission.JOBS_CREATE,
        Permission.JOB_SECRETS_READ,
    ),
    (
        "PUT",
        "/jobs/manual",
        secret_job("Victim Job"),
        Permission.JOBS_CREATE,
        Permission.JOB_SECRETS_READ,
    ),
    (
        "PATCH",
        "/jobs/manual/victim-job",
        {"description": "x"},
        Permission.JOBS_UPDATE,
        Permission.JOB_SECRETS_READ,
    ),
    (
        "POST",
        "/jobs/cron",
        secret_cron_job("Fresh Cron"),
        Permission.JOBS_CREATE,
        Permission.JOB_SECRETS_READ,
    ),
    (
        "PATCH",
        "/jobs/cron/victim-cron",
        {"description": "x"},
        Permission.JOBS_UPDATE,
        Permission.JOB_SECRETS_READ,
    ),
    (
        "POST",
        "/services/build",
        secret_service("Fresh Service"),
        Permission.SERVICES_CREATE,
        Permission.SERVICE_SECRETS_READ,
    ),
    (
        "PUT",
        "/services/build",
        secret_service("Victim Service"),
        Permission.SERVICES_CREATE,
        Permission.SERVICE_SECRETS_READ,
    ),
    (
        "PATCH",
        "/services/build/victim-service",
        {"description": "x"},
        Permission.SERVICES_UPDATE,
        Permission.SERVICE_SECRETS_READ,
    ),
]
READS = ["/jobs", "/jobs/victim-job", "/jobs/victim-cron", "/services", "/services/victim-service"]


@pytest.fixture
def victims(client: TestClient, project: str) -> str:
    for path, body in [
        ("/jobs/manual", secret_job("Victim Job")),
        ("/jobs/cron", secret_cron_job("Victim Cron")),
        ("/services/build", secret_service("Victim Service")),
    ]:
        made = client.post(f"/v1/projects/{project}{path}", json=body)
        assert made.status_code == 200, made.text
    return project


def shows_secret(response: Any) -> bool:
    return MARKER in json.dumps(response.json())


@pytest.mark.parametrize(("method", "path", "body", "write", "read"), WRITES)
def test_a_write_shows_secret_values_only_to_a_secrets_reader(
    app_client: TestClient,
    settings: Settings,
    victims: str,
    method: str,
    path: str,
    body: dict[str, Any],
    write: Permission,
    read: Permission,
) -> None:
    url = f"/v1/projects/{victims}{path}"
    writer = {"Authorization": f"Bearer {token_with(settings, write)}"}
    blind = app_client.request(method, url, json=body, headers=writer)
    assert blind.status_code == 200, blind.text
    assert not shows_secret(blind), blind.text

    reader = {"Authorization": f"Bearer {token_with(settings, write, read)}"}
    again = body | {"name": f"{body['name']} Again"} if method == "POST" else body
    seen = app_client.request(method, url, json=again, headers=reader)
    assert seen.status_code == 200, seen.text
    assert shows_secret(seen), seen.text


def test_reads_show_no_secret_value_even_to_a_secrets_reader(
    app_client: TestClient, settings: Settings, victims: str
) -> None:
    everything = {"Authorization": f"Bearer {token_with(settings, *Permission)}"}
    for path in READS:
        got = app_client.get(f"/v1/projects/{victims}{path}", headers=everything)
        assert got.status_code == 200, got.text
        assert not shows_secret(got), (path, got.text)


def test_dashboard_pages_show_no_secret_value_even_to_an_admin(
    client: TestClient, admin_token: str, victims: str
) -> None:
    """The dashboard renders what GET shows: job, cron job and service pages, and the
    project's page listing them, carry no secret value."""
    del client.headers["Authorization"]
    log_in(client, admin_token)
    base = f"/ui/projects/{victims}"
    for page in [base, f"{base}/jobs/victim-job", f"{base}/jobs/victim-cron"]:
        shown = client.get(page)
        assert shown.status_code == 200, (page, shown.text)
        assert "Victim" in shown.text and MARKER not in shown.text, page
    service = client.get(f"{base}/services/victim-service")
    assert service.status_code == 200 and MARKER not in service.text
