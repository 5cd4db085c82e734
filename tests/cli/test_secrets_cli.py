"""`dockyard secrets rotate-key`: every sealed value moves to a new key, nothing is lost, and
old keys can be retired once unused."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from dockyard.app import create_app
from dockyard.builds.models import Build
from dockyard.builds.service import open_secrets
from dockyard.ci.models import webhook_secret_context
from dockyard.cli.main import app
from dockyard.config import Settings
from dockyard.db.session import run_in_session
from dockyard.notifications.models import NotificationIntegration
from dockyard.notifications.service import opened_webhook
from dockyard.secrets.crypto import KEY_FILE, SecretBox, key_id, read_key_ring
from dockyard.vcslinks.models import VcsLink
from dockyard.vcslinks.service import credentials_of
from tests.conftest import issue_token
from tests.helpers import minimal_job, minimal_service

runner = CliRunner()
WEBHOOK_SECRET = "vault-webhook-secret-value"
BUNDLE_URL = "http://127.0.0.1:9/source.tar.gz?signature=presigned"
HOOK_URL = "http://127.0.0.1:9/hook"
VCS_TOKEN = "vault-vcs-token-value"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DOCKYARD_SECRET_KEY", raising=False)
    monkeypatch.setenv("DOCKYARD_KEY_SETTLE_SECONDS", "0")
    return Settings(registry="127.0.0.1:1", registry_autostart=False, fetch_allow=["127.0.0.1"])


def key_ids_of_file(settings: Settings) -> list[str]:
    return [key_id(key) for key in read_key_ring(settings.data_dir / KEY_FILE).keys]


def sealed_key_ids(settings: Settings) -> set[str]:
    with sqlite3.connect(settings.data_dir / "dockyard.db") as db:
        values = [
            v
            for (m,) in db.execute("SELECT sealed_secrets FROM jobs")
            for v in json.loads(m).values()
        ]
        values += [v for (v,) in db.execute("SELECT sealed_secrets FROM job_runs")]
        values += [v for (v,) in db.execute("SELECT sealed_secret FROM project_webhook_secrets")]
        values += [v for (v,) in db.execute("SELECT sealed_secrets FROM builds")]
        for row in db.execute(
            "SELECT sealed_secret, sealed_webhook FROM notification_integrations"
        ):
            values += row
        values += [v for (v,) in db.execute("SELECT sealed_secret FROM vcs_links")]
    return {value.split(".")[1] for value in values}


def make_secrets(settings: Settings) -> None:
    token = issue_token(settings, name="admin", is_admin=True)
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.post("/v1/projects", json={"name": "Vault"}).status_code == 200
        body = minimal_job(
            "Keeper",
            runtimeEnvironment={"API_KEY": "very-secret-value"},
            deployment={"external": {"imagePath": "local/busybox:1"}},
        )
        assert client.post("/v1/projects/vault/jobs/manual", json=body).status_code == 200
        run = client.post(
            "/v1/projects/vault/jobs/keeper/runs", json={"runtimeEnvironment": {"X": "y"}}
        )
        assert run.status_code == 200, run.text
        hook = {
            "name": "Alerts",
            "type": "RAW_WEBHOOK",
            "webhook": HOOK_URL,
            "secret": "hook-signing-secret",
            "events": {"trigger:build:failure": True},
        }
        assert client.post("/v1/projects/vault/notifications", json=hook).status_code == 200
        webhook = {"repository": "https://git.example.test/acme/app", "secret": WEBHOOK_SECRET}
        assert client.post("/v1/projects/vault/webhook-secrets", json=webhook).status_code == 200
        service = minimal_service("Bundled")
        assert client.post("/v1/projects/vault/services/build", json=service).status_code == 200
        build = client.post(
            "/v1/projects/vault/services/bundled/build", json={"bundleUrl": BUNDLE_URL}
        )
        assert build.status_code == 200, build.text
        link = {"name": "Vault Git", "vcsService": "github", "login": "bot", "token": VCS_TOKEN}
        assert client.post("/v1/integrations/vcs/links", json=link).status_code == 200


def webhook_secret(settings: Settings) -> str:
    """The project's webhook secret, opened as the server opens it."""
    with sqlite3.connect(settings.data_dir / "dockyard.db") as db:
        [(secret_id, sealed)] = db.execute("SELECT id, sealed_secret FROM project_webhook_secrets")
    box = SecretBox.from_settings(settings)
    return box.open(sealed, context=webhook_secret_context(secret_id)).decode()


