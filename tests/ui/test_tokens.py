"""The dashboard's API tokens page (the app in process): tokens listed without their secrets,
created through the CSRF-checked form (the secret shown once, and it works) and revoked by
id, under the same rules as `/v1/tokens`: a token hands on at most what it holds, only an
admin token makes an admin token, and a token without `Account > Admin > ApiTokens > Read`
(or one limited to projects) gets 403 and no nav link."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import token_with
from tests.ui.conftest import log_in

PAGE = "/ui/tokens"
READ = Permission.PROJECTS_READ.value


def issued_secret(shown: str) -> str:
    found = re.search(r'class="issued-secret"[^>]*>(dky_[^<]+)</textarea>', shown)
    assert found, shown
    return found[1]


def test_create_list_and_revoke_with_the_secret_shown_once(
    client: TestClient, admin_token: str
) -> None:
    csrf = log_in(client, admin_token)
    assert f'href="{PAGE}"' in client.get("/ui/").text  # the nav link
    form = {"csrf": csrf, "name": "ci bot", "permissions": [READ], "projects": "p1, p2"}
    created = client.post(PAGE, data=form | {"expires": "2999-01-01T00:00"})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secret = issued_secret(created.text)
    [made] = [t for t in client.get("/v1/tokens").json()["data"]["tokens"] if t["name"] == "ci bot"]
    assert made["permissions"] == [READ] and made["projects"] == ["p1", "p2"]
    assert made["expiresAt"] == "2999-01-01T00:00:00.000Z" and not made["admin"]
    assert client.get("/v1/projects", headers={"Authorization": f"Bearer {secret}"}).is_success

    listed = client.get(PAGE).text
    assert secret not in listed and admin_token not in listed
    assert made["id"] in listed and "p1, p2" in listed and html.escape(READ) in listed

    revoked = client.post(
        f"{PAGE}/{made['id']}/revoke", data={"csrf": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303 and revoked.headers["location"] == PAGE
    assert client.get(f"/v1/tokens/{made['id']}").json()["data"]["revoked"]
    row = client.get(PAGE).text.split(f'id="token-{made["id"]}"')[1].split("</tr>")[0]
    assert "revoked" in row and "Revoke</button>" not in row

    invalid = client.post(PAGE, data={"csrf": csrf, "name": "x", "permissions": ["Everything"]})
    assert invalid.status_code == 400 and "permissions[0]" in invalid.text
    unknown = client.post(f"{PAGE}/nope/revoke", data={"csrf": csrf})
    assert unknown.status_code == 404
    forged = client.post(PAGE, data={"name": "forged", "admin": "yes"})
    assert forged.status_code == 403 and "did not come from this dashboard" in forged.text
    names = [t["name"] for t in client.get("/v1/tokens?all=true").json()["data"]["tokens"]]
    assert "forged" not in names and "x" not in names


def test_a_token_grants_at_most_what_it_holds(app_client: TestClient, settings: Settings) -> None:
    manager = token_with(
        settings, Permission.TOKENS_READ, Permission.TOKENS_CREATE, Permission.PROJECTS_READ
    )
    csrf = log_in(app_client, manager)
    shown = app_client.get(PAGE).text
    assert f'<option value="{html.escape(READ)}">' in shown and 'name="admin"' not in shown
    assert "Revoke</button>" not in shown  # no ApiTokens > Update
    assert html.escape(Permission.JOBS_READ.value) not in shown
    lacking = app_client.post(
        PAGE, data={"csrf": csrf, "name": "more", "permissions": [Permission.JOBS_READ.value]}
    )
    assert lacking.status_code == 403 and "which it lacks" in lacking.text
    admin = app_client.post(PAGE, data={"csrf": csrf, "name": "root", "admin": "yes"})
    assert admin.status_code == 403 and "Only an admin token" in admin.text
    assert app_client.post(f"{PAGE}/x/revoke", data={"csrf": csrf}).status_code == 403
    made = app_client.post(PAGE, data={"csrf": csrf, "name": "less", "permissions": [READ]})
    assert made.status_code == 200 and issued_secret(made.text)

    log_in(app_client, token_with(settings, Permission.PROJECTS_READ))
    refused = app_client.get(PAGE)
    assert (
        refused.status_code == 403 and "Account &gt; Admin &gt; ApiTokens &gt; Read" in refused.text
    )
    assert f'href="{PAGE}"' not in app_client.get("/ui/").text
    log_in(app_client, token_with(settings, Permission.TOKENS_READ, projects=["p1"]))
    limited = app_client.get(PAGE)
    assert limited.status_code == 403 and "limited to projects" in limited.text
