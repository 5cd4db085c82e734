"""A small, fixed world for tests that send many requests to one app: two projects, each with
a job, a bare job, a build service, a queued build of each and a queued run; registry
credentials (`seeded-registry`) that the bare jobs name; tokens of several kinds; a
fingerprint of every table, to show that a request wrote nothing; and the operations the app
publishes."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, inspect, text

from dockyard.app import create_app
from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from dockyard.db.session import sync_url
from tests.conftest import issue_token
from tests.helpers import REPOSITORY, minimal_job, minimal_service

SHA = "262ed9817b3cad5142fbceabe0c9e371e390d616"
WEBHOOK_SECRET = "webhook-secret"
PROJECTS = ("alpha", "beta")
SEEDED_REGISTRY = {
    "name": "Seeded Registry",
    "provider": "custom",
    "registryUrl": "registry.example.test",
    "credentials": {"username": "seed", "password": "seeded-password"},
}


def world_settings(data_dir: Path, database_url: str | None) -> Settings:
    """Bodies over 1 MB are refused (so a test of the limit stays small); webhooks are signed
    with WEBHOOK_SECRET."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        registry="127.0.0.1:1",
        registry_autostart=False,
        max_request_mb=1,
        webhook_secret=WEBHOOK_SECRET,
    )


@dataclass
class World:
    client: TestClient
    database: Engine
    tokens: dict[str, str]
    # "alpha_job_build", "beta_run", ...: the generated ids of the seeded builds and runs.
    ids: dict[str, str] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)

    def fingerprint(self) -> dict[str, tuple[int, str]]:
        """Per table: its row count and a digest of its rows (in any order)."""
        with self.database.connect() as connection:
            tables = self.tables or sorted(inspect(connection).get_table_names())
            self.tables = tables
            return {table: _digest(connection, table) for table in tables}


def _digest(connection: Connection, table: str) -> tuple[int, str]:
    rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
    digest = hashlib.sha256("\n".join(sorted(repr(tuple(row)) for row in rows)).encode())
    return len(rows), digest.hexdigest()


def _seed_project(client: TestClient, name: str) -> dict[str, str]:
    """A project with a git job, a bare job (nothing to run), a build service, a queued build
    of the job and of the service, and a queued run of an external image."""
    project = client.post("/v1/projects", json={"name": name.capitalize()})
    assert project.status_code == 200, project.text
    base = f"/v1/projects/{name}"
    vcs = REPOSITORY | {"projectType": "github", "projectBranch": "main"}
    created = [
        client.post(
            f"{base}/jobs/manual", json=minimal_job(f"{name} job", deployment={"vcs": vcs})
        ),
        client.post(
            f"{base}/jobs/manual",
            json=minimal_job(
                f"{name} bare job",
                buildConfiguration={"dockerCredentials": ["seeded-registry"]},
            ),
        ),
        client.post(f"{base}/services/build", json=minimal_service(f"{name} service")),
    ]
    job_build = client.post(f"{base}/jobs/{name}-job/build", json={"sha": SHA})
    service_build = client.post(f"{base}/services/{name}-service/build", json={"branch": "main"})
    image = {"deployment": {"external": {"imagePath": "local/busybox:1"}}}
    run = client.post(f"{base}/jobs/{name}-job/runs", json=image)
    for response in [*created, job_build, service_build, run]:
        assert response.status_code == 200, response.text
    return {
        f"{name}_job_build": job_build.json()["data"]["id"],
        f"{name}_service_build": service_build.json()["data"]["id"],
        f"{name}_run": run.json()["data"]["id"],
    }


@contextlib.contextmanager
def open_world(settings: Settings) -> Iterator[World]:
    """The app on `settings`, seeded, with tokens: `admin`; `alpha` (every permission, project
    alpha only); `none` (no permission); `expired`; `unknown` (never issued)."""
    tokens = {
        "admin": issue_token(settings, name="admin", is_admin=True),
        "alpha": issue_token(
            settings, name="alpha", permissions=[p.value for p in Permission], project_ids=["alpha"]
        ),
        "none": issue_token(settings, name="none"),
        "expired": issue_token(
            settings, name="expired", is_admin=True, expires_at=datetime.now(UTC) - timedelta(1)
        ),
        "unknown": "dky_never-issued",
    }
    database = create_engine(sync_url(settings.resolved_database_url))
    try:
        with TestClient(create_app(settings)) as client:
            client.headers["Authorization"] = f"Bearer {tokens['admin']}"
            world = World(client, database, tokens)
            seeded = client.post("/v1/integrations/registries", json=SEEDED_REGISTRY)
            assert seeded.status_code == 200, seeded.text
            for name in PROJECTS:
                world.ids |= _seed_project(client, name)
            del client.headers["Authorization"]  # each request names its own token
            yield world
    finally:
        database.dispose()


def published_schema() -> dict[str, Any]:
    """What /openapi.json serves (the app is not started: nothing touches its data dir)."""
    return create_app(Settings(data_dir=Path("/nonexistent"), registry_autostart=False)).openapi()


def served_operations() -> list[str]:
    """`METHOD /path` of every HTTP operation published, but /ready (503 by design while Docker
    or the registry is away) and the team aliases (the same handlers as /v1/projects/...)."""
    return [
        f"{method.upper()} {path}"
        for path, operations in published_schema()["paths"].items()
        if path != "/ready" and not path.startswith("/v1/teams/")
        for method in operations
    ]
