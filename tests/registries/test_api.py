"""Registry credentials over HTTP, in the official clients' shapes: add, list, get, PATCH,
delete; the password sealed at rest and in no reply; restrictions to projects; 409 for
credentials a job or build service names; and the logins builds and runs resolve from them
(then from DOCKYARD_REGISTRY_CREDENTIALS)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.config import Settings
from dockyard.db.session import run_in_session
from dockyard.engine.base import RegistryCredentials
from dockyard.registries import service
from dockyard.rotation.service import key_ids_in_use, reseal_all
from dockyard.secrets.credentials import CredentialsNotConfigured
from dockyard.secrets.crypto import SecretBox, decode_key, keys_of, new_key_text
from tests.conftest import assert_error, stored_bytes
from tests.helpers import IMAGE_JOB, minimal_job, minimal_service

PASSWORD = "registry-pass-7f3a9c"
R = "/v1/integrations/registries"


def credentials(name: str = "Private Registry", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "custom",
        "registryUrl": "https://registry.example.test:5000/",
        "credentials": {"username": "ci", "password": PASSWORD},
    } | fields


def logins(settings: Settings, project: str, ids: list[str]) -> list[RegistryCredentials]:
    box = SecretBox.from_settings(settings)
    return asyncio.run(
        run_in_session(
            settings.resolved_database_url,
            lambda session: service.registry_logins(session, box, settings, project, ids),
        )
    )


def test_add_list_get_update_delete(client: TestClient, settings: Settings) -> None:
    added = client.post(R, json=credentials(credentials={"username": "ci", "password": PASSWORD}))
    assert added.status_code == 200, added.text
    data = added.json()["data"]
    assert data["id"] == "private-registry" and data["provider"] == "custom"
    assert data["registryUrl"] == "https://registry.example.test:5000/"  # as given
    assert data["credentials"] == {"scope": {"pull": True, "push": False}}
    assert data["restrictions"] == {"restricted": False, "projects": []}
    assert data["registryCredentialRefresh"] == {
        "status": "healthy",
        "failureCount": 0,
        "retryDelay": 0,
    }
    assert data["createdAt"].endswith("Z") and data["updatedAt"].endswith("Z")
    hub = client.post(
        R,
        json={k: v for k, v in credentials("Hub").items() if k != "registryUrl"}
        | {"provider": "dockerhub"},
    )
    assert hub.json()["data"]["registryUrl"] == "https://index.docker.io/v1/"
    pathed = client.post(R, json=credentials("Pathed", registryUrl="http://ghcr.io/acme/"))
    assert pathed.status_code == 200, pathed.text
    assert logins(settings, "any", ["pathed"])[0].registry == "ghcr.io"
    assert client.delete(f"{R}/pathed").status_code == 200
    listed = client.get(R, params={"per_page": 1})
    assert [item["id"] for item in listed.json()["data"]["credentials"]] == ["private-registry"]
    assert listed.json()["pagination"]["hasNextPage"] is True
    assert client.get(f"{R}/private-registry").json()["data"] == data

    patched = client.patch(
        f"{R}/private-registry",
        json={"credentials": {"password": "rotated-pass", "scope": {"pull": True, "push": True}}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["credentials"]["scope"]["push"] is True
    assert logins(settings, "any", ["private-registry"]) == [
        RegistryCredentials("registry.example.test:5000", "ci", "rotated-pass")
    ]
    renamed = client.patch(f"{R}/private-registry", json={"credentials": {"username": "bot"}})
    assert renamed.status_code == 200, renamed.text
    assert logins(settings, "any", ["private-registry"])[0].password == "rotated-pass"

    for reply in (added, listed, patched, renamed, hub):
        assert PASSWORD not in reply.text and "rotated-pass" not in reply.text
    for password in (PASSWORD, "rotated-pass"):
        assert password.encode() not in stored_bytes(settings, "registry_credentials")

    assert_error(client.post(R, json=credentials()), 409, "name")
    assert client.delete(f"{R}/private-registry").status_code == 200
    assert_error(client.get(f"{R}/private-registry"), 404)
    assert_error(client.delete(f"{R}/private-registry"), 404)


def test_the_official_team_paths_answer_too(client: TestClient, settings: Settings) -> None:
    team = f"/v1/teams/{settings.team_id}/integrations/registries"
    assert client.post(team, json=credentials()).status_code == 200
    assert client.get(f"{team}/private-registry").json()["data"]["id"] == "private-registry"
    assert_error(client.get("/v1/teams/nope/integrations/registries"), 404)


def test_unsupported_providers_are_refused_by_name(client: TestClient) -> None:
    error = assert_error(client.post(R, json=credentials(provider="ecr")), 400, "provider")
    assert "dockerhub, github, gitlab, custom" in error["message"]


def test_restricted_credentials_serve_only_their_projects(
    client: TestClient, settings: Settings, project: str
) -> None:
    restricted = credentials(restrictions={"restricted": True, "projects": [project]})
    assert client.post(R, json=restricted).status_code == 200

    assert [login.username for login in logins(settings, project, ["private-registry"])] == ["ci"]
    with pytest.raises(CredentialsNotConfigured, match="restricted to other projects"):
        logins(settings, "other-project", ["private-registry"])
    with pytest.raises(CredentialsNotConfigured, match="not configured"):
        logins(settings, project, ["nowhere"])


def test_the_operator_seed_answers_for_ids_not_in_the_database(
    client: TestClient, settings: Settings
) -> None:
    seeded = Settings(
        registry_credentials={"seed": {"registry": "seed.test", "username": "s", "password": "p"}}
    )
    both = settings.model_copy(update={"registry_credentials": seeded.registry_credentials})
    assert client.post(R, json=credentials()).status_code == 200
    found = logins(both, "p", ["seed", "private-registry"])
    assert [login.registry for login in found] == ["seed.test", "registry.example.test:5000"]


def test_credentials_in_use_cannot_be_deleted(client: TestClient, project: str) -> None:
    assert client.post(R, json=credentials()).status_code == 200
    external = {
        "deployment": {
            "external": {**IMAGE_JOB["deployment"]["external"], "credentials": "private-registry"}
        }
    }
    job = client.post(f"/v1/projects/{project}/jobs/manual", json=minimal_job("Puller", **external))
    assert job.status_code == 200, job.text
    service_body = minimal_service(
        "Builder", buildConfiguration={"dockerCredentials": ["private-registry"]}
    )
    built = client.post(f"/v1/projects/{project}/services/build", json=service_body)
    assert built.status_code == 200, built.text

    error = assert_error(client.delete(f"{R}/private-registry"), 409, "usedBy")
    assert error["details"]["usedBy"] == [f"job {project}/puller", f"service {project}/builder"]
    client.delete(f"/v1/projects/{project}/jobs/puller")
    client.delete(f"/v1/projects/{project}/services/builder")
    assert client.delete(f"{R}/private-registry").status_code == 200


def test_key_rotation_reseals_the_passwords(client: TestClient, settings: Settings) -> None:
    assert client.post(R, json=credentials()).status_code == 200
    new_key = decode_key(new_key_text())
    rotated = SecretBox([new_key, *keys_of(settings)])

    async def reseal(session: Any) -> set[str]:
        await reseal_all(session, rotated)
        return await key_ids_in_use(session)

    in_use = asyncio.run(run_in_session(settings.resolved_database_url, reseal))
    assert in_use == {rotated.sealing_key_id}

    async def opened(session: Any) -> str:
        row = await service.get_credentials(session, "private-registry")
        return service.opened_password(SecretBox([new_key]), row)

    assert asyncio.run(run_in_session(settings.resolved_database_url, opened)) == PASSWORD
