"""Cron jobs over HTTP: every field of a manual job plus the official cron request's
`schedule`, `concurrencyPolicy` and `suspended`; the replies parse into the official SDK's
types (CreateJobCronResponse for writes, GetJobResponse with `settings.cron` for GET);
validation names the field; PUT, PATCH, suspension, the manual/cron boundary."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from northflank._types import CreateJobCronResponse, GetJobResponse, ListJobsResponse

from tests.conformance.sdk_types import validate
from tests.conftest import assert_error
from tests.helpers import minimal_job

EXTERNAL = {"external": {"imagePath": "local/busybox:1"}}


def cron_job(name: str = "Nightly", **fields: Any) -> dict[str, Any]:
    return minimal_job(name, **({"schedule": "30 8 * * *"} | fields))


def jobs_url(project: str) -> str:
    return f"/v1/projects/{project}/jobs"


def created(client: TestClient, project: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{jobs_url(project)}/cron", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_create_answers_the_official_cron_reply(client: TestClient, project: str) -> None:
    data = created(client, project, cron_job(description="every morning"))
    validate(CreateJobCronResponse, data)
    assert data["jobType"] == "cron" and data["id"] == "nightly"
    assert data["schedule"] == "30 8 * * *"
    assert data["concurrencyPolicy"] == "allow" and data["suspended"] is False  # defaults
    assert data["settings"]["cron"] == {"schedule": "30 8 * * *", "concurrencyPolicy": "Allow"}


def test_get_shows_settings_cron_as_the_official_read_type(
    client: TestClient, project: str
) -> None:
    body = cron_job(concurrencyPolicy="forbid", suspended=True, activeDeadlineSeconds=60)
    created(client, project, body)
    got = client.get(f"{jobs_url(project)}/nightly").json()["data"]
    validate(GetJobResponse, got)
    assert got["jobType"] == "cron" and got["suspended"] is True
    assert got["settings"] == {
        "activeDeadlineSeconds": 60,
        "backoffLimit": 0,
        "cron": {"schedule": "30 8 * * *", "concurrencyPolicy": "Forbid"},
    }
    listed = client.get(jobs_url(project)).json()
    validate(ListJobsResponse, listed["data"])
    (summary,) = listed["data"]["jobs"]
    assert summary["jobType"] == "cron" and summary["suspended"] is True
    detail = client.get(f"/v1/projects/{project}").json()["data"]
    assert [job["jobType"] for job in detail["jobs"]] == ["cron"]


def test_every_manual_field_is_taken(
    client: TestClient, project: str, create_example: dict[str, Any]
) -> None:
    body = create_example | {"schedule": "@daily", "concurrencyPolicy": "replace"}
    data = created(client, project, body)
    for key in create_example:
        assert key in data, key
    assert data["runtimeEnvironment"] == create_example["runtimeEnvironment"]
    assert data["concurrencyPolicy"] == "replace"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"schedule": "61 * * * *"}, "schedule"),
        ({"schedule": "* * * *"}, "schedule"),
        ({"schedule": "*/5 * * * * *"}, "schedule"),
        ({"schedule": ""}, "schedule"),
        ({"schedule": 5}, "schedule"),
        ({"schedule": None}, "schedule"),
        ({"concurrencyPolicy": "Forbid"}, "concurrencyPolicy"),
        ({"suspended": "true"}, "suspended"),
        ({"timeZone": "Europe/Paris"}, "timeZone"),
    ],
)
def test_bad_cron_fields_are_400_naming_the_field(
    client: TestClient, project: str, change: dict[str, Any], path: str
) -> None:
    response = client.post(f"{jobs_url(project)}/cron", json=cron_job(**change))
    assert_error(response, 400, path)
    assert client.get(jobs_url(project)).json()["data"]["jobs"] == []


def test_a_cron_job_needs_a_schedule(client: TestClient, project: str) -> None:
    response = client.post(f"{jobs_url(project)}/cron", json=minimal_job("No Schedule"))
    assert_error(response, 400, "schedule")


def test_patch_suspends_resumes_and_revalidates(client: TestClient, project: str) -> None:
    created(client, project, cron_job())
    url = f"{jobs_url(project)}/cron/nightly"
    suspended = client.patch(url, json={"suspended": True})
    assert suspended.status_code == 200, suspended.text
    validate(CreateJobCronResponse, suspended.json()["data"])
    assert suspended.json()["data"]["suspended"] is True
    assert client.get(f"{jobs_url(project)}/nightly").json()["data"]["suspended"] is True

    resumed = client.patch(url, json={"suspended": False, "schedule": "0 */2 * * mon-fri"})
    assert resumed.json()["data"]["suspended"] is False
    assert resumed.json()["data"]["schedule"] == "0 */2 * * mon-fri"

    assert_error(client.patch(url, json={"schedule": "0 25 * * *"}), 400, "schedule")
    assert_error(client.patch(url, json={"schedule": None}), 400, "schedule")
    got = client.get(f"{jobs_url(project)}/nightly").json()["data"]
    assert got["settings"]["cron"]["schedule"] == "0 */2 * * mon-fri"


def test_suspend_sets_or_toggles_the_schedule(client: TestClient, project: str) -> None:
    created(client, project, cron_job())
    url = f"{jobs_url(project)}/nightly/suspend"

    def suspended() -> bool:
        state: bool = client.get(f"{jobs_url(project)}/nightly").json()["data"]["suspended"]
        return state

    answer = client.post(url, json={"suspended": True})
    assert answer.status_code == 200 and answer.json() == {"data": {}}, answer.text
    assert suspended() is True
    client.post(url, json={"suspended": True})
    assert suspended() is True  # setting is idempotent
    client.post(url, json={})
    assert suspended() is False  # no value: toggles
    client.post(url, json={})
    assert suspended() is True

    assert_error(client.post(url, json={"suspended": "yes"}), 400, "suspended")
    assert_error(client.post(url, json={"paused": True}), 400, "paused")
    assert client.post(f"{jobs_url(project)}/missing/suspend", json={}).status_code == 404
    manual = client.post(f"{jobs_url(project)}/manual", json=minimal_job("Plain"))
    assert manual.status_code == 200, manual.text
    refused = client.post(f"{jobs_url(project)}/plain/suspend", json={"suspended": True})
    assert refused.status_code == 409, refused.text


def test_put_creates_then_replaces_and_may_change_the_type(
    client: TestClient, project: str
) -> None:
    url = jobs_url(project)
    first = client.put(f"{url}/cron", json=cron_job(suspended=True))
    assert first.status_code == 200, first.text
    second = client.put(f"{url}/cron", json=cron_job(schedule="@hourly"))
    assert second.json()["data"]["uid"] == first.json()["data"]["uid"]
    assert second.json()["data"]["suspended"] is False  # omitted: back to the default

    manual = client.put(f"{url}/manual", json=minimal_job("Nightly"))
    assert manual.status_code == 200, manual.text
    got = client.get(f"{url}/nightly").json()["data"]
    assert got["jobType"] == "manual" and "cron" not in got["settings"]
    assert "schedule" not in got
    back = client.put(f"{url}/cron", json=cron_job())
    assert back.json()["data"]["jobType"] == "cron"


def test_each_type_is_patched_at_its_own_path(client: TestClient, project: str) -> None:
    url = jobs_url(project)
    created(client, project, cron_job())
    assert client.post(f"{url}/manual", json=minimal_job("Plain")).status_code == 200
    assert_error(client.patch(f"{url}/manual/nightly", json={"backoffLimit": 2}), 409)
    assert_error(client.patch(f"{url}/cron/plain", json={"backoffLimit": 2}), 409)
    assert_error(client.patch(f"{url}/cron/missing", json={}), 404)
    assert_error(client.post(f"{url}/cron", json=minimal_job("Plain", schedule="@daily")), 409)


def test_secret_and_source_endpoints_keep_a_cron_job_cron(client: TestClient, project: str) -> None:
    url = jobs_url(project)
    created(client, project, cron_job())
    environment = {"runtimeEnvironment": {"GREETING": "hi"}}
    assert client.post(f"{url}/nightly/runtime-environment", json=environment).status_code == 200
    source = {
        "projectUrl": "https://github.com/northflank/gatsby-with-northflank",
        "projectType": "github",
        "projectBranch": "main",
    }
    assert client.post(f"{url}/nightly/build-source", json=source).status_code == 200
    got = client.get(f"{url}/nightly").json()["data"]
    assert got["jobType"] == "cron" and got["schedule"] == "30 8 * * *"
    assert got["vcsData"]["projectBranch"] == "main"


def test_runs_asked_for_through_the_api_say_so(client: TestClient, project: str) -> None:
    url = jobs_url(project)
    created(client, project, cron_job(deployment=EXTERNAL))
    run = client.post(f"{url}/nightly/runs", json={}).json()["data"]
    got = client.get(f"{url}/nightly/runs/{run['id']}").json()["data"]
    assert got["trigger"] == "api" and "scheduledAt" not in got
