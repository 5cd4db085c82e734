"""Runtime environment and build arguments on their own endpoints, behind the Secrets
permissions, through the official SDK's calls' paths."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import assert_error, token_with
from tests.helpers import minimal_job, minimal_service


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_job_runtime_environment(client: TestClient, project: str) -> None:
    body = minimal_job("Envy", runtimeEnvironment={"HOST": "db", "URL": "postgres://${HOST}/x"})
    assert client.post(f"/v1/projects/{project}/jobs/manual", json=body).status_code == 200
    url = f"/v1/projects/{project}/jobs/envy/runtime-environment"

    got = client.get(url).json()["data"]
    assert got == {"runtimeEnvironment": body["runtimeEnvironment"], "runtimeFiles": {}}
    templated = client.get(url, params={"replaceTemplatedValues": "true"}).json()["data"]
    assert templated["runtimeEnvironment"]["URL"] == "postgres://db/x"
    assert client.get(url, params={"show": "inherited"}).json()["data"]["runtimeEnvironment"] == {}
    details = client.get(f"{url}/details").json()["data"]
    assert set(details["runtimeEnvironment"]) == {"HOST", "URL"}
    assert "db" not in str(details)

    files = {"/etc/app.conf": {"data": b64("x=1"), "encoding": "utf-8"}}
    new = {"runtimeEnvironment": {"ONLY": "this"}, "runtimeFiles": files}
    assert client.post(url, json=new).status_code == 200
    assert client.get(url).json()["data"] == new
    assert_error(
        client.post(url, json={"runtimeEnvironment": {"BAD": 1}}), 400, "runtimeEnvironment.BAD"
    )
    assert_error(client.post(url, json={}), 400, "runtimeEnvironment")


def test_build_arguments_of_jobs_and_services(client: TestClient, project: str) -> None:
    assert (
        client.post(f"/v1/projects/{project}/jobs/manual", json=minimal_job("Args")).status_code
        == 200
    )
    created = client.post(f"/v1/projects/{project}/services/build", json=minimal_service())
    assert created.status_code == 200, created.text
    for url in (
        f"/v1/projects/{project}/jobs/args/build-arguments",
        f"/v1/projects/{project}/services/minimal-service/build-arguments",
    ):
        assert client.post(url, json={"buildArguments": {"NPM_TOKEN": "abc123"}}).status_code == 200
        got = client.get(url).json()["data"]
        assert got["buildArguments"] == {"NPM_TOKEN": "abc123"}
        assert (
            client.get(f"{url}/details").json()["data"]["buildArguments"]["NPM_TOKEN"]["value"]
            is None
        )


def test_secrets_permissions(client: TestClient, project: str, settings: Settings) -> None:
    assert (
        client.post(f"/v1/projects/{project}/jobs/manual", json=minimal_job("Guarded")).status_code
        == 200
    )
    url = f"/v1/projects/{project}/jobs/guarded/runtime-environment"
    reader = token_with(settings, Permission.JOBS_READ)
    assert_error(client.get(url, headers={"Authorization": f"Bearer {reader}"}), 403)
    secrets_reader = token_with(settings, Permission.JOB_SECRETS_READ)
    assert client.get(url, headers={"Authorization": f"Bearer {secrets_reader}"}).status_code == 200
    refused = client.post(
        url, json={"runtimeEnvironment": {}}, headers={"Authorization": f"Bearer {secrets_reader}"}
    )
    assert_error(refused, 403)
