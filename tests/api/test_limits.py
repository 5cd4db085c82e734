"""Request bodies over the limit are refused with 413 in the error envelope, nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.conftest import assert_error, issue_token


def test_oversized_bodies_are_413(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        registry="127.0.0.1:1",
        registry_autostart=False,
        max_request_mb=1,
    )
    token = issue_token(settings, name="admin", is_admin=True)
    big = json.dumps({"name": "Big", "description": "x" * (2 * 1024 * 1024)}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        declared = client.post(
            "/v1/projects", content=big, headers={"Content-Type": "application/json"}
        )
        streamed = client.post(
            "/v1/projects", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert_error(declared, 413, "body")
        assert_error(streamed, 413, "body")
        assert client.get("/v1/projects").json()["data"]["projects"] == []
        small = client.post("/v1/projects", json={"name": "Small"})
        assert small.status_code == 200, small.text
