"""Fixtures of build service tests: the services URL of a project and a service."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import minimal_service


@pytest.fixture
def services_url(project: str) -> str:
    return f"/v1/projects/{project}/services"


@pytest.fixture
def service(client: TestClient, services_url: str) -> str:
    """A minimal build service; its id."""
    response = client.post(f"{services_url}/build", json=minimal_service("Example Service"))
    assert response.status_code == 200, response.text
    return "example-service"
