"""VCS links through the API: created, listed in the official clients' shape, rotated and
deleted (409 while a job or service names them); the token in no reply and not in the clear
at rest."""

from __future__ import annotations

from typing import Any, get_type_hints

from fastapi.testclient import TestClient
from northflank._types import ListVcsResponseVcsAccountLink

from dockyard.config import Settings
from tests.conftest import assert_error, stored_bytes
from tests.helpers import REPOSITORY, VCS_JOB, created_id, minimal_job, minimal_service

LINKS = "/v1/integrations/vcs/links"
TOKEN = "ghp_linktoken0123456789abcdef"


def link(name: str = "Acme GitHub", **fields: Any) -> dict[str, Any]:
    return {"name": name, "vcsService": "github", "login": "acme-bot", "token": TOKEN} | fields


def create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    reply = client.post(LINKS, json=body)
    assert reply.status_code == 200, reply.text
    assert TOKEN not in reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


def test_a_link_is_created_listed_in_the_clients_shape_and_sealed(
    client: TestClient, settings: Settings
) -> None:
    made = create(client, link())
    assert made["id"] == "acme-github" and len(made["vcsLinkId"]) == 24
    assert made["vcsUrl"] == "https://github.com" and made["kind"] == "token"
    assert "token" not in made
    gitea = create(
        client,
        link("Gitea", vcsService="self-hosted", vcsType="gitea", vcsUrl="http://Git.Test:3000/"),
    )
    assert gitea["vcsUrl"] == "http://git.test:3000"

    listed = client.get("/v1/integrations/vcs")
    assert listed.status_code == 200 and TOKEN not in listed.text
    links = listed.json()["data"]["vcsAccountLinks"]
    assert [entry["vcsLinkId"] for entry in links] == [made["vcsLinkId"], gitea["vcsLinkId"]]
    shape = get_type_hints(ListVcsResponseVcsAccountLink)
    for entry in links:
        assert set(entry) <= set(shape) and {"login", "vcsLinkId", "vcsService"} <= set(entry)
    assert TOKEN.encode() not in stored_bytes(settings, "vcs_links")


def test_the_same_name_twice_is_a_conflict(client: TestClient) -> None:
    create(client, link())
    assert_error(client.post(LINKS, json=link("acme  github")), 409)


def test_rotating_replaces_the_token_and_shows_neither(
    client: TestClient, settings: Settings
) -> None:
    made = create(client, link())
    rotated = client.patch(
        f"{LINKS}/{made['id']}", json={"token": "ghp_rotated987654321", "login": "new-bot"}
    )
    assert rotated.status_code == 200, rotated.text
    assert "ghp_rotated" not in rotated.text
    assert rotated.json()["data"]["login"] == "new-bot"
    at_rest = stored_bytes(settings, "vcs_links")
    assert b"ghp_rotated" not in at_rest and TOKEN.encode() not in at_rest


def test_deleting_a_link_a_job_or_service_names_is_a_conflict(
    client: TestClient, project: str
) -> None:
    made = create(client, link())
    named = {"vcsLinkId": made["vcsLinkId"]}
    vcs = VCS_JOB["deployment"]["vcs"] | named
    created_id(client, project, "/jobs/manual", minimal_job("Uses It", deployment={"vcs": vcs}))
    service = minimal_service("Also", vcsData=REPOSITORY | {"projectType": "github"} | named)
    created_id(client, project, "/services/build", service)

    refused = assert_error(client.delete(f"{LINKS}/{made['id']}"), 409)
    assert refused["details"]["usedBy"] == [f"job {project}/uses-it", f"service {project}/also"]

    client.delete(f"/v1/projects/{project}/jobs/uses-it").raise_for_status()
    client.delete(f"/v1/projects/{project}/services/also").raise_for_status()
    assert client.delete(f"{LINKS}/{made['vcsLinkId']}").status_code == 200
    assert client.get("/v1/integrations/vcs").json()["data"]["vcsAccountLinks"] == []
