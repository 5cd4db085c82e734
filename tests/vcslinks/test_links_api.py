"""VCS links through the API: created, listed in the official clients' shape, rotated and
deleted (409 while a job or service names them); the token in no reply and not in the clear
at rest. ssh links: their public key shown, their private key never, their key rotated and
their server's host key pinned."""

from __future__ import annotations

from typing import Any, get_type_hints

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
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


def public_key_line() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


def ssh_link(name: str = "Deploy Key", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "ssh",
        "vcsService": "self-hosted",
        "vcsUrl": "ssh://Git.Test:2222/",
        "login": "git",
    } | fields


def assert_no_private_key(text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    # The PEM armour and the start of every OpenSSH private key's body (`openssh-key-v1`).
    assert b"PRIVATE KEY" not in data and b"b3BlbnNzaC1rZXktdjE" not in data


def test_an_ssh_link_shows_its_public_key_and_never_its_private_key(
    client: TestClient, settings: Settings
) -> None:
    reply = client.post(LINKS, json=ssh_link())
    assert reply.status_code == 200, reply.text
    assert_no_private_key(reply.text)
    made = reply.json()["data"]
    assert made["kind"] == "ssh" and made["vcsUrl"] == "ssh://git.test:2222"
    assert made["publicKey"].startswith("ssh-ed25519 ")
    assert made["publicKey"].endswith(" dockyard:deploy-key")
    assert made.get("hostKey") is None

    rotated = client.post(f"{LINKS}/{made['id']}/rotate-key")
    assert rotated.status_code == 200, rotated.text
    assert_no_private_key(rotated.text)
    assert rotated.json()["data"]["publicKey"] != made["publicKey"]
    listed = client.get("/v1/integrations/vcs")
    assert_no_private_key(listed.text)
    whole = client.get(LINKS)  # dockyard's list: each link whole, its public key shown
    assert whole.status_code == 200 and whole.json()["pagination"]["hasNextPage"] is False
    assert_no_private_key(whole.text)
    [entry] = whole.json()["data"]["links"]
    assert entry["kind"] == "ssh" and entry["publicKey"] == rotated.json()["data"]["publicKey"]
    assert_no_private_key(stored_bytes(settings, "vcs_links"))


def test_an_ssh_links_host_key_is_pinned_as_given_and_can_be_pinned_anew(
    client: TestClient,
) -> None:
    host_key = public_key_line()
    known_hosts_line = f"[git.test]:2222 {host_key} root@git"
    made = create(client, ssh_link(vcsUrl="git.test:acme", hostKey=known_hosts_line))
    assert made["hostKey"] == host_key and made["vcsUrl"] == "git.test:acme"

    other = public_key_line()
    pinned = client.put(f"{LINKS}/{made['id']}/host-key", json={"hostKey": other})
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["data"]["hostKey"] == other
    cleared = client.put(f"{LINKS}/{made['id']}/host-key", json={"hostKey": None})
    assert cleared.status_code == 200 and "hostKey" not in cleared.json()["data"]


def test_each_kind_keeps_to_its_own_secret(client: TestClient) -> None:
    token_link = create(client, link())
    ssh = create(client, ssh_link())
    assert_error(client.post(f"{LINKS}/{token_link['id']}/rotate-key"), 400)
    assert_error(client.put(f"{LINKS}/{token_link['id']}/host-key", json={"hostKey": None}), 400)
    assert_error(client.patch(f"{LINKS}/{ssh['id']}", json={"token": "tok-abcdef"}), 400)
    assert_error(client.post(LINKS, json=ssh_link("With Token", token="tok-abcdef")), 400)
    assert_error(client.post(LINKS, json=link("Ssh Url", vcsUrl="ssh://git.test")), 400)
    assert_error(client.post(LINKS, json=ssh_link("Https Url", vcsUrl="https://git.test")), 400)
