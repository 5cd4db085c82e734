"""A webhook's sender only says which ref moved: dockyard builds the head the repository's
remote holds for it, never a sha the payload claims (a commit of another branch the rules
never allowed, or one pushed nowhere), and its answer names no project, target or build.
On a real git repository, through the API (no worker: builds stay queued)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.conftest import issue_token
from tests.gitrepos import SAMPLE_DOCKERFILE, GitRepo
from tests.helpers import minimal_service

SECRET = "webhook-secret"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "git")


@pytest.fixture
def client(tmp_path: Path, repo: GitRepo) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        registry="127.0.0.1:1",
        registry_autostart=False,
        webhook_secret=SECRET,
        git_insteadof=repo.insteadof,
    )
    token = issue_token(settings, name="admin", is_admin=True)
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def generic_push(client: TestClient, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = client.post(
        "/v1/webhooks/generic",
        content=body,
        headers={"X-Dockyard-Signature-256": signature, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_a_push_builds_the_branch_head_not_the_claimed_sha(
    client: TestClient, repo: GitRepo
) -> None:
    main = repo.commit({"Dockerfile": SAMPLE_DOCKERFILE, "hello.txt": "main\n"}, "main")
    elsewhere = repo.commit({"hello.txt": "never reviewed\n"}, "other", branch="unreviewed")
    project = client.post("/v1/projects", json={"name": "Claims"}).json()["data"]["id"]
    service = minimal_service(
        "Main only",
        vcsData={"projectUrl": repo.url, "projectType": "github"},
        buildConfiguration={"branchRestrictions": ["main"]},
    )
    created = client.post(f"/v1/projects/{project}/services/build", json=service)
    assert created.status_code == 200, created.text
    service_id = created.json()["data"]["id"]
    url = f"/v1/projects/{project}/services/{service_id}"

    answer = generic_push(
        client, {"deliveryId": "d1", "repository": repo.url, "branch": "main", "sha": elsewhere}
    )

    [build] = client.get(f"{url}/build").json()["data"]["builds"]
    assert build["sha"] == main != elsewhere
    [event] = client.get(f"{url}/ci-events").json()["data"]["events"]
    assert event["built"] and event["sha"] == main and event["buildId"] == build["id"]
    assert f"the payload named {elsewhere}; the branch holds {main}" in event["reason"]
    assert answer == {"deliveryId": "d1", "duplicate": False, "built": 1, "skipped": 0}
    for named in (project, service_id, build["id"]):
        assert named not in json.dumps(answer)


def test_a_ref_the_remote_does_not_hold_builds_nothing(client: TestClient, repo: GitRepo) -> None:
    head = repo.commit({"Dockerfile": SAMPLE_DOCKERFILE}, "main")
    project = client.post("/v1/projects", json={"name": "Claims"}).json()["data"]["id"]
    service = minimal_service(
        "Any branch",
        vcsData={"projectUrl": repo.url, "projectType": "github"},
        buildConfiguration={"branchRestrictions": ["*"]},
    )
    service_id = client.post(f"/v1/projects/{project}/services/build", json=service).json()["data"][
        "id"
    ]
    url = f"/v1/projects/{project}/services/{service_id}"

    answer = generic_push(client, {"repository": repo.url, "branch": "nowhere", "sha": head})

    assert (answer["built"], answer["skipped"]) == (0, 1)
    assert client.get(f"{url}/build").json()["data"]["builds"] == []
    [event] = client.get(f"{url}/ci-events").json()["data"]["events"]
    assert not event["built"] and "does not exist" in event["reason"], event
