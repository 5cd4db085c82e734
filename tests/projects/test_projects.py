"""Projects: create (slug ids, name rules, 409), get, list, delete."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dockyard.projects.service import slugify
from tests.conftest import assert_error
from tests.helpers import minimal_job, minimal_service


def test_create_get_delete(client: TestClient) -> None:
    created = client.post(
        "/v1/projects",
        json={"name": "My Project", "description": "Builds (v2)", "color": "#1A2b3C"},
    ).json()["data"]
    assert created["id"] == "my-project"
    assert created["lifecycleStatus"] == "created"
    assert created["createdAt"].endswith("Z") and created["createdAt"] == created["updatedAt"]

    detail = client.get("/v1/projects/my-project").json()["data"]
    assert detail["name"] == "My Project"
    assert detail["description"] == "Builds (v2)"
    assert detail["uid"] == created["uid"]
    assert detail["jobs"] == [] and detail["services"] == [] and detail["addons"] == []
    assert detail["cluster"]["id"]

    assert client.delete("/v1/projects/my-project").json() == {"data": {}}
    assert_error(client.get("/v1/projects/my-project"), 404)
    assert_error(client.delete("/v1/projects/my-project"), 404)


def test_optional_fields_are_left_out_when_unset(client: TestClient) -> None:
    created = client.post("/v1/projects", json={"name": "bare"}).json()["data"]
    assert "description" not in created and "color" not in created


def test_name_clash_is_409(client: TestClient) -> None:
    assert client.post("/v1/projects", json={"name": "Twin Name"}).status_code == 200
    assert_error(client.post("/v1/projects", json={"name": "twin-name"}), 409, "name")


def test_the_base_images_namespace_is_no_project_id(client: TestClient) -> None:
    """A project `local` would push its images where kaniko builds find base images."""
    refused = assert_error(client.post("/v1/projects", json={"name": "Local"}), 400, "name")
    assert "reserved" in refused["message"]
    assert_error(client.get("/v1/projects/local"), 404)


def test_delete_child_objects_is_accepted(client: TestClient) -> None:
    client.post("/v1/projects", json={"name": "short lived"})
    response = client.delete("/v1/projects/short-lived", params={"delete_child_objects": "true"})
    assert response.status_code == 200
    assert_error(client.delete("/v1/projects/x", params={"delete_child_objects": "maybe"}), 400)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "name"),
        ({"name": "ab"}, "name"),
        ({"name": "a" * 53}, "name"),
        ({"name": "1starts-with-digit"}, "name"),
        ({"name": "double--dash"}, "name"),
        ({"name": "trailing-"}, "name"),
        ({"name": "émoji ✓"}, "name"),
        ({"name": "../etc"}, "name"),
        ({"name": None}, "name"),
        ({"name": "good", "description": "x" * 201}, "description"),
        ({"name": "good", "description": "no <tags>"}, "description"),
        ({"name": "good", "color": "red"}, "color"),
        ({"name": "good", "color": "#12345"}, "color"),
        ({"name": "good", "region": 5}, "region"),
        ({"name": "good", "extra": True}, "extra"),
    ],
)
def test_bad_project_input_is_400_and_writes_nothing(
    client: TestClient, body: dict[str, object], path: str
) -> None:
    assert_error(client.post("/v1/projects", json=body), 400, path)
    assert client.get("/v1/projects").json()["data"]["projects"] == []


@pytest.mark.parametrize(
    ("name", "slug"),
    [("My Project", "my-project"), ("a-b c", "a-b-c"), ("Upper", "upper"), ("x  y", "x-y")],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_project_lists_and_guards_its_jobs_and_services(client: TestClient) -> None:
    client.post("/v1/projects", json={"name": "holder"})
    job = client.post("/v1/projects/holder/jobs/manual", json=minimal_job("Nightly Report"))
    service = client.post("/v1/projects/holder/services/build", json=minimal_service("Web App"))
    assert job.status_code == 200 and service.status_code == 200, (job.text, service.text)

    detail = client.get("/v1/projects/holder").json()["data"]
    assert [(j["id"], j["jobType"], j["appId"]) for j in detail["jobs"]] == [
        ("nightly-report", "manual", "/dockyard/holder/nightly-report")
    ]
    assert [(s["id"], s["serviceType"]) for s in detail["services"]] == [("web-app", "build")]

    error = assert_error(client.delete("/v1/projects/holder"), 409)
    assert error["details"] == {"jobs": 1, "services": 1}
    assert client.get("/v1/projects/holder/jobs/nightly-report").status_code == 200

    deleted = client.delete("/v1/projects/holder", params={"delete_child_objects": "true"})
    assert deleted.status_code == 200
    assert_error(client.get("/v1/projects/holder"), 404)
    assert client.post("/v1/projects", json={"name": "holder"}).status_code == 200
    assert client.get("/v1/projects/holder/jobs").json()["data"]["jobs"] == []
