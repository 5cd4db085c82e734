"""The dashboard's Integrations page (the app in process): VCS links and registry credentials
listed without their secrets, created, rotated and deleted through CSRF-checked forms, a
delete of one in use shown as the API's 409 message, and the API's account-wide permissions;
ssh links with their public key (in a read-only textarea) and host key, re-keyed and
unpinned; self-hosted git servers added, named by a token link and deleted."""

from __future__ import annotations

import html

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import token_with
from tests.ui.conftest import log_in, vcs_job_body

TOKEN = "tok-dashboard-4f1a9c0e7b"
NEW_TOKEN = "tok-dashboard-rotated-2d8e"
PASSWORD = "dashboard-registry-pw-77aa"
NEW_PASSWORD = "dashboard-registry-pw-rotated"
SECRETS = (TOKEN, NEW_TOKEN, PASSWORD, NEW_PASSWORD)
PAGE = "/ui/integrations"

VCS_FORM = {
    "name": "Acme Gitea",
    "vcs_service": "self-hosted",
    "vcs_type": "gitea",
    "vcs_url": "https://git.example.test",
    "login": "ci-bot",
    "token": TOKEN,
}
REGISTRY_FORM = {
    "name": "Private Registry",
    "provider": "custom",
    "registry_url": "registry.example.test:5000",
    "username": "puller",
    "password": PASSWORD,
}


