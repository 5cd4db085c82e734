"""PostgreSQL restarted or failed over under pooled connections: the request that meets a
dead connection is answered 503 in the envelope (connections are not pinged before use), and
the next one runs on a fresh connection."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from dockyard.config import Settings
from dockyard.db.session import sync_url
from tests.conftest import assert_error
from tests.helpers import minimal_job

pytestmark = pytest.mark.postgres


def end_every_session_of(database_url: str) -> int:
    engine = create_engine(sync_url(database_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return int(ended)


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_lost_connection_is_a_503_once(
    settings: Settings, client: TestClient, project: str, method: str
) -> None:
    jobs = f"/v1/projects/{project}/jobs"
    assert client.get(jobs).status_code == 200
    assert end_every_session_of(settings.resolved_database_url) >= 1

    def request() -> object:
        if method == "GET":
            return client.get(jobs)
        return client.post(f"{jobs}/manual", json=minimal_job("after restart"))

    error = assert_error(request(), 503)
    assert error["id"] == "database-unavailable", error
    assert client.get(jobs).status_code == 200
