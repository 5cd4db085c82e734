"""Every rule of create-manual-job.md: one bad input each → 400 naming the field's JSON path,
and nothing written."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import assert_error
from tests.helpers import DROP, page_examples, with_bad

FILE = {"data": "QQ==", "encoding": "utf-8"}
HTTP_CHECK = page_examples("create-manual-job.md")[0]["healthChecks"][0]

# (where in the page's example body, the bad value (DROP removes it), the path the 400 names)
BAD_INPUTS: list[tuple[tuple[str | int, ...], Any, str]] = [
    (("name",), DROP, "name"),
    (("name",), "ab", "name"),
    (("name",), "a" * 53, "name"),
    (("name",), "1st job", "name"),
    (("name",), 123, "name"),
    (("description",), "no <html>", "description"),
    (("description",), "a" * 201, "description"),
    (("tags",), ["ab"], "tags[0]"),
    (("tags",), ["under_score"], "tags[0]"),
    (("infrastructure",), {"architecture": "mips"}, "infrastructure.architecture"),
    (("billing",), DROP, "billing"),
    (("billing", "deploymentPlan"), DROP, "billing.deploymentPlan"),
    (("billing", "buildPlan"), "x", "billing.buildPlan"),
    (("billing", "gpu"), {"configuration": {}}, "billing.gpu.configuration.gpuType"),
    (("backoffLimit",), DROP, "backoffLimit"),
    (("backoffLimit",), "three", "backoffLimit"),
    (("backoffLimit",), -1, "backoffLimit"),
    (("runOnSourceChange",), "sometimes", "runOnSourceChange"),
    (("activeDeadlineSeconds",), 0, "activeDeadlineSeconds"),
    (("activeDeadlineSeconds",), 1.5, "activeDeadlineSeconds"),
    (("disabledCI",), "maybe", "disabledCI"),
    (("deployment",), "vcs", "deployment"),
    (("deployment", "external"), {"imagePath": "nginx:latest"}, "deployment.external"),
    (("deployment", "internal"), {"id": "builder"}, "deployment.internal"),
    (("deployment", "vcs", "projectUrl"), "not a url", "deployment.vcs.projectUrl"),
    (("deployment", "vcs", "projectType"), "svn", "deployment.vcs.projectType"),
    (("deployment", "vcs", "projectBranch"), DROP, "deployment.vcs.projectBranch"),
    (("deployment", "vcs", "projectBranch"), "--upload-pack=x", "deployment.vcs.projectBranch"),
    (("deployment", "vcs", "selfHostedVcsId"), "not an id", "deployment.vcs.selfHostedVcsId"),
    (("deployment", "vcs", "vcsLinkId"), "short", "deployment.vcs.vcsLinkId"),
    (("deployment", "docker", "configType"), "weird", "deployment.docker.configType"),
    (("deployment", "docker"), {"configType": "customCommand"}, "deployment.docker.customCommand"),
    (
        ("deployment", "docker"),
        {"configType": "customEntrypointCustomCommand", "customCommand": "run"},
        "deployment.docker.customEntrypoint",
    ),
    (
        ("deployment", "buildpack"),
        {"configType": "customProcess"},
        "deployment.buildpack.customProcess",
    ),
    (
        ("deployment", "buildpack"),
        {"configType": "originalEntrypointCustomCommand"},
        "deployment.buildpack.customCommand",
    ),
    (
        ("deployment", "storage", "ephemeralStorage", "storageSize"),
        1023,
        "deployment.storage.ephemeralStorage.storageSize",
    ),
    (("deployment", "storage", "shmSize"), 63, "deployment.storage.shmSize"),
    (("deployment", "gracePeriodSeconds"), 14, "deployment.gracePeriodSeconds"),
    (("deployment", "gracePeriodSeconds"), 601, "deployment.gracePeriodSeconds"),
    (("deployment", "metadata"), {"labels": {"app": 1}}, "deployment.metadata.labels.app"),
    (
        ("deployment",),
        {"external": {"imagePath": "not an image!"}},
        "deployment.external.imagePath",
    ),
    (
        ("deployment",),
        {"external": {"imagePath": "nginx:1", "credentials": "a b"}},
        "deployment.external.credentials",
    ),
    (("deployment",), {"internal": {"buildSHA": "abc"}}, "deployment.internal.buildSHA"),
    (("deployment",), {"internal": {"id": "-bad"}}, "deployment.internal.id"),
    (("buildSettings", "buildpack"), {}, "buildSettings.buildpack"),
    (
        ("buildSettings", "dockerfile", "buildEngine"),
        "docker",
        "buildSettings.dockerfile.buildEngine",
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
        DROP,
        "buildSettings.dockerfile.dockerWorkDir",
    ),
    (
        ("buildSettings",),
        {"buildpack": {"builder": "HEROKU_99"}},
        "buildSettings.buildpack.builder",
    ),
    (
        ("buildSettings", "storage", "ephemeralStorage", "storageSize"),
        131072,
        "buildSettings.storage.ephemeralStorage.storageSize",
    ),
    (
        ("buildConfiguration", "pathIgnoreRules"),
        ["a" * 261],
        "buildConfiguration.pathIgnoreRules[0]",
    ),
    (("buildConfiguration", "ciIgnoreFlags"), ["a" * 73], "buildConfiguration.ciIgnoreFlags[0]"),
    (
        ("buildConfiguration", "dockerCredentials"),
        ["a b"],
        "buildConfiguration.dockerCredentials[0]",
    ),
    (("buildConfiguration", "isAllowList"), "maybe", "buildConfiguration.isAllowList"),
    (("buildConfiguration", "dockerfileTarget"), "--evil", "buildConfiguration.dockerfileTarget"),
    (("buildConfiguration", "colour"), "red", "buildConfiguration.colour"),
    (("buildArguments",), {"bad key!": "x"}, "buildArguments.bad key!"),
    (("buildArguments",), {"NUMBER": 1}, "buildArguments.NUMBER"),
    (("runtimeEnvironment",), ["A=1"], "runtimeEnvironment"),
    (("buildFiles",), {"relative/file": FILE}, "buildFiles.relative/file"),
    (("buildFiles",), {"/dir/../../etc/passwd": FILE}, "buildFiles./dir/../../etc/passwd"),
    (("buildFiles",), {"/f": {"data": "not base64!"}}, "buildFiles./f.data"),
    (("buildFiles",), {"/f": {"data": "QQ==", "encoding": "utf-16"}}, "buildFiles./f.encoding"),
    (("runtimeFiles",), {"/../x": FILE}, "runtimeFiles./../x"),
    (("runtimeFiles",), {"/f": {"encoding": "utf-8"}}, "runtimeFiles./f.data"),
    (("dockerSecretMounts",), {"bad id!": FILE}, "dockerSecretMounts.bad id!"),
    (("healthChecks", 0, "protocol"), "UDP", "healthChecks[0].protocol"),
    (("healthChecks", 0, "type"), "aliveProbe", "healthChecks[0].type"),
    (("healthChecks", 0, "path"), DROP, "healthChecks[0].path"),
    (("healthChecks", 0, "path"), "health", "healthChecks[0].path"),
    (("healthChecks", 0, "port"), 0, "healthChecks[0].port"),
    (("healthChecks", 0, "protocol"), "CMD", "healthChecks[0].cmd"),
    (("healthChecks", 0, "initialDelaySeconds"), 181, "healthChecks[0].initialDelaySeconds"),
    (("healthChecks", 0, "periodSeconds"), 9, "healthChecks[0].periodSeconds"),
    (("healthChecks", 0, "timeoutSeconds"), 61, "healthChecks[0].timeoutSeconds"),
    (("healthChecks", 0, "failureThreshold"), 256, "healthChecks[0].failureThreshold"),
    (("healthChecks", 0, "failureThreshold"), DROP, "healthChecks[0].failureThreshold"),
    (("healthChecks", 0, "successThreshold"), 0, "healthChecks[0].successThreshold"),
    (("healthChecks",), [HTTP_CHECK | {"protocol": "TCP", "port": None}], "healthChecks[0].port"),
    (("colour",), "red", "colour"),
]


def test_the_table_covers_enough_rules() -> None:
    assert len(BAD_INPUTS) >= 60
    assert len({(where, repr(value)) for where, value, _ in BAD_INPUTS}) == len(BAD_INPUTS)


def test_every_bad_input_is_400_naming_its_path_and_writes_nothing(
    client: TestClient, project: str, create_example: dict[str, Any]
) -> None:
    url = f"/v1/projects/{project}/jobs"
    for where, value, path in BAD_INPUTS:
        response = client.post(f"{url}/manual", json=with_bad(create_example, where, value))
        error = assert_error(response, 400, path)
        assert error["id"] == "validation-error", path
        put = client.put(f"{url}/manual", json=with_bad(create_example, where, value))
        assert_error(put, 400, path)
    assert client.get(url).json()["data"]["jobs"] == []


def test_patch_rejects_the_same_inputs_and_changes_nothing(
    client: TestClient, project: str, create_example: dict[str, Any]
) -> None:
    url = f"/v1/projects/{project}/jobs"
    client.post(f"{url}/manual", json=create_example)
    before = client.get(f"{url}/example-job").json()
    for where, value, path in BAD_INPUTS:
        if where[0] == "name" or value is DROP:
            continue
        patch = {str(where[0]): with_bad(create_example, where, value)[str(where[0])]}
        assert_error(client.patch(f"{url}/manual/example-job", json=patch), 400, path)
    assert client.get(f"{url}/example-job").json() == before


def test_malformed_json_and_non_object_bodies_are_400(client: TestClient, project: str) -> None:
    url = f"/v1/projects/{project}/jobs/manual"
    headers = {"Content-Type": "application/json"}
    assert_error(client.post(url, content=b"{not json", headers=headers), 400, "body")
    assert_error(client.post(url, json=[1, 2]), 400, "body")
