"""Migration 0014_sealed_urls on a database at 0013 holding a bundle URL and a Slack webhook URL
in clear (SQLite and PostgreSQL): afterwards neither is stored in clear, both open from their
sealed values, the other build inputs and the deliveries are kept; without the secret box the
migration stops before changing anything; going down puts the URLs back."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.app import create_app
from dockyard.builds.models import Build
from dockyard.builds.service import open_secrets, secrets_context, shown_bundle
from dockyard.config import Settings
from dockyard.db.session import run_in_session
from dockyard.migrations import alembic_config, sync_url, upgrade_to_head
from dockyard.notifications.models import NotificationIntegration
from dockyard.notifications.service import opened_webhook
from dockyard.secrets.crypto import SecretBox, SecretKeyError
from tests.builds.conftest import LiveDockyard, start_live
from tests.builds.test_job_builds import image_file
from tests.builds.test_service_builds import bundle_bytes
from tests.conftest import issue_token, stored_bytes
from tests.fileserver import serve_files
from tests.gitrepos import make_sample_repo
from tests.helpers import minimal_service
from tests.notifications.receiver import Receiver

BEFORE = "0013_project_webhook_secrets"
SIGNATURE = "X-Amz-Signature=5f1d0c0ffee"
BUNDLE_URL = f"https://bucket.s3.example.com/source.tar.gz?X-Amz-Expires=600&{SIGNATURE}"
SLACK_TOKEN = "xoxb-hook-credential-99"
SLACK_URL = f"https://hooks.slack.com/services/T00/B00/{SLACK_TOKEN}"
TABLES = ("builds", "notification_integrations")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def execute(url: str, *statements: tuple[str, dict[str, object]]) -> None:
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            for statement, values in statements:
                connection.execute(text(statement), values)
    finally:
        engine.dispose()


def database_at_0013(url: str, box: SecretBox) -> None:
    """A bundle build (with a build argument) and a Slack integration with one delivery, as
    dockyard stored them before 0014."""
    command.upgrade(alembic_config(url, box), BEFORE)
    inputs = {"build_arguments": {"TOKEN": "build-arg"}, "build_files": {}}
    execute(
        url,
        (
            "INSERT INTO projects (id, uid, name, created_at, updated_at) "
            "VALUES ('p', 'puid', 'P', :now, :now)",
            {"now": NOW},
        ),
        (
            "INSERT INTO builds (id, project_id, target_kind, target_id, bundle_url, recipe, "
            "sealed_secrets, status, trigger, abort_requested, attempts, created_at, updated_at) "
            "VALUES ('b1', 'p', 'service', 's', :url, :recipe, :sealed, 'SUCCESS', 'api', "
            "false, 1, :now, :now)",
            {
                "url": BUNDLE_URL,
                "recipe": json.dumps({"dockerfile_path": "/Dockerfile"}),
                "sealed": box.seal_json(inputs, context=secrets_context("b1")),
                "now": NOW,
            },
        ),
        (
            "INSERT INTO notification_integrations (project_id, id, uid, spec, failed_attempts, "
            "created_at, updated_at) VALUES ('p', 'chat', 'nuid', :spec, 0, :now, :now)",
            {
                "spec": json.dumps(
                    {"name": "Chat", "type": "SLACK", "webhook": SLACK_URL, "events": {}}
                ),
                "now": NOW,
            },
        ),
        (
            "INSERT INTO notification_deliveries (id, integration_pk, event, payload, status, "
            "attempts, next_attempt_at, created_at) SELECT 'd1', pk, 'trigger:test', '{}', "
            "'succeeded', 1, :now, :now FROM notification_integrations",
            {"now": NOW},
        ),
    )


def opened(settings: Settings, box: SecretBox) -> tuple[object, ...]:
    async def read(session: AsyncSession) -> tuple[object, ...]:
        build = (await session.execute(select(Build))).scalar_one()
        integration = (await session.execute(select(NotificationIntegration))).scalar_one()
        secrets = open_secrets(box, build)
        return (
            secrets.bundle_url,
            secrets.build_arguments,
            shown_bundle(build),
            opened_webhook(box, integration),
            integration.spec["webhook"],
        )

    return asyncio.run(run_in_session(settings.resolved_database_url, read))


def columns(url: str, table: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return {column["name"] for column in inspect(connection).get_columns(table)}
    finally:
        engine.dispose()


def deliveries(url: str) -> int:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM notification_deliveries"))
            return int(count.scalar_one())
    finally:
        engine.dispose()


def test_0014_seals_the_urls_stored_in_clear(settings: Settings) -> None:
    url = settings.resolved_database_url
    settings.ensure_data_dir()
    box = SecretBox.from_settings(settings)
    database_at_0013(url, box)
    before = stored_bytes(settings, *TABLES)
    assert SIGNATURE.encode() in before and SLACK_TOKEN.encode() in before

    upgrade_to_head(url, box)

    after = stored_bytes(settings, *TABLES)
    assert SIGNATURE.encode() not in after and SLACK_TOKEN.encode() not in after
    assert b"bucket.s3.example.com" in after  # its redacted copy
    assert "bundle_url" not in columns(url, "builds")
    assert opened(settings, box) == (
        BUNDLE_URL,
        {"TOKEN": "build-arg"},
        "https://bucket.s3.example.com/source.tar.gz?*****",
        SLACK_URL,
        "https://hooks.slack.com/services/T00/B00/*****",
    )
    assert deliveries(url) == 1  # the integration's table was not recreated (cascading)

    command.downgrade(alembic_config(url, box), BEFORE)
    back = stored_bytes(settings, *TABLES)
    assert SIGNATURE.encode() in back and SLACK_TOKEN.encode() in back
    assert "sealed_webhook" not in columns(url, "notification_integrations")


def test_0014_without_the_secret_box_stops_before_any_change(settings: Settings) -> None:
    url = settings.resolved_database_url
    settings.ensure_data_dir()
    database_at_0013(url, SecretBox.from_settings(settings))

    with pytest.raises(SecretKeyError, match="secret_box"):
        upgrade_to_head(url)

    assert "bundle_url" in columns(url, "builds")
    assert SLACK_TOKEN.encode() in stored_bytes(settings, *TABLES)


def queued_at_0013(settings: Settings, token: str, bundle_url: str, slack_url: str) -> str:
    """A project with a build service, a Slack integration of its builds' successes and a
    bundle build queued (no worker runs), the database then taken back to 0013 as that
    version stored them: both URLs in clear. The build's id."""
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.post("/v1/projects", json={"name": "Old"}).status_code == 200
        body = minimal_service("Bundled")
        assert client.post("/v1/projects/old/services/build", json=body).status_code == 200
        events = {"trigger:build:success": True}
        hook = {"name": "Chat", "type": "SLACK", "webhook": slack_url, "events": events}
        assert client.post("/v1/projects/old/notifications", json=hook).status_code == 200
        started = client.post(
            "/v1/projects/old/services/bundled/build", json={"bundleUrl": bundle_url}
        )
        assert started.status_code == 200, started.text
    box = SecretBox.from_settings(settings)
    command.downgrade(alembic_config(settings.resolved_database_url, box), BEFORE)
    build_id: str = started.json()["data"]["id"]
    return build_id


