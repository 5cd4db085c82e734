"""A live `dockyard up` (real Docker, registry and git) that the official clients drive only
through their base URL and an API token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from northflank import ApiClient

from tests.builds.conftest import LiveDockyard
from tests.runs.conftest import serving

# A registry login the conformance flow names in `buildConfiguration.dockerCredentials`; its
# builds take their base image from the local engine, so the login is written but never used.
REGISTRY_CREDENTIALS = {
    "sdk-registry": {"registry": "127.0.0.1:1", "username": "sdk", "password": "sdk"}
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(
        tmp_path_factory.mktemp("conformance"),
        DOCKYARD_REGISTRY_CREDENTIALS=json.dumps(REGISTRY_CREDENTIALS),
    ) as live:
        yield live


@pytest.fixture
def token(live: LiveDockyard) -> str:
    return live.http.headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def sdk(live: LiveDockyard, token: str) -> ApiClient:
    """The official SDK, configured only by the server's base URL and an API token."""
    return ApiClient(api_token=token, base_url=live.process.url)
