"""per_page / page / cursor and the pagination block, walked by hand over 120 projects."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import assert_error

TOTAL = 120


@pytest.fixture
def many_projects(client: TestClient) -> list[str]:
    ids = []
    for index in range(TOTAL):
        response = client.post("/v1/projects", json={"name": f"project {index:03d}"})
        assert response.status_code == 200, response.text
        ids.append(response.json()["data"]["id"])
    return ids


def ids_of(response_json: dict[str, object]) -> list[str]:
    return [p["id"] for p in response_json["data"]["projects"]]  # type: ignore[index]


def test_default_page_is_50_with_cursor(client: TestClient, many_projects: list[str]) -> None:
    body = client.get("/v1/projects").json()
    assert ids_of(body) == many_projects[:50]
    assert body["pagination"]["hasNextPage"] is True
    assert body["pagination"]["count"] == 50
    assert isinstance(body["pagination"]["cursor"], str)


def test_cursor_walk_visits_each_once(client: TestClient, many_projects: list[str]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"per_page": 33} | ({"cursor": cursor} if cursor else {})
        body = client.get("/v1/projects", params=params).json()
        seen += ids_of(body)
        cursor = body["pagination"].get("cursor")
        if not body["pagination"]["hasNextPage"]:
            assert "cursor" not in body["pagination"]
            break
    assert seen == many_projects


def test_page_numbers(client: TestClient, many_projects: list[str]) -> None:
    third = client.get("/v1/projects", params={"per_page": 50, "page": 3}).json()
    assert ids_of(third) == many_projects[100:]
    assert third["pagination"] == {"hasNextPage": False, "count": 20}
    beyond = client.get("/v1/projects", params={"page": 9}).json()
    assert ids_of(beyond) == []


def test_per_page_bounds(client: TestClient) -> None:
    assert_error(client.get("/v1/projects", params={"per_page": 0}), 400, "query.per_page")
    assert_error(client.get("/v1/projects", params={"per_page": 101}), 400, "query.per_page")
    assert client.get("/v1/projects", params={"per_page": 100}).status_code == 200


def test_bad_cursor_and_page(client: TestClient) -> None:
    assert_error(client.get("/v1/projects", params={"cursor": "garbage!"}), 400, "query.cursor")
    assert_error(client.get("/v1/projects", params={"page": 0}), 400, "query.page")
