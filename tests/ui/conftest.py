"""Dashboard test helpers: logging a TestClient in through the login form, reading the CSRF
token of a page, and a job and a service made through the API."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.helpers import minimal_service

REPOSITORY = "https://git.example.test/acme/app"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found[1]


def log_in(client: TestClient, token: str) -> str:
    """Log in through the form; the CSRF token of the new session."""
    form = client.get("/ui/login")
    answer = client.post(
        "/ui/login",
        data={"token": token, "csrf": csrf_of(form.text), "next": "/ui/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/ui/").text)


def vcs_job_body(name: str) -> dict[str, object]:
    return {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "vcs": {"projectUrl": REPOSITORY, "projectType": "github", "projectBranch": "main"}
        },
        "buildSettings": {
            "dockerfile": {
                "buildEngine": "buildkit",
                "dockerFilePath": "/Dockerfile",
                "dockerWorkDir": "/",
            }
        },
    }


@pytest.fixture
def job(client: TestClient, project: str) -> str:
    """A job building from git (no worker runs here: its builds stay QUEUED)."""
    created = client.post(f"/v1/projects/{project}/jobs/manual", json=vcs_job_body("Builder"))
    assert created.status_code == 200, created.text
    job_id: str = created.json()["data"]["id"]
    return job_id


@pytest.fixture
def service(client: TestClient, project: str) -> str:
    created = client.post(f"/v1/projects/{project}/services/build", json=minimal_service("Site"))
    assert created.status_code == 200, created.text
    service_id: str = created.json()["data"]["id"]
    return service_id


@pytest.fixture
def build(client: TestClient, project: str, job: str) -> str:
    started = client.post(f"/v1/projects/{project}/jobs/{job}/build", json={})
    assert started.status_code == 200, started.text
    build_id: str = started.json()["data"]["id"]
    return build_id
