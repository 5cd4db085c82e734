"""Writes the upgrade test's fixture: an installation (SQLite database and key file) made by
the code of an earlier schema, with one of each record dockyard keeps. Run it from a checkout
of that earlier version:

    PYTHONPATH=<old checkout>/src python tests/db/make_upgrade_fixture.py OUT_DIR

The database is checkpointed into one file; `manifest.json` has the admin token, the schema
revision and the values the test expects to read back."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from dockyard import __version__
from dockyard.app import create_app
from dockyard.auth import service as auth_service
from dockyard.config import Settings
from dockyard.db.session import run_in_session
from dockyard.migrations import prepare_storage

SECRET = "upgrade-secret-value"
BUILD_ARG = "upgrade-build-argument"


def main(out: Path) -> None:
    settings = Settings(
        data_dir=out, registry="127.0.0.1:1", registry_autostart=False, fetch_allow=["127.0.0.1"]
    )
    prepare_storage(settings)
    token = asyncio.run(
        run_in_session(
            settings.resolved_database_url,
            lambda s: auth_service.issue_token(s, name="admin", permissions=[], is_admin=True),
        )
    )
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"

        def post(path: str, body: dict[str, object]) -> dict[str, object]:
            reply = client.post(path, json=body)
            assert reply.status_code == 200, reply.text
            data: dict[str, object] = reply.json()["data"]
            return data

        post("/v1/projects", {"name": "Upgrade", "description": "made before the upgrade"})
        base = "/v1/projects/upgrade"
        post(
            f"{base}/jobs/manual",
            {
                "name": "Image Job",
                "billing": {"deploymentPlan": "nf-compute-20"},
                "backoffLimit": 1,
                "deployment": {"external": {"imagePath": "local/busybox:1"}},
                "runtimeEnvironment": {"SECRET": SECRET},
            },
        )
        post(
            f"{base}/services/build",
            {
                "name": "Svc",
                "billing": {"buildPlan": "nf-compute-200-8"},
                "vcsData": {
                    "projectUrl": "https://github.com/northflank/gatsby-with-northflank",
                    "projectType": "github",
                },
                "buildSettings": {
                    "dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}
                },
                "buildArguments": {"ARG": BUILD_ARG},
            },
        )
        run = post(f"{base}/jobs/image-job/runs", {})
        build = post(f"{base}/services/svc/build", {"branch": "main"})
        post(
            f"{base}/notifications",
            {
                "name": "Hook",
                "type": "RAW_WEBHOOK",
                "webhook": "http://127.0.0.1:9/hook",
                "secret": "hook-secret",
                "events": {"trigger:job-run:success": True},
            },
        )
        post(
            "/v1/integrations/registries",
            {
                "name": "Private Registry",
                "provider": "custom",
                "registryUrl": "registry.example.test:5000",
                "credentials": {"username": "ci", "password": "registry-password"},
            },
        )
        post(
            "/v1/integrations/vcs/links",
            {
                "name": "Acme",
                "vcsService": "self-hosted",
                "vcsUrl": "https://git.example.test",
                "login": "bot",
                "token": "vcs-token",
            },
        )
    db = sqlite3.connect(out / "dockyard.db")
    (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()
    for leftover in ("dockyard.db-wal", "dockyard.db-shm", "migrate.lock"):
        (out / leftover).unlink(missing_ok=True)
    manifest = {
        "version": __version__,
        "revision": revision,
        "token": token,
        "secret": SECRET,
        "buildArgument": BUILD_ARG,
        "runId": run["id"],
        "buildId": build["id"],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