def post(client: TestClient, path: str, csrf: str, **fields: str) -> str:
    """A form posted from the page: its redirect back, and the page it lands on."""
    answer = client.post(path, data={"csrf": csrf, **fields}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == PAGE
    return client.get(PAGE).text


def test_the_page_lists_creates_rotates_and_deletes_without_showing_secrets(
    client: TestClient, admin_token: str
) -> None:
    csrf = log_in(client, admin_token)
    assert f'href="{PAGE}"' in client.get("/ui/").text  # the nav link
    empty = client.get(PAGE).text
    assert "No VCS links yet." in empty and "No registry credentials yet." in empty

    shown = post(client, f"{PAGE}/vcs", csrf, **VCS_FORM)
    shown = post(client, f"{PAGE}/registries", csrf, **REGISTRY_FORM, push="yes")
    assert "Acme Gitea" in shown and "https://git.example.test" in shown and "ci-bot" in shown
    assert "Private Registry" in shown and "registry.example.test:5000" in shown
    assert "puller" in shown and "Rotate token" in shown and "Change password" in shown
    [link] = client.get("/v1/integrations/vcs").json()["data"]["vcsAccountLinks"]
    assert link["login"] == "ci-bot" and link["vcsType"] == "gitea"
    stored = client.get("/v1/integrations/registries/private-registry").json()["data"]
    assert stored["credentials"]["scope"] == {"pull": True, "push": True}

    shown = post(client, f"{PAGE}/vcs/acme-gitea/rotate", csrf, secret=NEW_TOKEN, login="bot2")
    assert "bot2" in shown
    shown = post(client, f"{PAGE}/registries/private-registry/rotate", csrf, secret=NEW_PASSWORD)
    for secret in SECRETS:
        assert secret not in shown
    no_password = client.post(f"{PAGE}/registries/private-registry/rotate", data={"csrf": csrf})
    assert no_password.status_code == 400 and "credentials.password" in no_password.text
    unknown = client.post(f"{PAGE}/gadgets/x/delete", data={"csrf": csrf})
    assert unknown.status_code == 404

    shown = post(client, f"{PAGE}/vcs/acme-gitea/delete", csrf)
    shown = post(client, f"{PAGE}/registries/private-registry/delete", csrf)
    assert "No VCS links yet." in shown and "No registry credentials yet." in shown


def test_deleting_one_in_use_shows_the_conflict_on_the_page(
    client: TestClient, admin_token: str, project: str
) -> None:
    csrf = log_in(client, admin_token)
    post(client, f"{PAGE}/vcs", csrf, **VCS_FORM)
    [link] = client.get("/v1/integrations/vcs").json()["data"]["vcsAccountLinks"]
    body = vcs_job_body("Linked")
    body["deployment"]["vcs"]["vcsLinkId"] = link["vcsLinkId"]  # type: ignore[index]
    assert client.post(f"/v1/projects/{project}/jobs/manual", json=body).status_code == 200

    refused = client.post(f"{PAGE}/vcs/acme-gitea/delete", data={"csrf": csrf})
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text and f"job {project}/linked" in refused.text
    assert "Acme Gitea" in refused.text  # the page, with the link still listed

    taken = client.post(f"{PAGE}/vcs", data={"csrf": csrf, **VCS_FORM})
    assert taken.status_code == 409 and "exists" in taken.text and TOKEN not in taken.text
    invalid = client.post(
        f"{PAGE}/registries", data={"csrf": csrf, **REGISTRY_FORM} | {"registry_url": ""}
    )
    assert invalid.status_code == 400 and "registryUrl" in invalid.text
    assert PASSWORD not in invalid.text


SSH_FORM = {
    "kind": "ssh",
    "name": "Deploy Key",
    "vcs_service": "self-hosted",
    "vcs_url": "ssh://git.example.test:2222",
    "login": "git",
}


def host_key_line() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


def public_key_of(client: TestClient, link_id: str) -> str:
    links = client.get("/v1/integrations/vcs/links").json()["data"]["links"]
    found: str = next(link["publicKey"] for link in links if link["id"] == link_id)
    return found


def test_an_ssh_link_shows_its_public_and_host_keys_and_is_rekeyed_and_unpinned(
    client: TestClient, admin_token: str
) -> None:
    csrf = log_in(client, admin_token)
    host_key = host_key_line()
    shown = post(client, f"{PAGE}/vcs", csrf, **SSH_FORM, host_key=host_key)
    public_key = public_key_of(client, "deploy-key")
    assert public_key.startswith("ssh-ed25519 ")
    assert (
        f'<textarea id="public-key-deploy-key" class="public-key" readonly rows="2" cols="60" '
        f'spellcheck="false">{public_key}</textarea>' in shown
    )
    assert f'<code class="host-key">{host_key}</code>' in shown
    assert "PRIVATE KEY" not in shown and "Add an ssh link (deploy key)" in shown
    assert f"{PAGE}/vcs/deploy-key/rotate" + '"' not in shown  # no token to rotate

    shown = post(client, f"{PAGE}/vcs/deploy-key/rotate-key", csrf)
    new_key = public_key_of(client, "deploy-key")
    assert new_key != public_key and new_key in shown and public_key not in shown
    shown = post(client, f"{PAGE}/vcs/deploy-key/host-key", csrf)
    assert host_key not in shown and "not pinned yet" in shown
    shown = post(client, f"{PAGE}/vcs/deploy-key/host-key", csrf, host_key=host_key)
    assert f'<code class="host-key">{host_key}</code>' in shown
    bad = client.post(f"{PAGE}/vcs/deploy-key/host-key", data={"csrf": csrf, "host_key": "no"})
    assert bad.status_code == 400 and "hostKey" in bad.text

    post(client, f"{PAGE}/vcs", csrf, **VCS_FORM)
    token_link = client.post(f"{PAGE}/vcs/acme-gitea/rotate-key", data={"csrf": csrf})
    assert token_link.status_code == 400 and "token link" in token_link.text
    with_token = client.post(f"{PAGE}/vcs", data={"csrf": csrf, **SSH_FORM, "token": TOKEN})
    assert with_token.status_code == 400 and TOKEN not in with_token.text
    for path in ("vcs/deploy-key/rotate-key", "vcs/deploy-key/host-key", "servers"):
        answer = client.post(f"{PAGE}/{path}", data={"name": "x"})
        assert answer.status_code == 403


def test_self_hosted_servers_are_added_named_by_a_token_link_and_deleted(
    client: TestClient, admin_token: str
) -> None:
    csrf = log_in(client, admin_token)
    assert "No self-hosted git servers yet." in client.get(PAGE).text
    shown = post(
        client,
        f"{PAGE}/servers",
        csrf,
        name="Our Gitea",
        vcs_url="https://gitea.corp.test",
        vcs_type="gitea",
    )
    assert "Our Gitea" in shown and "https://gitea.corp.test" in shown
    assert 'action="/ui/integrations/servers/our-gitea/delete"' in shown
    assert '<option value="our-gitea">Our Gitea (https://gitea.corp.test)</option>' in shown

    form = {"name": "Gitea Bot", "login": "bot", "token": TOKEN, "self_hosted_vcs_id": "our-gitea"}
    shown = post(client, f"{PAGE}/vcs", csrf, **form)
    [link] = client.get("/v1/integrations/vcs/links").json()["data"]["links"]
    assert link["vcsUrl"] == "https://gitea.corp.test" and link["selfHostedVcsId"]
    assert f"server {link['selfHostedVcsId']}" in shown and TOKEN not in shown

    refused = client.post(f"{PAGE}/servers/our-gitea/delete", data={"csrf": csrf})
    assert refused.status_code == 409 and "gitea-bot" in html.unescape(refused.text)
    no_rotation = client.post(f"{PAGE}/servers/our-gitea/rotate", data={"csrf": csrf})
    assert no_rotation.status_code == 404
    post(client, f"{PAGE}/vcs/gitea-bot/delete", csrf)
    shown = post(client, f"{PAGE}/servers/our-gitea/delete", csrf)
    assert "No self-hosted git servers yet." in shown
    invalid = client.post(f"{PAGE}/servers", data={"csrf": csrf, "name": "x", "vcs_url": "ftp://x"})
    assert invalid.status_code == 400 and "vcsUrl" in invalid.text


def test_forms_need_the_csrf_token(client: TestClient, admin_token: str) -> None:
    log_in(client, admin_token)
    for path, form in [(f"{PAGE}/vcs", VCS_FORM), (f"{PAGE}/registries", REGISTRY_FORM)]:
        answer = client.post(path, data=form)
        assert answer.status_code == 403 and "did not come from this dashboard" in answer.text
    assert client.get("/v1/integrations/vcs").json()["data"]["vcsAccountLinks"] == []


def test_the_page_follows_the_tokens_account_permissions(
    app_client: TestClient, settings: Settings
) -> None:
    reader = token_with(settings, Permission.VCS_READ)
    csrf = log_in(app_client, reader)
    shown = app_client.get(PAGE)
    assert shown.status_code == 200 and "VCS links" in shown.text
    assert "Add a VCS link" not in shown.text and "Registry credentials" not in shown.text
    refused = app_client.post(f"{PAGE}/vcs", data={"csrf": csrf, **VCS_FORM})
    assert (
        refused.status_code == 403 and "Account &gt; Git &gt; General &gt; Create" in refused.text
    )

    log_in(app_client, token_with(settings, Permission.VCS_READ, projects=["p1"]))
    limited = app_client.get(PAGE)
    assert limited.status_code == 403 and "limited to projects" in limited.text
