"""Each build service endpoint behind the permission its page / the SDK names, and project
scope."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import assert_error, token_with
from tests.helpers import assert_needs_permission, minimal_service, page_examples

SOURCE = page_examples("update-job-build-source.md")[0]
# (method, path under the project, body, the permission the page / the SDK names)
ENDPOINTS: list[tuple[str, str, Any, Permission]] = [
    ("POST", "/services/build", minimal_service("Other Service"), Permission.SERVICES_CREATE),
    ("PUT", "/services/build", minimal_service("Other Service"), Permission.SERVICES_CREATE),
    ("PATCH", "/services/build/example-service", {"disabledCI": True}, Permission.SERVICES_UPDATE),
    ("GET", "/services", None, Permission.SERVICES_READ),
    ("GET", "/services/example-service", None, Permission.SERVICES_READ),
    ("POST", "/services/example-service/build-source", SOURCE, Permission.SERVICES_UPDATE),
    ("DELETE", "/services/example-service", None, Permission.SERVICES_DELETE),
]


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS)
def test_each_endpoint_needs_its_permission_and_project(
    app_client: TestClient,
    settings: Settings,
    project: str,
    service: str,
    method: str,
    path: str,
    body: Any,
    permission: Permission,
) -> None:
    outside = ("/v1/projects/another-project", "/v1/teams/dockyard/projects/another-project")
    assert_needs_permission(
        app_client, settings, project, (method, path, body), permission, outside
    )


def test_a_denied_write_writes_nothing(
    app_client: TestClient, settings: Settings, project: str, service: str
) -> None:
    reader = {"Authorization": f"Bearer {token_with(settings, Permission.SERVICES_READ)}"}
    url = f"/v1/projects/{project}/services"
    before = app_client.get(f"{url}/{service}", headers=reader).json()
    patch = app_client.patch(f"{url}/build/{service}", json={"description": "x"}, headers=reader)
    assert_error(patch, 403)
    create = app_client.post(f"{url}/build", json=minimal_service("Denied"), headers=reader)
    assert_error(create, 403)
    assert_error(app_client.delete(f"{url}/{service}", headers=reader), 403)
    assert app_client.get(f"{url}/{service}", headers=reader).json() == before
    listed = app_client.get(url, headers=reader).json()["data"]["services"]
    assert [item["id"] for item in listed] == [service]
