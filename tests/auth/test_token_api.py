"""The account's API tokens over HTTP: `GET /v1/tokens` in the official clients' shape (never a
secret), dockyard's create (at most what the calling token holds), get and revoke."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.wire.models import iso_utc
from tests.conftest import assert_error, token_with

P = Permission
T = "/v1/tokens"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_create_list_get_revoke(client: TestClient, app_client: TestClient) -> None:
    made = client.post(
        T,
        json={
            "name": "ci deploy",
            "description": "pushes from CI",
            "permissions": [P.JOBS_READ.value, P.PROJECTS_READ.value],
            "projects": ["alpha"],
        },
    )
    assert made.status_code == 200, made.text
    data = made.json()["data"]
    secret, token_id = data["token"], data["id"]
    assert secret.startswith("dky_") and len(token_id) == 24
    assert data["active"] is True and data["revoked"] is False and data["expiresAt"] is None
    assert data["projects"] == ["alpha"] and data["admin"] is False
    login = app_client.get("/v1/login", headers=bearer(secret)).json()["data"]
    assert login["name"] == "ci deploy" and login["projects"] == ["alpha"]

    listed = client.get(T).json()
    names = [token["name"] for token in listed["data"]["tokens"]]
    assert names == ["admin", "ci deploy"] and listed["pagination"]["hasNextPage"] is False
    assert secret not in client.get(T).text and "secretHash" not in client.get(T).text
    got = client.get(f"{T}/{token_id}").json()["data"]
    assert got == {key: value for key, value in data.items() if key != "token"}

    later = client.post(T, json={"name": "later", "permissions": [P.JOBS_READ.value]})
    revoked = client.delete(f"{T}/{later.json()['data']['id']}").json()["data"]
    assert revoked["revoked"] is True and revoked["active"] is False and revoked["revokedAt"]
    assert_error(app_client.get("/v1/login", headers=bearer(later.json()["data"]["token"])), 401)
    assert "later" not in [t["name"] for t in client.get(T).json()["data"]["tokens"]]
    everything = client.get(T, params={"all": "true"}).json()["data"]["tokens"]
    assert [t["name"] for t in everything] == ["admin", "ci deploy", "later"]
    assert (
        client.delete(f"{T}/{revoked['id']}").json()["data"]["revokedAt"] == (revoked["revokedAt"])
    )
    assert_error(client.get(f"{T}/{'0' * 24}"), 404, "tokenId")
    assert_error(client.delete(f"{T}/{'0' * 24}"), 404, "tokenId")


def test_a_token_hands_on_only_what_it_holds(app_client: TestClient, settings: Settings) -> None:
    maker = bearer(token_with(settings, P.TOKENS_CREATE, P.PROJECTS_READ))
    ok = app_client.post(
        T, json={"name": "r", "permissions": [P.PROJECTS_READ.value]}, headers=maker
    )
    assert ok.status_code == 200, ok.text
    more = {"name": "w", "permissions": [P.PROJECTS_READ.value, P.JOBS_DELETE.value]}
    error = assert_error(app_client.post(T, json=more, headers=maker), 403, "permission")
    assert error["details"]["permission"] == P.JOBS_DELETE.value
    assert_error(app_client.post(T, json={"name": "a", "admin": True}, headers=maker), 403)
    # listing asks for its own permission
    assert_error(app_client.get(T, headers=maker), 403, "permission")


def test_tokens_are_the_accounts(app_client: TestClient, settings: Settings) -> None:
    limited = bearer(token_with(settings, P.TOKENS_READ, P.TOKENS_CREATE, projects=["alpha"]))
    assert_error(app_client.get(T, headers=limited), 403)
    body = {"name": "x", "permissions": [P.TOKENS_READ.value], "projects": ["alpha"]}
    assert_error(app_client.post(T, json=body, headers=limited), 403)
    assert_error(app_client.get(T), 401)


def test_bad_token_bodies_are_400(client: TestClient) -> None:
    assert_error(
        client.post(T, json={"name": "x", "permissions": ["Everything"]}), 400, "permissions[0]"
    )
    assert_error(client.post(T, json={"name": "x"}), 400, "permissions")
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    body = {"name": "x", "permissions": [P.JOBS_READ.value], "expiresAt": past}
    assert_error(client.post(T, json=body), 400, "expiresAt")
    naive = body | {"expiresAt": "2099-01-01T00:00:00"}
    assert_error(client.post(T, json=naive), 400, "expiresAt")
    assert_error(client.post(T, json={"name": "-x", "admin": True}), 400, "name")
    assert_error(client.post(T, json={"name": "x", "admin": True, "projects": []}), 400, "projects")
    assert [t["name"] for t in client.get(T).json()["data"]["tokens"]] == ["admin"]


def test_an_expiring_token_lists_its_expiry(client: TestClient) -> None:
    when = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    body = {"name": "x", "permissions": [P.JOBS_READ.value], "expiresAt": when.isoformat()}
    made = client.post(T, json=body)
    assert made.status_code == 200, made.text
    data = made.json()["data"]
    assert data["expiresAt"] == iso_utc(when) and data["active"]
