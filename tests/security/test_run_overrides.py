"""A token holding only "Run Job" starts runs with its own variables, but overriding what
the run executes (image, entrypoint, command, files, mounts) needs Jobs > General > Update."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import assert_error, token_with
from tests.helpers import minimal_job

EXTERNAL = {"external": {"imagePath": "local/busybox:1"}}
ENTRYPOINT = {"configType": "customEntrypointCustomCommand", "customEntrypoint": "sh"}
OVERRIDES: list[dict[str, Any]] = [
    {"deployment": EXTERNAL},
    {"deployment": {"internal": {"id": "other-job"}}},
    {"deployment": {"docker": ENTRYPOINT | {"customCommand": "-c 'env | base64'"}}},
    {"runtimeFiles": {"/app/run.sh": {"data": "ZW52", "encoding": "base64"}}},
    {"dockerSecretMounts": {"mount-id": {"data": "ZW52", "encoding": "base64"}}},
]


@pytest.fixture
def job(client: TestClient, project: str) -> str:
    body = minimal_job("Secret Job", deployment=EXTERNAL, runtimeEnvironment={"K": "secret"})
    assert client.post(f"/v1/projects/{project}/jobs/manual", json=body).status_code == 200
    return f"/v1/projects/{project}/jobs/secret-job/runs"


@pytest.mark.parametrize("override", OVERRIDES)
def test_run_only_token_cannot_override_what_runs(
    app_client: TestClient, settings: Settings, job: str, override: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {token_with(settings, Permission.JOBS_RUN)}"}
    error = assert_error(app_client.post(job, json=override, headers=headers), 403)
    assert error["details"] == {"permission": Permission.JOBS_UPDATE.value}
    both = token_with(settings, Permission.JOBS_RUN, Permission.JOBS_UPDATE)
    allowed = app_client.post(job, json=override, headers={"Authorization": f"Bearer {both}"})
    assert allowed.status_code != 403, allowed.text


def test_run_only_token_sets_its_own_environment_and_plan(
    app_client: TestClient, settings: Settings, job: str
) -> None:
    headers = {"Authorization": f"Bearer {token_with(settings, Permission.JOBS_RUN)}"}
    body = {"runtimeEnvironment": {"MINE": "1"}, "billing": {"deploymentPlan": "nf-compute-20"}}
    started = app_client.post(job, json=body, headers=headers)
    assert started.status_code == 200, started.text


@pytest.mark.parametrize("name", ["BASH_ENV", "SHELLOPTS", "PS4", "LD_PRELOAD", "node_options"])
def test_run_only_token_cannot_set_variables_that_load_code(
    app_client: TestClient, settings: Settings, job: str, name: str
) -> None:
    """bash runs `$(...)` in BASH_ENV (or PS4 under SHELLOPTS=xtrace) before the job's own
    script: such a variable changes what the job executes."""
    override = {"runtimeEnvironment": {name: "$(env | base64)"}}
    headers = {"Authorization": f"Bearer {token_with(settings, Permission.JOBS_RUN)}"}
    error = assert_error(app_client.post(job, json=override, headers=headers), 403)
    assert error["details"] == {"permission": Permission.JOBS_UPDATE.value}
    both = token_with(settings, Permission.JOBS_RUN, Permission.JOBS_UPDATE)
    allowed = app_client.post(job, json=override, headers={"Authorization": f"Bearer {both}"})
    assert allowed.status_code == 200, allowed.text
