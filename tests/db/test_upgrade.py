"""Upgrading an installation: a database and key file written by dockyard 0.1.0 (made by
tests/db/make_upgrade_fixture.py with that version's code) is refused by commands that do not
migrate, migrated by `dockyard migrate`, and then served whole: its token, project, job and
its secret, build service and its build argument, its build and run, notification
integration, registry credentials and VCS link. A database newer than the code is refused."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dockyard.app import create_app
from dockyard.cli.main import app
from dockyard.config import Settings
from dockyard.migrations import SchemaMismatch, prepare_storage, schema_revisions

FIXTURE = Path(__file__).parent / "fixtures" / "upgrade-0.1.0"
runner = CliRunner()


@pytest.fixture
def old_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, dict[str, Any]]:
    data_dir = tmp_path / "data"
    shutil.copytree(FIXTURE, data_dir)
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DOCKYARD_SECRET_KEY", raising=False)
    monkeypatch.delenv("DOCKYARD_DATABASE_URL", raising=False)
    settings = Settings(registry="127.0.0.1:1", registry_autostart=False)
    return settings, json.loads((data_dir / "manifest.json").read_text())


def get(client: TestClient, path: str) -> Any:
    reply = client.get(path)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def test_an_installation_of_0_1_0_is_served_whole_after_migrating(
    old_install: tuple[Settings, dict[str, Any]],
) -> None:
    settings, manifest = old_install
    url = settings.resolved_database_url
    assert schema_revisions(url)[0] == {manifest["revision"]}

    refused = runner.invoke(app, ["token", "list"])
    assert refused.exit_code == 1
    assert "older than this dockyard" in refused.output and "dockyard migrate" in refused.output
    assert schema_revisions(url)[0] == {manifest["revision"]}  # nothing migrated

    migrated = runner.invoke(app, ["migrate"])
    assert migrated.exit_code == 0, migrated.output
    current, heads = schema_revisions(url)
    assert current == heads and current != {manifest["revision"]}
    assert runner.invoke(app, ["token", "list"]).exit_code == 0

    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {manifest['token']}"
        assert get(client, "/v1/login")["admin"] is True
        project = get(client, "/v1/projects/upgrade")
        assert project["description"] == "made before the upgrade"
        base = "/v1/projects/upgrade"
        environment = get(client, f"{base}/jobs/image-job/runtime-environment")
        assert environment["runtimeEnvironment"] == {"SECRET": manifest["secret"]}
        arguments = get(client, f"{base}/services/svc/build-arguments")
        assert arguments["buildArguments"] == {"ARG": manifest["buildArgument"]}
        assert get(client, f"{base}/jobs/image-job/runs/{manifest['runId']}")["id"]
        assert get(client, f"{base}/services/svc/build/{manifest['buildId']}")["branch"] == "main"
        hooks = get(client, f"{base}/notifications")["notificationIntegrations"]
        assert [hook["name"] for hook in hooks] == ["Hook"]
        registries = get(client, "/v1/integrations/registries")["credentials"]
        assert [registry["id"] for registry in registries] == ["private-registry"]
        links = get(client, "/v1/integrations/vcs")["vcsAccountLinks"]
        assert [link["login"] for link in links] == ["bot"]
        tokens = get(client, "/v1/tokens")["tokens"]
        assert [token["name"] for token in tokens] == ["admin"] and len(tokens[0]["id"]) == 24
        # and the installation goes on: new records next to the old ones
        made = client.post(
            f"{base}/jobs/manual",
            json={
                "name": "After",
                "billing": {"deploymentPlan": "nf-compute-20"},
                "backoffLimit": 0,
            },
        )
        assert made.status_code == 200, made.text


def test_a_database_newer_than_the_code_is_refused(
    old_install: tuple[Settings, dict[str, Any]],
) -> None:
    settings, _ = old_install
    prepare_storage(settings)
    with sqlite3.connect(settings.data_dir / "dockyard.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(SchemaMismatch, match="newer than this dockyard"):
        prepare_storage(settings)
    refused = runner.invoke(app, ["token", "list"])
    assert refused.exit_code == 1 and "newer than this dockyard" in refused.output
    assert schema_revisions(settings.resolved_database_url)[0] == {"9999_from_the_future"}
