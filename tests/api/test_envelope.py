"""The API conventions: envelopes, error envelope for every error, field paths, aliases."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dockyard import __version__
from dockyard.app import create_app
from dockyard.config import Settings
from dockyard.wire.paths import field_path
from tests.conftest import assert_error


def test_success_is_wrapped_in_data(client: TestClient) -> None:
    response = client.post("/v1/projects", json={"name": "Envelope"})
    assert response.status_code == 200
    assert set(response.json()) == {"data"}
    assert response.json()["data"]["id"] == "envelope"


def test_validation_errors_are_400_never_422(client: TestClient) -> None:
    error = assert_error(client.post("/v1/projects", json={"name": 5}), 400, "name")
    assert error["id"] == "validation-error"
    assert "name" in error["message"]


def test_invalid_json_is_400_on_body(client: TestClient) -> None:
    response = client.post(
        "/v1/projects", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "body")


def test_missing_body_is_400(client: TestClient) -> None:
    assert_error(client.post("/v1/projects"), 400, "body")


def test_body_of_wrong_type_is_400(client: TestClient) -> None:
    assert_error(client.post("/v1/projects", json=["a list"]), 400, "body")


def test_unknown_field_is_400_naming_it(client: TestClient) -> None:
    assert_error(client.post("/v1/projects", json={"name": "abc", "nmae": "x"}), 400, "nmae")


def test_nested_field_path_is_dotted(client: TestClient) -> None:
    body = {"name": "abc", "networking": {"allowedIngressProjects": "not-a-list"}}
    assert_error(client.post("/v1/projects", json=body), 400, "networking.allowedIngressProjects")


def test_query_errors_name_the_parameter(client: TestClient) -> None:
    assert_error(client.get("/v1/projects", params={"per_page": "many"}), 400, "query.per_page")


def test_unknown_route_is_404_envelope(client: TestClient) -> None:
    assert assert_error(client.get("/v1/no-such-thing"), 404)["id"] == "not-found"


def test_unknown_route_without_token_is_404_too(app_client: TestClient) -> None:
    assert_error(app_client.get("/nowhere"), 404)


def test_wrong_method_is_405_envelope(client: TestClient) -> None:
    assert_error(client.put("/v1/projects"), 405)


def test_team_alias_serves_the_same_routes(client: TestClient) -> None:
    created = client.post("/v1/teams/dockyard/projects", json={"name": "Aliased"})
    assert created.status_code == 200
    assert client.get("/v1/projects/aliased").json()["data"]["name"] == "Aliased"
    assert client.get("/v1/teams/dockyard/projects/aliased").status_code == 200


def _may_meet(path: str, other: str) -> bool:
    """Whether a request path could match both route templates (a `{param}` matches any
    segment)."""
    ours, theirs = path.split("/"), other.split("/")
    return len(ours) == len(theirs) and all(
        a == b or a.startswith("{") or b.startswith("{") for a, b in zip(ours, theirs, strict=True)
    )


def test_no_request_matches_two_routes(tmp_path: Path) -> None:
    """The routers are tried most requested first (app.V1_ROUTERS), which must not decide
    which route answers: no method and path meets two route templates."""
    paths = create_app(Settings(data_dir=tmp_path)).openapi()["paths"]
    served = [(method, path) for path, item in paths.items() for method in item]
    assert len(served) > 150
    both = [
        (method, path, other)
        for index, (method, path) in enumerate(served)
        for other_method, other in served[index + 1 :]
        if method == other_method and _may_meet(path, other)
    ]
    assert both == []


def test_unknown_team_is_404(client: TestClient) -> None:
    assert_error(client.get("/v1/teams/elsewhere/projects"), 404, "teamId")


def test_health_and_openapi(app_client: TestClient) -> None:
    assert app_client.get("/health").json() == {"data": {"status": "ok", "version": __version__}}
    schema = app_client.get("/openapi.json").json()
    assert "/v1/projects" in schema["paths"]
    assert "/v1/teams/{teamId}/projects/{projectId}" in schema["paths"]
    name = schema["components"]["schemas"]["CreateProjectRequest"]["properties"]["name"]
    assert name["minLength"] == 3 and name["maxLength"] == 52 and "pattern" in name


def test_a_lone_api_is_ready_with_its_database(app_client: TestClient) -> None:
    # The test settings point at a registry port where nothing listens: a lone API (workers
    # elsewhere) neither builds nor runs, so only its database counts.
    response = app_client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"database": "ok"}


@pytest.mark.parametrize(
    ("location", "path"),
    [
        (("body", "name"), "name"),
        (("body", "buildFiles", 0, "path"), "buildFiles[0].path"),
        (("body", "a", 2, 3), "a[2][3]"),
        (("query", "per_page"), "query.per_page"),
        (("body",), "body"),
        (("path", "projectId"), "path.projectId"),
    ],
)
def test_field_path(location: tuple[int | str, ...], path: str) -> None:
    assert field_path(location) == path


def test_unexpected_errors_are_500_in_the_envelope(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        error = assert_error(client.get("/boom"), 500)
    assert error["id"] == "internal-error"
    assert "secret internals" not in error["message"]
