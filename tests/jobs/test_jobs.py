"""Manual jobs over HTTP: the pages' examples, defaults, PUT/PATCH semantics, 404/409, the
build-source endpoint, secrets at rest, the OpenAPI document."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.config import Settings
from dockyard.targets.schemas import DEFAULT_CI_IGNORE_FLAGS
from tests.conftest import assert_error
from tests.helpers import assert_shape, ids_over_all_pages, minimal_job, page_examples

# Keys of the page's example response that the example request cannot produce: the example
# lists every deployment variant at once (a oneOf: the request deploys from vcs), a build status
# (no build exists yet), and load balancers (none here).
NOT_PRODUCED = {
    "deployment.external",
    "deployment.internal",
    "status.build",
    "cluster.loadBalancers",
}


def test_create_example_is_accepted_and_answers_the_page_shape(
    client: TestClient, project: str
) -> None:
    request, response = page_examples("create-manual-job.md")
    created = client.post(f"/v1/projects/{project}/jobs/manual", json=request)
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert_shape(data, response["data"], NOT_PRODUCED)
    for key in request:
        if key != "deployment":
            assert data[key] == response["data"][key], key
    assert data["deployment"]["vcs"] == response["data"]["deployment"]["vcs"]
    assert data["id"] == "example-job"
    assert data["jobType"] == "manual"
    assert data["appId"] == f"/dockyard/{project}/example-job"
    assert data["projectId"] == project
    assert data["settings"] == {"activeDeadlineSeconds": 600, "backoffLimit": 0}
    assert data["status"] == {}
    assert data["cluster"]["namespace"] == project


def test_get_has_the_official_read_shape_without_secret_values(
    client: TestClient, project: str, create_example: dict[str, Any]
) -> None:
    created = client.post(f"/v1/projects/{project}/jobs/manual", json=create_example).json()
    got = client.get(f"/v1/projects/{project}/jobs/example-job").json()["data"]
    for key in ("runtimeEnvironment", "runtimeFiles", "buildArguments", "buildFiles"):
        assert key not in got
    assert "dockerSecretMounts" not in got
    assert "dockerCredentials" not in got["buildConfiguration"]
    assert got["vcsData"] == {
        "projectUrl": "https://github.com/northflank/gatsby-with-northflank",
        "projectType": "github",
        "accountLogin": "github-user",
        "projectBranch": "master",
        "dockerFilePath": "/Dockerfile",
        "dockerWorkDir": "/",
    }
    assert got["tags"] == [] and got["disabledCI"] is False and got["disabledCD"] is False
    assert got["uid"] == created["data"]["uid"]
    assert got["createdAt"] == created["data"]["createdAt"]
    assert got["createdAt"].endswith("Z")


def test_documented_defaults_are_applied_and_echoed(client: TestClient, project: str) -> None:
    body = minimal_job(
        buildConfiguration={"isAllowList": True},
        buildSettings={"buildpack": {}},
        buildFiles={"/a": {"data": "QQ=="}},
    )
    data = client.post(f"/v1/projects/{project}/jobs/manual", json=body).json()["data"]
    assert data["buildConfiguration"]["ciIgnoreFlags"] == list(DEFAULT_CI_IGNORE_FLAGS)
    assert data["buildSettings"] == {"buildpack": {"builder": "HEROKU_24"}}
    assert data["buildFiles"] == {"/a": {"data": "QQ==", "encoding": "utf-8"}}
    dockerfile = {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}}
    patched = client.patch(
        f"/v1/projects/{project}/jobs/manual/minimal-job", json={"buildSettings": dockerfile}
    )
    assert patched.json()["data"]["buildSettings"]["dockerfile"]["buildEngine"] == "buildkit"


def test_optional_fields_left_out_and_null_deadline(client: TestClient, project: str) -> None:
    body = minimal_job(activeDeadlineSeconds=None)
    data = client.post(f"/v1/projects/{project}/jobs/manual", json=body).json()["data"]
    for key in ("description", "deployment", "buildSettings", "vcsData", "activeDeadlineSeconds"):
        assert key not in data
    assert data["settings"] == {"activeDeadlineSeconds": None, "backoffLimit": 0}


def test_name_clash_is_409_and_unknown_ids_404(client: TestClient, project: str) -> None:
    url = f"/v1/projects/{project}/jobs"
    assert client.post(f"{url}/manual", json=minimal_job("Nightly Job")).status_code == 200
    assert_error(client.post(f"{url}/manual", json=minimal_job("nightly job")), 409)
    assert_error(client.post("/v1/projects/nope/jobs/manual", json=minimal_job()), 404)
    assert_error(client.get("/v1/projects/nope/jobs"), 404)
    assert_error(client.get(f"{url}/missing"), 404)
    assert_error(client.patch(f"{url}/manual/missing", json={}), 404)
    assert_error(client.delete(f"{url}/missing"), 404)
    source = {"projectBranch": "main"}
    assert_error(client.post(f"{url}/missing/build-source", json=source), 404)


def test_put_creates_then_replaces_by_name(client: TestClient, project: str) -> None:
    url = f"/v1/projects/{project}/jobs/manual"
    first = client.put(url, json=minimal_job("Put Job", description="first", tags=["a-tag"]))
    assert first.status_code == 200, first.text
    second = client.put(url, json=minimal_job("put job", backoffLimit=3))
    assert second.status_code == 200, second.text
    before, after = first.json()["data"], second.json()["data"]
    assert after["id"] == before["id"] == "put-job"
    assert after["uid"] == before["uid"] and after["createdAt"] == before["createdAt"]
    assert after["name"] == "put job" and after["backoffLimit"] == 3
    assert "description" not in after and after["tags"] == []
    listed = client.get(f"/v1/projects/{project}/jobs").json()["data"]["jobs"]
    assert [job["id"] for job in listed] == ["put-job"]


def test_patch_merges_and_revalidates_the_whole(
    client: TestClient, project: str, create_example: dict[str, Any]
) -> None:
    client.post(f"/v1/projects/{project}/jobs/manual", json=create_example)
    url = f"/v1/projects/{project}/jobs/manual/example-job"
    patch = {
        "billing": {"buildPlan": "nf-compute-400"},
        "buildConfiguration": {"isAllowList": True},
        "deployment": {"external": {"imagePath": "nginx:latest"}},
        "description": None,
        "runtimeEnvironment": {"ONLY": "this"},
    }
    data = client.patch(url, json=patch).json()["data"]
    assert data["billing"] == {"buildPlan": "nf-compute-400", "deploymentPlan": "nf-compute-20"}
    assert data["buildConfiguration"]["isAllowList"] is True
    assert data["buildConfiguration"]["pathIgnoreRules"] == ["README.md"]
    assert data["deployment"] == {"external": {"imagePath": "nginx:latest"}}
    assert "description" not in data and "vcsData" not in data
    assert data["runtimeEnvironment"] == {"ONLY": "this"}
    assert data["buildArguments"] == create_example["buildArguments"]
    assert data["updatedAt"] >= data["createdAt"]

    before = client.get(url.replace("/manual", "")).json()["data"]
    assert_error(client.patch(url, json={"backoffLimit": None}), 400, "backoffLimit")
    assert_error(client.patch(url, json={"name": "Renamed"}), 400, "name")
    assert_error(client.patch(url, json={"billing": {"deploymentPlan": "x"}}), 400)
    assert client.get(url.replace("/manual", "")).json()["data"] == before


def test_build_source_example_and_rules(client: TestClient, project: str) -> None:
    request, response = page_examples("update-job-build-source.md")
    jobs = f"/v1/projects/{project}/jobs"
    external = {"external": {"imagePath": "nginx:latest"}, "gracePeriodSeconds": 30}
    client.post(f"{jobs}/manual", json=minimal_job("Source Job", deployment=external))
    url = f"{jobs}/source-job/build-source"
    assert_error(client.post(url, json={"projectUrl": request["projectUrl"]}), 400, "projectType")
    assert_error(client.post(url, json={**request, "projectUrl": "nope"}), 400, "projectUrl")
    assert_error(client.post(url, json={**request, "projectType": "svn"}), 400, "projectType")
    assert_error(client.post(url, json={**request, "extra": 1}), 400, "extra")
    answer = client.post(url, json=request)
    assert answer.status_code == 200, answer.text
    assert answer.json() == response
    got = client.get(f"{jobs}/source-job").json()["data"]
    assert got["deployment"] == {"gracePeriodSeconds": 30, "vcs": request}
    assert client.post(url, json={"projectBranch": "develop"}).status_code == 200
    got = client.get(f"{jobs}/source-job").json()["data"]
    assert got["vcsData"]["projectBranch"] == "develop"
    assert got["vcsData"]["projectUrl"] == request["projectUrl"]


def test_delete_removes_the_job(client: TestClient, project: str) -> None:
    jobs = f"/v1/projects/{project}/jobs"
    client.post(f"{jobs}/manual", json=minimal_job("Doomed"))
    deleted = client.delete(f"{jobs}/doomed")
    assert deleted.status_code == 200 and deleted.json() == {"data": {}}
    assert_error(client.get(f"{jobs}/doomed"), 404)
    assert client.post(f"{jobs}/manual", json=minimal_job("Doomed")).status_code == 200


def test_list_paginates_over_250_jobs(client: TestClient, project: str) -> None:
    url = f"/v1/projects/{project}/jobs"
    for index in range(250):
        body = minimal_job(f"job {index:03d}", tags=["batch"], description="listed")
        assert client.post(f"{url}/manual", json=body).status_code == 200
    seen = ids_over_all_pages(client, url, "jobs", per_page=100)
    assert seen == [f"job-{index:03d}" for index in range(250)]
    third = client.get(url, params={"per_page": 100, "page": 3}).json()
    assert third["pagination"] == {"hasNextPage": False, "count": 50}
    first = client.get(url).json()["data"]["jobs"][0]
    assert first == {
        "appId": f"/dockyard/{project}/job-000",
        "id": "job-000",
        "uid": first["uid"],
        "name": "job 000",
        "description": "listed",
        "jobType": "manual",
        "projectId": project,
        "disabledCI": False,
        "disabledCD": False,
        "tags": ["batch"],
        "suspended": False,
    }


def test_secrets_are_sealed_in_the_database_file(
    client: TestClient, project: str, settings: Settings, create_example: dict[str, Any]
) -> None:
    if settings.database_url is not None:
        pytest.skip("reads the SQLite file")
    body = copy.deepcopy(create_example)
    body["runtimeEnvironment"] = {"TOKEN": "plain-runtime-secret-value"}
    body["buildArguments"] = {"ARG": "plain-build-argument-value"}
    body["buildFiles"] = {"/f": {"data": "cGxhaW4tYnVpbGQtZmlsZQ=="}}
    body["buildConfiguration"]["dockerCredentials"] = ["plain-docker-credential-id"]
    created = client.post(f"/v1/projects/{project}/jobs/manual", json=body)
    assert created.json()["data"]["runtimeEnvironment"] == body["runtimeEnvironment"]
    stored = b"".join(path.read_bytes() for path in settings.data_dir.glob("dockyard.db*"))
    assert b"example-job" in stored
    for secret in (
        b"plain-runtime-secret-value",
        b"plain-build-argument-value",
        b"cGxhaW4tYnVpbGQtZmlsZQ",
        b"plain-docker-credential-id",
        b"VGhpcyBpcyBhbiBleGFtcGxl",
    ):
        assert secret not in stored, secret


def test_openapi_carries_the_rules(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    spec = schemas["ManualJobSpec"]["properties"]
    assert spec["name"]["pattern"] and spec["name"]["maxLength"] == 52
    assert len(spec["deployment"]["anyOf"][0]["oneOf"]) == 4
    assert len(spec["buildSettings"]["anyOf"][0]["oneOf"]) == 2
    options = schemas["DeploymentOptions-Input"]["properties"]
    assert options["gracePeriodSeconds"]["anyOf"][0] == {
        "type": "integer",
        "minimum": 15,
        "maximum": 600,
    }
    health = schemas["HealthCheck-Input"]["properties"]
    assert health["periodSeconds"]["minimum"] == 10 and health["periodSeconds"]["maximum"] == 600
    vcs = schemas["VcsBranchSource-Input"]["properties"]
    assert vcs["projectType"]["enum"] == ["bitbucket", "gitlab", "github", "self-hosted", "azure"]
    storage = schemas["BuildEphemeralStorage-Input"]["properties"]["storageSize"]["anyOf"][0]
    assert storage["enum"] == [16384, 32768, 65536] and storage["maximum"] == 65536


@pytest.mark.parametrize(
    ("field", "value"),
    [("disabledCI", "true"), ("disabledCI", 1), ("backoffLimit", "3"), ("backoffLimit", 2.5)],
)
def test_values_are_not_coerced_across_json_types(
    client: TestClient, project: str, field: str, value: object
) -> None:
    body = minimal_job(**{field: value})
    assert_error(client.post(f"/v1/projects/{project}/jobs/manual", json=body), 400, field)