def test_after_0014_a_queued_bundle_build_builds_and_a_slack_integration_sends(
    tmp_path: Path,
) -> None:
    """An installation at 0013 (a bundle build queued, a Slack integration) upgraded by
    `dockyard up`: the build fetches its bundle and succeeds, its success reaches the Slack
    URL, and neither URL is left in the database file."""
    settings = Settings(
        data_dir=tmp_path / "dockyard", fetch_allow=["127.0.0.0/8"], registry_autostart=False
    )
    token = issue_token(settings, name="admin", is_admin=True)
    sample = make_sample_repo(tmp_path / "git")
    receiver = Receiver().start()
    name = f"source.tar.gz?{SIGNATURE}"
    with serve_files({name: bundle_bytes()}) as files:
        build_id = queued_at_0013(
            settings, token, f"{files}/{name}", f"{receiver.url}/T00/{SLACK_TOKEN}"
        )
        old = stored_bytes(settings)
        assert SIGNATURE.encode() in old and SLACK_TOKEN.encode() in old

        process = start_live(tmp_path, sample)  # migrates, then its worker takes the build
        headers = {"Authorization": f"Bearer {token}"}
        http = httpx.Client(base_url=process.url, headers=headers, timeout=30)
        try:
            live = LiveDockyard(process, http, sample, "old")
            build = live.wait_for(f"/services/bundled/build/{build_id}")
            assert build["status"] == "SUCCESS", build
            assert image_file(live, build["registry"]["uri"], "/bundled.txt") == "from a bundle\n"
            [request] = receiver.wait_for(1)
            assert request.path == f"/hook/T00/{SLACK_TOKEN}"
            assert live.get("/notifications/chat")["webhook"] == f"{receiver.url}/T00/*****"
        finally:
            http.close()
            process.stop(signal.SIGTERM)
            receiver.close()
    new = stored_bytes(settings)
    assert SIGNATURE.encode() not in new and SLACK_TOKEN.encode() not in new
