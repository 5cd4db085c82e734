"""Projects' webhook secrets: set (made by the server or given), shown once, replaced, listed
without values, deleted, sealed at rest; a delivery a project's secret signs builds that
project's jobs only and its answer counts no other project's; the operator's secret still
builds every project's; deliveries are deduplicated per signer. On a real git repository,
through the API, on SQLite and PostgreSQL (no worker: builds stay queued)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from dockyard.auth.permissions import Permission
from dockyard.ci.models import webhook_secret_context
from dockyard.config import Settings
from dockyard.db.session import sync_url
from dockyard.secrets.crypto import SecretBox
from tests.conftest import assert_error, token_with
from tests.gitrepos import SAMPLE_DOCKERFILE, GitRepo
from tests.helpers import minimal_job

OPERATOR_SECRET = "operator-webhook-secret"
ALPHA_SECRET = "alpha-webhook-secret-0123456789"
BETA_SECRET = "beta-webhook-secret-0123456789"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "git")
    repo.commit({"Dockerfile": SAMPLE_DOCKERFILE, "hello.txt": "v1\n"}, "first")
    return repo


@pytest.fixture
def settings(settings: Settings, repo: GitRepo) -> Settings:
    return settings.model_copy(
        update={"webhook_secret": OPERATOR_SECRET, "git_insteadof": repo.insteadof}
    )


def new_project(client: TestClient, name: str) -> str:
    reply = client.post("/v1/projects", json={"name": name})
    assert reply.status_code == 200, reply.text
    project_id: str = reply.json()["data"]["id"]
    return project_id


def new_job(client: TestClient, project: str, repo: GitRepo) -> str:
    body = minimal_job(
        "Deploy",
        deployment={
            "vcs": {"projectUrl": repo.url, "projectType": "github", "projectBranch": "main"}
        },
        buildSettings={"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    )
    reply = client.post(f"/v1/projects/{project}/jobs/manual", json=body)
    assert reply.status_code == 200, reply.text
    job_id: str = reply.json()["data"]["id"]
    return job_id


def set_secret(client: TestClient, project: str, **body: Any) -> dict[str, Any]:
    reply = client.post(f"/v1/projects/{project}/webhook-secrets", json=body)
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


def listed(client: TestClient, project: str) -> list[dict[str, Any]]:
    reply = client.get(f"/v1/projects/{project}/webhook-secrets")
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["data"]["webhookSecrets"]
    return items


def deliver(
    client: TestClient, secret: str, repo: GitRepo, delivery_id: str, sha: str | None = None
) -> Any:
    """A generic push of main signed with `secret` (the answer, unchecked)."""
    payload = {
        "deliveryId": delivery_id,
        "repository": f"{repo.url}.git",
        "branch": "main",
        "sha": sha or repo.head_of("main"),
    }
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/v1/webhooks/generic",
        content=body,
        headers={"X-Dockyard-Signature-256": signature, "Content-Type": "application/json"},
    )


def delivered(client: TestClient, secret: str, repo: GitRepo, delivery_id: str) -> dict[str, Any]:
    reply = deliver(client, secret, repo, delivery_id)
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


def job_activity(client: TestClient, project: str, job: str) -> tuple[int, int]:
    """How many builds and CI events the job has."""
    url = f"/v1/projects/{project}/jobs/{job}"
    builds = client.get(f"{url}/build").json()["data"]["builds"]
    events = client.get(f"{url}/ci-events").json()["data"]["events"]
    return len(builds), len(events)


def test_set_list_rotate_delete_and_the_secret_shown_once(
    client: TestClient, repo: GitRepo
) -> None:
    project = new_project(client, "Alpha")

    made = set_secret(client, project, repository="https://Git.Example.TEST/acme/app.git/")

    assert set(made) == {"id", "repository", "createdAt", "secret"}
    assert made["repository"] == "git.example.test/acme/app"
    assert len(made["secret"]) >= 40  # 32 random bytes, url-safe base64
    [item] = listed(client, project)
    assert item == {key: made[key] for key in ("id", "repository", "createdAt")}
    assert made["secret"] not in client.get(f"/v1/projects/{project}/webhook-secrets").text

    rotated = set_secret(client, project, repository=repo.url, secret=ALPHA_SECRET)
    assert (rotated["id"], rotated["secret"]) == (made["id"], ALPHA_SECRET)
    assert [item["id"] for item in listed(client, project)] == [made["id"]]
    other = set_secret(client, project, repository="git@git.example.test:acme/other.git")
    assert other["id"] != made["id"] and other["repository"] == "git.example.test/acme/other"
    assert [item["id"] for item in listed(client, project)] == [made["id"], other["id"]]

    deleted = client.delete(f"/v1/projects/{project}/webhook-secrets/{made['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"data": {}}
    assert [item["id"] for item in listed(client, project)] == [other["id"]]
    gone = client.delete(f"/v1/projects/{project}/webhook-secrets/{made['id']}")
    assert_error(gone, 404)


def test_the_database_holds_the_secret_sealed_only(
    client: TestClient, settings: Settings, repo: GitRepo
) -> None:
    project = new_project(client, "Alpha")
    made = set_secret(client, project, repository=repo.url, secret=ALPHA_SECRET)

    engine = create_engine(sync_url(settings.resolved_database_url))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM project_webhook_secrets")).mappings().all()
    engine.dispose()
    [row] = rows
    assert ALPHA_SECRET not in json.dumps([dict(r) for r in rows], default=str)
    sealed = row["sealed_secret"]
    box = SecretBox.from_settings(settings)
    assert box.open(sealed, context=webhook_secret_context(made["id"])).decode() == ALPHA_SECRET
    if settings.database_url is None:  # SQLite: no byte of the files holds it
        for path in settings.data_dir.glob("dockyard.db*"):
            assert ALPHA_SECRET.encode() not in path.read_bytes(), path


def test_a_project_secret_builds_only_that_projects_jobs(client: TestClient, repo: GitRepo) -> None:
    alpha, beta = new_project(client, "Alpha"), new_project(client, "Beta")
    alpha_job, beta_job = new_job(client, alpha, repo), new_job(client, beta, repo)
    set_secret(client, alpha, repository=repo.url, secret=ALPHA_SECRET)
    set_secret(client, beta, repository=repo.url, secret=BETA_SECRET)

    answer = delivered(client, ALPHA_SECRET, repo, "a1")

    assert answer == {"deliveryId": "a1", "duplicate": False, "built": 1, "skipped": 0}
    assert job_activity(client, alpha, alpha_job) == (1, 1)
    assert job_activity(client, beta, beta_job) == (0, 0)
    for named in (beta, beta_job, "Beta"):
        assert named not in json.dumps(answer)

    assert delivered(client, BETA_SECRET, repo, "b1")["built"] == 1
    assert job_activity(client, alpha, alpha_job) == (1, 1)
    assert job_activity(client, beta, beta_job) == (1, 1)

    repo.commit({"hello.txt": "v2\n"}, "second")
    by_operator = delivered(client, OPERATOR_SECRET, repo, "o1")
    assert (by_operator["built"], by_operator["skipped"]) == (2, 0)
    assert job_activity(client, alpha, alpha_job) == (2, 2)
    assert job_activity(client, beta, beta_job) == (2, 2)


def test_deliveries_are_deduplicated_per_signer(client: TestClient, repo: GitRepo) -> None:
    alpha, beta = new_project(client, "Alpha"), new_project(client, "Beta")
    new_job(client, alpha, repo)
    beta_job = new_job(client, beta, repo)
    set_secret(client, alpha, repository=repo.url, secret=ALPHA_SECRET)

    first = delivered(client, ALPHA_SECRET, repo, "same-id")
    by_operator = delivered(client, OPERATOR_SECRET, repo, "same-id")
    again = delivered(client, ALPHA_SECRET, repo, "same-id")

    assert not first["duplicate"] and first["built"] == 1
    assert not by_operator["duplicate"] and by_operator["built"] == 1  # beta's job
    assert job_activity(client, beta, beta_job) == (1, 1)
    assert again["duplicate"] and again["built"] == 0
    assert delivered(client, OPERATOR_SECRET, repo, "same-id")["duplicate"]


def test_a_replaced_or_deleted_secret_no_longer_verifies(client: TestClient, repo: GitRepo) -> None:
    alpha = new_project(client, "Alpha")
    job = new_job(client, alpha, repo)
    old = set_secret(client, alpha, repository=repo.url)["secret"]
    new = set_secret(client, alpha, repository=repo.url, secret=ALPHA_SECRET)

    assert_error(deliver(client, old, repo, "d1"), 401)
    assert job_activity(client, alpha, job) == (0, 0)
    assert delivered(client, ALPHA_SECRET, repo, "d2")["built"] == 1

    client.delete(f"/v1/projects/{alpha}/webhook-secrets/{new['id']}")
    assert_error(deliver(client, ALPHA_SECRET, repo, "d3"), 401)


def test_a_deleted_project_takes_its_secrets_along(
    client: TestClient, settings: Settings, repo: GitRepo
) -> None:
    alpha = new_project(client, "Alpha")
    new_job(client, alpha, repo)
    set_secret(client, alpha, repository=repo.url, secret=ALPHA_SECRET)

    deleted = client.delete(f"/v1/projects/{alpha}", params={"delete_child_objects": "true"})

    assert deleted.status_code == 200, deleted.text
    engine = create_engine(sync_url(settings.resolved_database_url))
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM project_webhook_secrets"))
        assert count.scalar_one() == 0
    engine.dispose()
    assert_error(deliver(client, ALPHA_SECRET, repo, "d1"), 401)
    assert listed(client, new_project(client, "Alpha")) == []


def test_bad_requests_unknown_projects_and_permissions(
    client: TestClient, app_client: TestClient, settings: Settings, repo: GitRepo
) -> None:
    project = new_project(client, "Alpha")
    url = f"/v1/projects/{project}/webhook-secrets"
    for body, path in [
        ({}, "repository"),
        ({"repository": ""}, "repository"),
        ({"repository": "https://git.example.test/" + "a" * 1000}, "repository"),
        ({"repository": "https://"}, "repository"),
        ({"repository": repo.url, "secret": "x" * 15}, "secret"),
        ({"repository": repo.url, "extra": 1}, "extra"),
    ]:
        assert_error(client.post(url, json=body), 400, path)
    assert listed(client, project) == []

    unknown = "/v1/projects/nowhere/webhook-secrets"
    assert_error(client.post(unknown, json={"repository": repo.url}), 404)
    assert_error(client.get(unknown), 404)
    assert_error(client.delete(f"{unknown}/abc"), 404)
    assert_error(client.delete(f"{url}/abc"), 404)

    reader = {"Authorization": f"Bearer {token_with(settings, Permission.PROJECTS_READ)}"}
    refused = app_client.post(url, json={"repository": repo.url}, headers=reader)
    error = assert_error(refused, 403, "permission")
    assert error["details"]["permission"] == Permission.PROJECTS_UPDATE.value
    assert app_client.get(url, headers=reader).status_code == 200
    updater = {"Authorization": f"Bearer {token_with(settings, Permission.PROJECTS_UPDATE)}"}
    assert_error(app_client.get(url, headers=updater), 403, "permission")
    elsewhere = token_with(settings, Permission.PROJECTS_UPDATE, projects=["other"])
    refused = app_client.post(
        url, json={"repository": repo.url}, headers={"Authorization": f"Bearer {elsewhere}"}
    )
    assert_error(refused, 403)
    assert listed(client, project) == []