def job_secret(settings: Settings) -> str:
    token = issue_token(settings, name="reader", is_admin=True)
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        patched = client.patch("/v1/projects/vault/jobs/manual/keeper", json={"backoffLimit": 1})
        assert patched.status_code == 200, patched.text
        value: str = patched.json()["data"]["runtimeEnvironment"]["API_KEY"]
        return value


def opened_urls(settings: Settings) -> tuple[str | None, str, str]:
    """The build's bundle URL, the integration's webhook URL and the VCS link's token, opened
    from the database."""

    async def opened(session: AsyncSession) -> tuple[str | None, str, str]:
        box = SecretBox.from_settings(settings)
        build = (await session.execute(select(Build))).scalar_one()
        integration = (await session.execute(select(NotificationIntegration))).scalar_one()
        link = (await session.execute(select(VcsLink))).scalar_one()
        token = credentials_of(box, link).token
        return open_secrets(box, build).bundle_url, opened_webhook(box, integration), token

    return asyncio.run(run_in_session(settings.resolved_database_url, opened))


def test_rotate_then_retire(settings: Settings) -> None:
    make_secrets(settings)
    [old] = key_ids_of_file(settings)
    assert sealed_key_ids(settings) == {old}

    rotated = runner.invoke(app, ["secrets", "rotate-key"])

    assert rotated.exit_code == 0, rotated.output
    assert "re-sealed 6 rows" in rotated.output
    new, kept_old = key_ids_of_file(settings)
    assert kept_old == old and sealed_key_ids(settings) == {new}
    assert job_secret(settings) == "very-secret-value"
    assert webhook_secret(settings) == WEBHOOK_SECRET
    assert opened_urls(settings) == (BUNDLE_URL, HOOK_URL, VCS_TOKEN)

    retired = runner.invoke(app, ["secrets", "rotate-key", "--retire"])
    assert retired.exit_code == 0, retired.output
    [newest] = key_ids_of_file(settings)
    assert sealed_key_ids(settings) == {newest}
    assert job_secret(settings) == "very-secret-value"
    assert webhook_secret(settings) == WEBHOOK_SECRET
    assert opened_urls(settings) == (BUNDLE_URL, HOOK_URL, VCS_TOKEN)


def test_a_configured_key_is_rotated_by_configuration(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_SECRET_KEY", "A" * 43 + "=")
    result = runner.invoke(app, ["secrets", "rotate-key"])
    assert result.exit_code != 0
    assert "DOCKYARD_SECRET_KEY" in str(result.exception) + result.output


def test_retire_waits_for_the_settle_time_of_the_rotation(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_secrets(settings)
    assert runner.invoke(app, ["secrets", "rotate-key"]).exit_code == 0
    monkeypatch.setenv("DOCKYARD_KEY_SETTLE_SECONDS", "3600")
    refused = runner.invoke(app, ["secrets", "retire"])
    assert refused.exit_code != 0
    assert "rotated less than 3600 s ago" in str(refused.exception) + refused.output
    assert len(key_ids_of_file(settings)) == 2
    monkeypatch.setenv("DOCKYARD_KEY_SETTLE_SECONDS", "0")
    retired = runner.invoke(app, ["secrets", "retire"])
    assert retired.exit_code == 0, retired.output
    assert len(key_ids_of_file(settings)) == 1
    assert job_secret(settings) == "very-secret-value"
