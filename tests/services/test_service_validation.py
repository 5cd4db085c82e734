"""Every rule of patch-build-service.md: one bad input each → 400 naming the field's JSON
path, and nothing written (on create, on PUT over an existing service, and on PATCH)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import assert_error
from tests.helpers import DROP, full_service, with_bad

FILE = {"data": "QQ==", "encoding": "utf-8"}

# (where in the full create body, the bad value (DROP removes it), the path the 400 names)
BAD_INPUTS: list[tuple[tuple[str | int, ...], Any, str]] = [
    (("name",), DROP, "name"),
    (("name",), "ab", "name"),
    (("name",), "a" * 55, "name"),
    (("name",), "1st service", "name"),
    (("name",), ["Example Service"], "name"),
    (("description",), "no <html>", "description"),
    (("description",), "a" * 201, "description"),
    (("tags",), ["ab"], "tags[0]"),
    (("tags",), "one-tag", "tags"),
    (("tags",), ["ok-tag", "-dash-first"], "tags[1]"),
    (("billing",), DROP, "billing"),
    (("billing", "buildPlan"), "x", "billing.buildPlan"),
    (("billing", "deploymentPlan"), "not a plan", "billing.deploymentPlan"),
    (("billing", "gpu"), {"enabled": "maybe"}, "billing.gpu.enabled"),
    (("billing", "gpu"), {"configuration": {"gpuCount": 1}}, "billing.gpu.configuration.gpuType"),
    (("infrastructure",), {"architecture": "mips"}, "infrastructure.architecture"),
    (("disabledCI",), "maybe", "disabledCI"),
    (("buildSource",), "svn", "buildSource"),
    (("vcsData",), DROP, "vcsData"),
    (("vcsData", "projectUrl"), DROP, "vcsData.projectUrl"),
    (("vcsData", "projectUrl"), "not a url", "vcsData.projectUrl"),
    (("vcsData", "projectUrl"), "ftp://github.com/a-b/c-d", "vcsData.projectUrl"),
    (("vcsData", "projectType"), DROP, "vcsData.projectType"),
    (("vcsData", "projectType"), "svn", "vcsData.projectType"),
    (("vcsData", "selfHostedVcsId"), "not an id", "vcsData.selfHostedVcsId"),
    (("vcsData", "selfHostedVcsId"), "owner/name/extra", "vcsData.selfHostedVcsId"),
    (("vcsData", "accountLogin"), 42, "vcsData.accountLogin"),
    (("vcsData", "vcsLinkId"), "short", "vcsData.vcsLinkId"),
    (("vcsData", "projectBranch"), "main", "vcsData.projectBranch"),
    (("buildSettings",), DROP, "buildSettings"),
    (("buildSettings",), "dockerfile", "buildSettings"),
    (("buildSettings", "buildpack"), {"builder": "HEROKU_24"}, "buildSettings.buildpack"),
    (
        ("buildSettings",),
        {"buildpack": {"builder": "HEROKU_99"}},
        "buildSettings.buildpack.builder",
    ),
    (
        ("buildSettings",),
        {"buildpack": {"buildContext": "rel"}},
        "buildSettings.buildpack.buildContext",
    ),
    (
        ("buildSettings", "dockerfile", "buildEngine"),
        "docker",
        "buildSettings.dockerfile.buildEngine",
    ),
    (
        ("buildSettings", "dockerfile", "dockerFilePath"),
        DROP,
        "buildSettings.dockerfile.dockerFilePath",
    ),
    (
        ("buildSettings", "dockerfile", "dockerFilePath"),
        "Dockerfile",
        "buildSettings.dockerfile.dockerFilePath",
    ),
    (
        ("buildSettings", "dockerfile", "dockerFilePath"),
        "/../Dockerfile",
        "buildSettings.dockerfile.dockerFilePath",
    ),
    (
        ("buildSettings", "dockerfile", "dockerWorkDir"),
        "/a/../..",
        "buildSettings.dockerfile.dockerWorkDir",
    ),
    (
        ("buildSettings", "dockerfile", "buildkit", "useCache"),
        "often",
        "buildSettings.dockerfile.buildkit.useCache",
    ),
    (
        ("buildSettings", "dockerfile", "buildkit", "cacheStorageSize"),
        0,
        "buildSettings.dockerfile.buildkit.cacheStorageSize",
    ),
    (
        ("buildSettings", "storage", "ephemeralStorage", "storageSize"),
        131072,
        "buildSettings.storage.ephemeralStorage.storageSize",
    ),
    (
        ("buildSettings", "storage", "ephemeralStorage", "storageSize"),
        1024,
        "buildSettings.storage.ephemeralStorage.storageSize",
    ),
    (("buildConfiguration",), [], "buildConfiguration"),
    (
        ("buildConfiguration", "branchRestrictions"),
        ["feature/[ab]"],
        "buildConfiguration.branchRestrictions[0]",
    ),
    (
        ("buildConfiguration", "branchRestrictions"),
        ["main", "a b"],
        "buildConfiguration.branchRestrictions[1]",
    ),
    (("buildConfiguration", "prRestrictions"), ["fix:1"], "buildConfiguration.prRestrictions[0]"),
    (("buildConfiguration", "prRestrictions"), "feature/*", "buildConfiguration.prRestrictions"),
    (
        ("buildConfiguration", "pathIgnoreRules"),
        ["x" * 261],
        "buildConfiguration.pathIgnoreRules[0]",
    ),
    (("buildConfiguration", "isAllowList"), "nope", "buildConfiguration.isAllowList"),
    (("buildConfiguration", "ciIgnoreFlagsEnabled"), 2, "buildConfiguration.ciIgnoreFlagsEnabled"),
    (
        ("buildConfiguration", "ciIgnoreFlags"),
        ["[" + "x" * 72 + "]"],
        "buildConfiguration.ciIgnoreFlags[0]",
    ),
    (
        ("buildConfiguration", "dockerfileTarget"),
        "--target=x",
        "buildConfiguration.dockerfileTarget",
    ),
    (
        ("buildConfiguration", "dockerCredentials"),
        ["not valid!"],
        "buildConfiguration.dockerCredentials[0]",
    ),
    (("buildConfiguration", "includeGitFolder"), [], "buildConfiguration.includeGitFolder"),
    (("buildConfiguration", "fullGitClone"), {}, "buildConfiguration.fullGitClone"),
    (
        ("buildConfiguration", "storage", "ephemeralStorage", "storageSize"),
        99,
        "buildConfiguration.storage.ephemeralStorage.storageSize",
    ),
    (("buildConfiguration", "crossProject"), True, "buildConfiguration.crossProject"),
    (("buildArguments",), ["A=1"], "buildArguments"),
    (("buildArguments",), {"A": 1}, "buildArguments.A"),
    (("buildArguments",), {"bad key!": "1"}, "buildArguments.bad key!"),
    (("buildFiles",), {"relative/file": FILE}, "buildFiles.relative/file"),
    (("buildFiles",), {"/dir/../etc/passwd": FILE}, "buildFiles./dir/../etc/passwd"),
    (("buildFiles",), {"/f": {"data": "not base64!"}}, "buildFiles./f.data"),
    (("buildFiles",), {"/f": {"data": "QQ==", "encoding": "utf-16"}}, "buildFiles./f.encoding"),
    (("buildFiles",), {"/f": {"encoding": "utf-8"}}, "buildFiles./f.data"),
    (("dockerSecretMounts",), {"-bad": FILE}, "dockerSecretMounts.-bad"),
    (("dockerSecretMounts",), {"npmrc": {"data": 5}}, "dockerSecretMounts.npmrc.data"),
    (("unknownField",), 1, "unknownField"),
]


def service_ids(client: TestClient, url: str) -> list[str]:
    return [item["id"] for item in client.get(url).json()["data"]["services"]]


def test_every_bad_input_is_400_naming_its_path_and_writes_nothing(
    client: TestClient, services_url: str
) -> None:
    for where, value, path in BAD_INPUTS:
        body = with_bad(full_service(), where, value)
        error = assert_error(client.post(f"{services_url}/build", json=body), 400, path)
        assert error["id"] == "validation-error", path
        assert_error(client.put(f"{services_url}/build", json=body), 400, path)
    assert service_ids(client, services_url) == []


# PATCH bodies only the PATCH page allows to go wrong this way (the create table's fields are
# checked on PATCH too): (a PATCH body, the path the 400 names)
BAD_PATCHES: list[tuple[dict[str, Any], str]] = [
    ({"name": "Other Name"}, "name"),
    ({"infrastructure": {"architecture": "x86"}}, "infrastructure"),
    (
        {"buildSettings": {"dockerfile": {"dockerFilePath": "/a/../b"}}},
        "buildSettings.dockerfile.dockerFilePath",
    ),
    (
        {"buildSettings": {"dockerfile": {}, "buildpack": {"builder": "X"}}},
        "buildSettings.buildpack.builder",
    ),
    (
        {"buildSettings": {"buildpack": {}, "dockerfile": {"buildEngine": 1}}},
        "buildSettings.dockerfile.buildEngine",
    ),
    (
        {"buildSettings": {"buildpack": {"buildContext": "/../up"}}},
        "buildSettings.buildpack.buildContext",
    ),
    ({"vcsData": {"selfHostedVcsId": "a/b/c"}}, "vcsData.selfHostedVcsId"),
    ({"vcsData": None}, "vcsData"),
    ({"buildSettings": None}, "buildSettings"),
    ({"billing": "nf-compute-20"}, "billing"),
]
# Rows of the create table a PATCH cannot break: it names no name, drops nothing by omission,
# may name both build engines, and has no `infrastructure` (an unknown field, as above).
NOT_PATCHABLE = {"name", "buildSettings.buildpack", "infrastructure.architecture"}


def patches_from_the_create_table() -> list[tuple[dict[str, Any], str]]:
    rows = [row for row in BAD_INPUTS if row[1] is not DROP and row[2] not in NOT_PATCHABLE]
    return [
        ({str(where[0]): with_bad(full_service(), where, value)[str(where[0])]}, path)
        for where, value, path in rows
    ]


def test_patch_rejects_bad_inputs_and_changes_nothing(
    client: TestClient, services_url: str
) -> None:
    client.post(f"{services_url}/build", json=full_service())
    url = f"{services_url}/build/example-service"
    before = client.get(f"{services_url}/example-service").json()
    for patch, path in patches_from_the_create_table() + BAD_PATCHES:
        assert_error(client.patch(url, json=patch), 400, path)
    assert client.get(f"{services_url}/example-service").json() == before


def test_bad_put_over_an_existing_service_changes_nothing(
    client: TestClient, services_url: str
) -> None:
    client.post(f"{services_url}/build", json=full_service())
    before = client.get(f"{services_url}/example-service").json()
    body = with_bad(full_service(), ("buildFiles",), {"/x/../y": FILE})
    assert_error(client.put(f"{services_url}/build", json=body), 400, "buildFiles./x/../y")
    assert client.get(f"{services_url}/example-service").json() == before


def test_malformed_json_is_400(client: TestClient, services_url: str) -> None:
    response = client.post(
        f"{services_url}/build", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "body")


def test_the_table_covers_the_rules() -> None:
    assert len(BAD_INPUTS) >= 25
    assert len({(where, repr(value)) for where, value, _ in BAD_INPUTS}) == len(BAD_INPUTS)
