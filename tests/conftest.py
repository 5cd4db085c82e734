"""Shared fixtures: a dockyard app on a fresh SQLite data dir, tokens, HTTP clients, a project,
and a live `dockyard up` driven through the official SDK."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import APIError
from fastapi.testclient import TestClient
from northflank import ApiClient, ApiClientContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dockyard.app import create_app
from dockyard.auth import service as auth_service
from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from dockyard.db.session import run_in_session
from dockyard.migrations import prepare_storage, sync_url
from tests.live import DOCKER_HOST, INSTALLATIONS, DockyardProcess

POSTGRES_URL = os.environ.get("DOCKYARD_TEST_POSTGRES_URL")


@pytest.fixture(scope="module", autouse=True)
def project_networks_removed() -> Iterator[None]:
    """After each module, the project networks of the servers it started (every server of a
    test has its own installation, and the engine's pool of networks is finite); one still in
    use by a container stays."""
    yield
    if not INSTALLATIONS:
        return
    client = docker.APIClient(base_url=DOCKER_HOST)
    for installation in INSTALLATIONS:
        label = f"dev.dockyard.installation={installation}"
        for network in client.networks(filters={"label": label}):
            with contextlib.suppress(APIError):
                client.remove_network(network["Id"])
    INSTALLATIONS.clear()
    client.close()


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on `server_url` for the block, dropped after."""
    name = f"dockyard_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(sync_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip(
            "DOCKYARD_TEST_POSTGRES_URL is not set: no PostgreSQL server here "
            "(.ci/run starts Debian's postgresql and sets it)"
        )
    with postgres_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on a fresh data dir, on SQLite and (where a server runs) on PostgreSQL.
    Port 1 of the registry: nothing listens there (the API alone never calls it)."""
    database_url = (
        request.getfixturevalue("empty_postgres_database") if request.param == "postgres" else None
    )
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        registry="127.0.0.1:1",
        registry_autostart=False,
    )


def issue_token(settings: Settings, **kwargs: Any) -> str:
    """A real token stored in the settings' database (migrated first)."""
    prepare_storage(settings)

    kwargs.setdefault("name", "test")
    kwargs.setdefault("permissions", [])
    return asyncio.run(
        run_in_session(
            settings.resolved_database_url,
            lambda session: auth_service.issue_token(session, **kwargs),
        )
    )


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def admin_token(settings: Settings) -> str:
    return issue_token(settings, name="admin", is_admin=True)


@pytest.fixture
def client(app_client: TestClient, admin_token: str) -> TestClient:
    app_client.headers["Authorization"] = f"Bearer {admin_token}"
    return app_client


@pytest.fixture
def project(client: TestClient) -> str:
    response = client.post("/v1/projects", json={"name": "Default Project"})
    assert response.status_code == 200, response.text
    project_id: str = response.json()["data"]["id"]
    return project_id


@pytest.fixture
def sdk(tmp_path: Path) -> Iterator[ApiClient]:
    """A live `dockyard up` on a fresh data dir, driven through the SDK's own HTTP client."""
    server = DockyardProcess(data_dir=tmp_path / "dockyard", command="up").start()
    try:
        server.wait_ready()
        token = server.admin_token()
        assert token, server.output()
        yield ApiClient(context=ApiClientContext(api_token=token, base_url=server.url))
    finally:
        server.stop()


def token_with(
    settings: Settings, *permissions: Permission, projects: list[str] | None = None
) -> str:
    return issue_token(settings, permissions=[p.value for p in permissions], project_ids=projects)


def assert_error(response: Any, status: int, path: str | None = None) -> dict[str, Any]:
    """The response is `status` in the error envelope; with `path`, details name that field."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"status", "message", "id", "details"}
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    if path is not None:
        assert path in error["details"], error["details"]
    return dict(error)


def stored_bytes(settings: Settings, *tables: str) -> bytes:
    """What the database holds at rest: on SQLite the bytes of its files (the WAL too), on
    PostgreSQL every row of `tables` as text."""
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        files = [Path(url.database), Path(f"{url.database}-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists())
    engine = create_engine(sync_url(settings.resolved_database_url))
    try:
        with engine.connect() as connection:
            rows = [
                connection.execute(text(f"SELECT t::text FROM {table} t")).scalars().all()
                for table in tables
            ]
    finally:
        engine.dispose()
    return "\n".join(row for table_rows in rows for row in table_rows).encode()
