"""Private images through registry credentials created with the API (and the official SDK), on
a live dockyard and Debian's docker-registry with htpasswd auth: a job built FROM a private
base image builds with `buildConfiguration.dockerCredentials` and fails clearly without it;
a job running a private image pulls it with `deployment.external.credentials`. The password
is never in a reply, a log line or a message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from northflank import ApiClient
from northflank.errors import ApiCallError

from tests.builds.conftest import LiveDockyard
from tests.builds.test_job_builds import vcs_job
from tests.conformance.sdk_types import checked, checked_all
from tests.engine.test_private_registry import (  # noqa: F401  (module fixtures)
    PASSWORD,
    USER,
    private_base,
    private_registry,
)
from tests.runs.conftest import busybox_job, serving

pytestmark = pytest.mark.e2e
BRANCH = "private-base"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, private_base: str) -> Iterator[LiveDockyard]:  # noqa: F811
    with serving(tmp_path_factory.mktemp("registries")) as live:
        dockerfile = f"FROM {private_base}\nRUN echo built on a private base\n"
        live.sample.repo.commit({"Dockerfile": dockerfile}, "private base", branch=BRANCH)
        yield live


@pytest.fixture(scope="module")
def login(live: LiveDockyard, private_registry: str) -> str:  # noqa: F811
    body = {
        "name": "Private Registry",
        "provider": "custom",
        "registryUrl": private_registry,
        "credentials": {"username": USER, "password": PASSWORD},
        "restrictions": {"restricted": True, "projects": [live.project]},
    }
    added = live.http.post("/v1/integrations/registries", json=body)
    assert added.status_code == 200, added.text
    assert PASSWORD not in added.text
    credentials_id: str = added.json()["data"]["id"]
    return credentials_id


def private_job(live: LiveDockyard, name: str, **fields: Any) -> str:
    vcs = {"projectUrl": live.sample.repo.url, "projectType": "github", "projectBranch": BRANCH}
    return vcs_job(live, name, deployment={"vcs": vcs}, **fields)


def build_of(live: LiveDockyard, job: str) -> dict[str, Any]:
    started = live.post(f"/jobs/{job}/build", {})
    return live.wait_for(f"/jobs/{job}/build/{started['id']}", timeout=90)


def test_a_private_base_image_builds_with_the_credentials_it_names(
    live: LiveDockyard, login: str
) -> None:
    job = private_job(live, "with login", buildConfiguration={"dockerCredentials": [login]})
    build = build_of(live, job)
    assert build["status"] == "SUCCESS", build
    assert PASSWORD not in "\n".join(live.lines(build["id"]))


def test_without_them_the_build_fails_clearly(live: LiveDockyard) -> None:
    build = build_of(live, private_job(live, "without login"))
    assert build["status"] == "FAILURE", build
    message = build["message"].lower()
    assert "401" in message or "authoriz" in message or "unauthor" in message, build
    assert PASSWORD not in build["message"] + "\n".join(live.lines(build["id"]))


def private_runner(live: LiveDockyard, name: str, external: dict[str, str]) -> str:
    job = busybox_job(live, name, "echo ran from the private image")
    stored = live.get(f"/jobs/{job}")["deployment"]
    stored["external"] = external
    patched = live.http.patch(
        f"/v1/projects/{live.project}/jobs/manual/{job}", json={"deployment": stored}
    )
    assert patched.status_code == 200, patched.text
    return job


def test_a_private_image_without_credentials_fails_to_pull(
    live: LiveDockyard,
    private_base: str,  # noqa: F811
) -> None:
    job = private_runner(live, "anonymous runner", {"imagePath": private_base})
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    run = live.wait_for(f"/jobs/{job}/runs/{run_id}", timeout=60)
    assert run["status"] == "FAILED", run
    lines = "\n".join(live.lines_of("run", run_id))
    assert "cannot be pulled" in lines, lines
    assert PASSWORD not in lines + run["message"]


def test_a_private_image_runs_with_its_credentials(
    live: LiveDockyard,
    login: str,
    private_base: str,  # noqa: F811
) -> None:
    external = {"imagePath": private_base, "credentials": login}
    job = private_runner(live, "private runner", external)
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    run = live.wait_for(f"/jobs/{job}/runs/{run_id}", timeout=60)
    assert run["status"] == "SUCCESS", run
    lines = live.lines_of("run", run_id)
    assert "ran from the private image" in "\n".join(lines)
    assert PASSWORD not in "\n".join(lines)

    in_use = live.http.delete(f"/v1/integrations/registries/{login}")
    assert in_use.status_code == 409 and job in in_use.text, in_use.text


def test_the_official_sdk_drives_the_credentials(live: LiveDockyard) -> None:
    token = live.http.headers["Authorization"].removeprefix("Bearer ")
    sdk = ApiClient(api_token=token, base_url=live.process.url)
    data = {
        "name": "Sdk Registry",
        "provider": "github",
        "credentials": {"username": "octo", "password": "sdk-secret-pass"},
    }
    added = checked(sdk.add.registry_credentials, data=data)
    assert added["id"] == "sdk-registry" and added.get("registryUrl") == "ghcr.io"
    listed = checked_all(sdk.list.registry_credentials)["credentials"]
    assert "sdk-registry" in [item["id"] for item in listed]
    got = checked(sdk.get.registry_credentials, credential_id="sdk-registry")
    assert got.get("credentials") == {"scope": {"pull": True, "push": False}}
    checked(
        sdk.update.registry_credentials,
        credential_id="sdk-registry",
        data={"restrictions": {"restricted": True, "projects": [live.project]}},
    )
    got = checked(sdk.get.registry_credentials, credential_id="sdk-registry")
    assert got.get("restrictions") == {"restricted": True, "projects": [live.project]}
    assert "sdk-secret-pass" not in repr([added, listed, got])
    sdk.delete.registry_credentials(credential_id="sdk-registry")
    with pytest.raises(ApiCallError) as missing:
        sdk.get.registry_credentials(credential_id="sdk-registry")
    assert missing.value.status == 404
