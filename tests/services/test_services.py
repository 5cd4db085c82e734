"""Build services over HTTP: the PATCH page's example, defaults, POST/PUT/PATCH semantics,
404/409, build source, secrets at rest, pagination, the OpenAPI document."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from dockyard.config import Settings
from dockyard.db.session import sync_url
from dockyard.targets.schemas import DEFAULT_CI_IGNORE_FLAGS
from tests.conftest import assert_error
from tests.helpers import (
    PATCH_EXAMPLE,
    PATCH_EXAMPLE_RESPONSE,
    REPOSITORY,
    assert_shape,
    full_service,
    ids_over_all_pages,
    minimal_service,
    page_examples,
)

SECRET_FIELDS = ("buildArguments", "buildFiles", "dockerSecretMounts")
# Keys of the PATCH page's example response that no request produces here: a build status (no
# build exists yet) and load balancers (none here).
NOT_PRODUCED = {"status.build", "cluster.loadBalancers"}


def test_patch_example_is_accepted_and_answers_the_page_shape(
    client: TestClient, services_url: str, service: str, project: str
) -> None:
    patched = client.patch(f"{services_url}/build/{service}", json=PATCH_EXAMPLE)
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    expected = PATCH_EXAMPLE_RESPONSE["data"]
    assert_shape(data, expected, NOT_PRODUCED)
    for key in PATCH_EXAMPLE:
        if key != "vcsData":
            assert data[key] == expected[key], key
    assert data["vcsData"] == expected["vcsData"] | {"dockerFilePath": "/Dockerfile"} | {
        "dockerWorkDir": "/"
    }
    assert (data["name"], data["id"], data["serviceType"]) == ("Example Service", service, "build")
    assert data["appId"] == f"/dockyard/{project}/{service}"
    assert data["projectId"] == project and len(data["uid"]) == 24
    assert data["status"] == {}
    assert data["cluster"] == {
        "id": "dockyard",
        "name": "local docker engine",
        "namespace": project,
    }
    assert data["updatedAt"] >= data["createdAt"]


def test_full_create_body_and_the_official_read_shape(
    client: TestClient, services_url: str
) -> None:
    created = client.post(f"{services_url}/build", json=full_service())
    assert created.status_code == 200, created.text
    for key in SECRET_FIELDS:
        assert created.json()["data"][key] == PATCH_EXAMPLE[key]
    got = client.get(f"{services_url}/example-service").json()["data"]
    assert got["serviceType"] == "build"
    assert not set(SECRET_FIELDS) & set(got)
    assert "dockerCredentials" not in got["buildConfiguration"]
    assert got["buildConfiguration"]["branchRestrictions"] == ["feature/*"]
    assert got["vcsData"]["dockerFilePath"] == "/Dockerfile"
    assert got["vcsData"]["dockerWorkDir"] == "/"
    assert got["buildSource"] == "git" and got["billing"] == PATCH_EXAMPLE["billing"]


def test_documented_defaults_are_applied_and_echoed(client: TestClient, services_url: str) -> None:
    body = minimal_service(
        buildConfiguration={"branchRestrictions": ["main"]},
        buildFiles={"/f": {"data": "QQ=="}},
    )
    data = client.post(f"{services_url}/build", json=body).json()["data"]
    assert data["buildSettings"]["dockerfile"]["buildEngine"] == "buildkit"
    assert data["buildConfiguration"]["ciIgnoreFlags"] == list(DEFAULT_CI_IGNORE_FLAGS)
    assert data["buildFiles"]["/f"]["encoding"] == "utf-8"
    buildpack = minimal_service("Buildpack Service", buildSettings={"buildpack": {}})
    data = client.post(f"{services_url}/build", json=buildpack).json()["data"]
    assert data["buildSettings"] == {"buildpack": {"builder": "HEROKU_24"}}
    assert "dockerFilePath" not in data["vcsData"]


def test_unset_optionals_are_left_out(client: TestClient, services_url: str) -> None:
    data = client.post(f"{services_url}/build", json=minimal_service()).json()["data"]
    for key in (
        "description",
        "buildConfiguration",
        "buildSource",
        "infrastructure",
        *SECRET_FIELDS,
    ):
        assert key not in data, key
    assert data["tags"] == [] and data["disabledCI"] is False


def test_a_bundle_service_needs_no_repository(client: TestClient, services_url: str) -> None:
    body = minimal_service(buildSource="bundle")
    del body["vcsData"]
    data = client.post(f"{services_url}/build", json=body).json()["data"]
    assert data["buildSource"] == "bundle" and "vcsData" not in data


def test_name_clash_is_409_and_unknown_ids_404(
    client: TestClient, services_url: str, service: str
) -> None:
    clash = client.post(f"{services_url}/build", json=minimal_service("example service"))
    assert assert_error(clash, 409)["details"] == {"name": ["example service"]}
    for method, path, body in [
        ("GET", "/nope", None),
        ("DELETE", "/nope", None),
        ("PATCH", "/build/nope", {"description": "x"}),
        ("POST", "/nope/build-source", {"projectType": "gitlab"}),
    ]:
        assert_error(client.request(method, f"{services_url}{path}", json=body), 404)
    for method, path, body in [
        ("GET", "", None),
        ("POST", "/build", minimal_service()),
        ("PUT", "/build", minimal_service()),
        ("GET", f"/{service}", None),
    ]:
        url = f"/v1/projects/no-such-project/services{path}"
        assert_error(client.request(method, url, json=body), 404)


def test_team_alias_answers_for_the_one_team(
    client: TestClient, project: str, service: str
) -> None:
    got = client.get(f"/v1/teams/dockyard/projects/{project}/services/{service}")
    assert got.status_code == 200 and got.json()["data"]["id"] == service
    assert_error(client.get(f"/v1/teams/other/projects/{project}/services/{service}"), 404)


def test_put_creates_then_replaces_by_name(client: TestClient, services_url: str) -> None:
    first = client.put(f"{services_url}/build", json=full_service()).json()["data"]
    body = minimal_service("Example Service", description="replaced")
    second = client.put(f"{services_url}/build", json=body).json()["data"]
    assert (second["id"], second["uid"], second["createdAt"]) == (
        first["id"],
        first["uid"],
        first["createdAt"],
    )
    assert second["description"] == "replaced"
    for key in ("buildConfiguration", "buildSource", *SECRET_FIELDS):
        assert key not in second, key
    listed = client.get(services_url).json()["data"]["services"]
    assert [item["id"] for item in listed] == ["example-service"]


def test_patch_merges_objects_replaces_the_rest_and_clears_nulls(
    client: TestClient, services_url: str
) -> None:
    client.post(f"{services_url}/build", json=full_service())
    url = f"{services_url}/build/example-service"
    patch = {
        "billing": {"buildPlan": "nf-compute-400"},
        "tags": ["one-tag"],
        "description": None,
        "vcsData": {"projectType": "gitlab"},
        "buildConfiguration": {"branchRestrictions": ["release/*"]},
        "buildSettings": {"dockerfile": {"buildEngine": "kaniko"}},
        "buildArguments": {"ONLY": "one"},
    }
    data = client.patch(url, json=patch).json()["data"]
    assert data["billing"] == {"deploymentPlan": "nf-compute-20", "buildPlan": "nf-compute-400"}
    assert data["tags"] == ["one-tag"] and "description" not in data
    assert data["vcsData"]["projectType"] == "gitlab"
    assert data["vcsData"]["accountLogin"] == "github-user"
    assert data["buildConfiguration"]["branchRestrictions"] == ["release/*"]
    assert data["buildConfiguration"]["prRestrictions"] == ["feature/*"]
    assert data["buildConfiguration"]["dockerCredentials"] == ["example-docker-credential"]
    assert data["buildSettings"]["dockerfile"] == {
        "buildEngine": "kaniko",
        "dockerFilePath": "/Dockerfile",
        "dockerWorkDir": "/",
        "buildkit": {"useCache": True, "cacheStorageSize": 32768},
    }
    assert data["buildArguments"] == {"ONLY": "one"}
    assert data["buildFiles"] == PATCH_EXAMPLE["buildFiles"]
    assert client.get(url.replace("/build/", "/")).json()["data"]["name"] == "Example Service"


def test_patch_switches_the_build_engine(
    client: TestClient, services_url: str, service: str
) -> None:
    url = f"{services_url}/build/{service}"
    both = {"buildSettings": PATCH_EXAMPLE["buildSettings"]}
    kept = client.patch(url, json=both).json()["data"]["buildSettings"]
    assert set(kept) == {"storage", "dockerfile"}
    switched = client.patch(url, json={"buildSettings": {"buildpack": {"builder": "CNB_ALPINE"}}})
    assert switched.json()["data"]["buildSettings"] == {
        "storage": {"ephemeralStorage": {"storageSize": 16384}},
        "buildpack": {"builder": "CNB_ALPINE"},
    }
    back = {"buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile"}}}
    assert_error(client.patch(url, json=back), 400, "buildSettings.dockerfile.dockerWorkDir")


def test_patch_revalidates_the_whole_and_writes_nothing_on_error(
    client: TestClient, services_url: str, service: str
) -> None:
    url = f"{services_url}/build/{service}"
    before = client.get(f"{services_url}/{service}").json()
    assert_error(client.patch(url, json={"vcsData": None}), 400, "vcsData")
    assert_error(client.patch(url, json={"buildSettings": None}), 400, "buildSettings")
    assert_error(client.patch(url, json={"billing": None}), 400, "billing")
    assert_error(client.patch(url, json={"name": "Renamed"}), 400, "name")
    assert client.get(f"{services_url}/{service}").json() == before
    bundle = client.patch(url, json={"buildSource": "bundle", "vcsData": None})
    assert bundle.status_code == 200 and "vcsData" not in bundle.json()["data"]


def test_build_source_example_merges_into_the_repository(
    client: TestClient, services_url: str, service: str
) -> None:
    source, answer = page_examples("update-job-build-source.md")
    url = f"{services_url}/{service}/build-source"
    reply = client.post(url, json=source | {"projectUrl": "https://gitlab.com/team/other-repo"})
    assert reply.status_code == 200 and reply.json() == answer
    vcs = client.get(f"{services_url}/{service}").json()["data"]["vcsData"]
    assert vcs == {
        "projectUrl": "https://gitlab.com/team/other-repo",
        "projectType": "github",
        "accountLogin": "github-user",
        "dockerFilePath": "/Dockerfile",
        "dockerWorkDir": "/",
    }
    client.post(url, json={"projectType": "gitlab"})
    assert client.get(f"{services_url}/{service}").json()["data"]["vcsData"]["projectType"] == (
        "gitlab"
    )
    assert_error(client.post(url, json={"projectType": "svn"}), 400, "projectType")
    assert_error(client.post(url, json={"branch": "main"}), 400, "branch")


def test_build_source_gives_a_bundle_service_a_repository(
    client: TestClient, services_url: str
) -> None:
    body = minimal_service(buildSource="bundle")
    del body["vcsData"]
    client.post(f"{services_url}/build", json=body)
    url = f"{services_url}/minimal-service/build-source"
    assert_error(client.post(url, json={"projectType": "github"}), 400, "projectUrl")
    assert "vcsData" not in client.get(f"{services_url}/minimal-service").json()["data"]
    assert client.post(url, json=REPOSITORY | {"projectType": "github"}).status_code == 200
    vcs = client.get(f"{services_url}/minimal-service").json()["data"]["vcsData"]
    assert vcs["projectUrl"] == REPOSITORY["projectUrl"]


def test_delete_removes_the_service(client: TestClient, services_url: str, service: str) -> None:
    deleted = client.delete(f"{services_url}/{service}")
    assert deleted.status_code == 200 and deleted.json() == {"data": {}}
    assert_error(client.get(f"{services_url}/{service}"), 404)
    assert (
        client.post(f"{services_url}/build", json=minimal_service("Example Service")).status_code
        == 200
    )


def test_list_paginates_over_120_services(
    client: TestClient, services_url: str, project: str
) -> None:
    for index in range(120):
        body = minimal_service(f"service {index:03d}", tags=["batch"], description="listed")
        assert client.post(f"{services_url}/build", json=body).status_code == 200
    seen = ids_over_all_pages(client, services_url, "services", per_page=50)
    assert seen == [f"service-{index:03d}" for index in range(120)]
    third = client.get(services_url, params={"per_page": 50, "page": 3}).json()
    assert third["pagination"] == {"hasNextPage": False, "count": 20}
    assert len(client.get(services_url).json()["data"]["services"]) == 50
    first = client.get(services_url, params={"per_page": 1}).json()["data"]["services"][0]
    assert first == {
        "appId": f"/dockyard/{project}/service-000",
        "id": "service-000",
        "uid": first["uid"],
        "name": "service 000",
        "description": "listed",
        "serviceType": "build",
        "projectId": project,
        "disabledCI": False,
        "disabledCD": False,
        "tags": ["batch"],
        "status": {},
    }


def database_contents(settings: Settings) -> bytes:
    """Everything the database holds: the SQLite files, or the PostgreSQL table as text."""
    if settings.database_url is None:
        return b"".join(path.read_bytes() for path in settings.data_dir.glob("dockyard.db*"))
    engine = create_engine(sync_url(settings.database_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT services::text FROM services")).scalars()
            return "\n".join(rows).encode()
    finally:
        engine.dispose()


def test_secrets_are_sealed_in_the_database(
    client: TestClient, services_url: str, settings: Settings
) -> None:
    body = full_service()
    body["buildArguments"] = {"ARG": "plain-build-argument-value"}
    body["buildFiles"] = {"/f": {"data": "cGxhaW4tYnVpbGQtZmlsZQ=="}}
    body["dockerSecretMounts"] = {"mount": {"data": "cGxhaW4tc2VjcmV0LW1vdW50"}}
    body["buildConfiguration"]["dockerCredentials"] = ["plain-docker-credential-id"]
    created = client.post(f"{services_url}/build", json=body)
    assert created.json()["data"]["buildArguments"] == body["buildArguments"]
    client.patch(f"{services_url}/build/example-service", json={"description": "patched"})
    stored = database_contents(settings)
    assert b"example-service" in stored and b"patched" in stored
    for secret in (
        b"plain-build-argument-value",
        b"cGxhaW4tYnVpbGQtZmlsZQ",
        b"cGxhaW4tc2VjcmV0LW1vdW50",
        b"plain-docker-credential-id",
    ):
        assert secret not in stored, secret
    patched = client.patch(f"{services_url}/build/example-service", json={}).json()["data"]
    assert patched["buildArguments"] == body["buildArguments"]
    assert patched["buildConfiguration"]["dockerCredentials"] == ["plain-docker-credential-id"]


def test_openapi_carries_the_rules(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    spec = schemas["BuildServiceSpec"]["properties"]
    assert spec["name"]["pattern"] and spec["name"]["maxLength"] == 54
    assert len(spec["buildSettings"]["oneOf"]) == 2
    assert spec["buildSource"]["anyOf"][0]["enum"] == ["git", "bundle"]
    configuration = schemas["ServiceBuildConfiguration-Input"]["properties"]
    rule = configuration["branchRestrictions"]["anyOf"][0]["items"]
    assert rule["pattern"] == r"^[^?:@$~ \[\]{}]*$"
    assert configuration["prRestrictions"]["anyOf"][0]["items"]["pattern"] == rule["pattern"]
    assert configuration["pathIgnoreRules"]["anyOf"][0]["items"]["maxLength"] == 260
    assert configuration["ciIgnoreFlags"]["items"]["maxLength"] == 72
    patch = schemas["BuildServicePatch"]["properties"]
    assert set(patch) == set(PATCH_EXAMPLE) | {"tags", "disabledCI"}
    settings = schemas["BuildSettingsPatch"]["properties"]
    assert set(settings) == {"storage", "dockerfile", "buildpack"}
    dockerfile = schemas["DockerfilePatch"]["properties"]
    assert dockerfile["buildEngine"]["anyOf"][0]["enum"] == ["buildkit", "kaniko"]
    vcs = schemas["VcsDataPatch"]["properties"]
    assert vcs["projectUrl"]["anyOf"][0]["pattern"].startswith("^(https://)?")
    assert vcs["selfHostedVcsId"]["anyOf"][0]["pattern"]


@pytest.mark.parametrize("engine", ["dockerfile", "buildpack"])
def test_storage_sizes_are_the_pages_enum_within_its_bounds(
    client: TestClient, services_url: str, engine: str
) -> None:
    settings = copy.deepcopy(PATCH_EXAMPLE["buildSettings"])
    del settings["buildpack" if engine == "dockerfile" else "dockerfile"]
    for size, status in [(16384, 200), (65536, 200), (131072, 400), (20000, 400)]:
        settings["storage"]["ephemeralStorage"]["storageSize"] = size
        body = minimal_service(f"size {size}", buildSettings=settings)
        assert client.post(f"{services_url}/build", json=body).status_code == status, size
