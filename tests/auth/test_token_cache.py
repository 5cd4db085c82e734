"""An API process trusts a token it checked for DOCKYARD_TOKEN_CACHE_SECONDS, never past the
token's expiry: a revoked token is refused once that time has passed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from dockyard.app import create_app
from dockyard.auth import service as auth_service
from dockyard.auth.service import Principal, TokenCache
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import run_in_session
from tests.conftest import assert_error, issue_token

SOMEONE = Principal("someone", False, frozenset(), None)
TRUSTED_SECONDS = 0.5


def test_an_entry_lasts_its_seconds() -> None:
    cache = TokenCache(TRUSTED_SECONDS)
    cache.put("h", SOMEONE, None)
    assert cache.get("h") is SOMEONE
    time.sleep(TRUSTED_SECONDS)
    assert cache.get("h") is None


def test_an_entry_never_outlives_its_token() -> None:
    cache = TokenCache(60)
    cache.put("soon", SOMEONE, utcnow() + timedelta(seconds=0.2))
    cache.put("gone", SOMEONE, utcnow() - timedelta(seconds=1))
    assert cache.get("soon") is SOMEONE and cache.get("gone") is None
    time.sleep(0.2)
    assert cache.get("soon") is None


def test_zero_seconds_caches_nothing() -> None:
    cache = TokenCache(0)
    cache.put("h", SOMEONE, None)
    assert cache.get("h") is None


@pytest.fixture
def trusting_client(settings: Settings) -> Iterator[TestClient]:
    trusting = settings.model_copy(update={"token_cache_seconds": TRUSTED_SECONDS})
    with TestClient(create_app(trusting)) as client:
        yield client


def test_a_revoked_token_is_refused_once_trust_ends(
    settings: Settings, trusting_client: TestClient
) -> None:
    token = issue_token(settings, name="leaving", is_admin=True)
    headers = {"Authorization": f"Bearer {token}"}
    assert trusting_client.get("/v1/projects", headers=headers).status_code == 200
    revoked = asyncio.run(
        run_in_session(
            settings.resolved_database_url,
            lambda session: auth_service.revoke_tokens(session, "leaving"),
        )
    )
    assert revoked == 1
    time.sleep(TRUSTED_SECONDS)
    assert_error(trusting_client.get("/v1/projects", headers=headers), 401)
