"""401 without or with a bad token, 403 without the permission or outside the token's projects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission, parse_permissions
from dockyard.auth.service import Principal
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.errors import Forbidden
from tests.conftest import assert_error, issue_token, token_with

P = Permission


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def projects(client: TestClient) -> list[str]:
    for name in ("alpha", "beta"):
        assert client.post("/v1/projects", json={"name": name}).status_code == 200
    return ["alpha", "beta"]


def test_missing_token_is_401(app_client: TestClient) -> None:
    assert_error(app_client.get("/v1/projects"), 401)


@pytest.mark.parametrize(
    "header", ["Bearer nope", "Bearer ", "Basic dXNlcjpwYXNz", "dky_without_scheme"]
)
def test_bad_token_is_401(app_client: TestClient, header: str) -> None:
    assert_error(app_client.get("/v1/projects", headers={"Authorization": header}), 401)


def test_expired_token_is_401(app_client: TestClient, settings: Settings) -> None:
    token = issue_token(
        settings, permissions=[P.PROJECTS_READ.value], expires_at=utcnow() - timedelta(seconds=1)
    )
    assert (
        "expired"
        in assert_error(app_client.get("/v1/projects", headers=bearer(token)), 401)["message"]
    )


def test_token_without_permission_is_403(
    app_client: TestClient, settings: Settings, projects: list[str]
) -> None:
    reader = token_with(settings, P.PROJECTS_READ)
    assert app_client.get("/v1/projects", headers=bearer(reader)).status_code == 200
    error = assert_error(
        app_client.post("/v1/projects", json={"name": "gamma"}, headers=bearer(reader)), 403
    )
    assert error["details"]["permission"] == P.PROJECTS_CREATE.value
    assert_error(app_client.delete("/v1/projects/alpha", headers=bearer(reader)), 403)


def test_project_scoped_token(
    app_client: TestClient, settings: Settings, projects: list[str]
) -> None:
    token = bearer(
        token_with(settings, P.PROJECTS_READ, P.PROJECTS_CREATE, projects=["alpha", "delta"])
    )
    assert app_client.get("/v1/projects/alpha", headers=token).status_code == 200
    assert_error(app_client.get("/v1/projects/beta", headers=token), 403, "projectId")
    # outside its projects it is 403 whether or not the project exists
    assert_error(app_client.get("/v1/projects/nothing-here", headers=token), 403)
    listed = app_client.get("/v1/projects", headers=token).json()["data"]["projects"]
    assert [p["id"] for p in listed] == ["alpha"]
    assert app_client.post("/v1/projects", json={"name": "delta"}, headers=token).status_code == 200
    assert_error(app_client.post("/v1/projects", json={"name": "omega"}, headers=token), 403)


def test_unknown_project_inside_scope_is_404(app_client: TestClient, settings: Settings) -> None:
    token = bearer(token_with(settings, P.PROJECTS_READ))
    assert_error(app_client.get("/v1/projects/missing", headers=token), 404, "projectId")


def test_login_describes_the_calling_token(app_client: TestClient, settings: Settings) -> None:
    """GET /v1/login (where the official CLI's `northflank login` checks its token) answers
    any valid token, even one holding no permission, with what the token is."""
    scoped = token_with(settings, P.JOBS_READ, P.PROJECTS_READ, projects=["beta", "alpha"])
    answer = app_client.get("/v1/login", headers=bearer(scoped))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "data": {
            "name": "test",
            "admin": False,
            "permissions": sorted([P.JOBS_READ.value, P.PROJECTS_READ.value]),
            "projects": ["alpha", "beta"],
        }
    }
    bare = app_client.get("/v1/login", headers=bearer(token_with(settings))).json()["data"]
    assert bare["permissions"] == [] and bare["projects"] is None
    admin = issue_token(settings, name="root", is_admin=True)
    info = app_client.get("/v1/login", headers=bearer(admin)).json()["data"]
    assert info["name"] == "root" and info["admin"] is True and info["projects"] is None
    assert info["permissions"] == sorted(permission.value for permission in P)
    assert app_client.get(f"/v1/teams/{settings.team_id}/login", headers=bearer(admin)).is_success
    assert_error(app_client.get("/v1/login"), 401)
    assert_error(app_client.get("/v1/login", headers=bearer("dky_unknown")), 401)


def test_principal_rules() -> None:
    scoped = Principal("t", False, frozenset({P.JOBS_READ}), frozenset({"p1"}))
    scoped.require(P.JOBS_READ, "p1")
    with pytest.raises(Forbidden):
        scoped.require(P.JOBS_CREATE, "p1")
    with pytest.raises(Forbidden):
        scoped.require(P.JOBS_READ, "p2")
    admin = Principal("a", True, frozenset(), None)
    admin.require(P.PROJECTS_DELETE, "anything")


def test_parse_permissions_rejects_unknown_strings() -> None:
    assert parse_permissions([P.JOBS_READ.value]) == {P.JOBS_READ}
    with pytest.raises(ValueError, match="unknown permission"):
        parse_permissions(["Project > Jobs > General > read"])
