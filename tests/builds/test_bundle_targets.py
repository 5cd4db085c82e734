"""Bundle URLs never reach this machine or a private network unless the operator allows it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dockyard.engine.fetches import RefusedTarget, check_fetchable
from tests.conftest import assert_error
from tests.helpers import minimal_service


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x.tar",
        "http://localhost/x.tar",
        "http://10.1.2.3/x.tar",
        "http://192.168.0.10/x.tar",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x.tar",
        "http://0.0.0.0/x.tar",
        "ftp://example.com/x.tar",
    ],
)
def test_internal_targets_are_refused(url: str) -> None:
    with pytest.raises(RefusedTarget):
        check_fetchable(url, [])


def test_allowed_and_public_targets() -> None:
    check_fetchable("http://127.0.0.1:8080/x.tar", ["127.0.0.0/8"])
    check_fetchable("http://localhost/x.tar", ["localhost"])
    check_fetchable("https://93.184.216.34/x.tar", [])
    with pytest.raises(RefusedTarget):
        check_fetchable("http://10.0.0.1/x.tar", ["127.0.0.0/8"])


def test_start_build_refuses_an_internal_bundle_url(client: TestClient, project: str) -> None:
    created = client.post(f"/v1/projects/{project}/services/build", json=minimal_service())
    assert created.status_code == 200, created.text
    url = f"/v1/projects/{project}/services/minimal-service/build"

    refused = client.post(url, json={"bundleUrl": "http://169.254.169.254/latest"})

    assert_error(refused, 400, "bundleUrl")
    assert client.get(url).json()["data"]["builds"] == []
