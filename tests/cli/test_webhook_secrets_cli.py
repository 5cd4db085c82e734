"""`dockyard webhook-secrets create|list|delete` against a live `dockyard api`: the secret is
printed once (made by the server, or read from stdin), listed without its value, and the
delivery it signs is accepted until it is deleted."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from dockyard.cli.main import app
from dockyard.config import Settings
from tests.conftest import issue_token
from tests.live import DockyardProcess

runner = CliRunner()
REPOSITORY = "https://git.example.test/acme/app"
GIVEN = "a-secret-of-the-git-server-0123"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DockyardProcess, str]]:
    data_dir = tmp_path_factory.mktemp("webhook-secrets-cli") / "data"
    token = issue_token(
        Settings(data_dir=data_dir, registry_autostart=False), name="admin", is_admin=True
    )
    process = DockyardProcess(data_dir=data_dir, command="api").start()
    try:
        process.wait_ready()
        reply = httpx.post(
            f"{process.url}/v1/projects",
            json={"name": "Hooks"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert reply.status_code == 200, reply.text
        yield process, token
    finally:
        process.stop(signal.SIGTERM)


@pytest.fixture(autouse=True)
def logged_in(
    server: tuple[DockyardProcess, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    process, token = server
    monkeypatch.setenv("DOCKYARD_CLI_CONFIG", str(tmp_path / "cli.json"))
    monkeypatch.delenv("DOCKYARD_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKYARD_URL", process.url)
    monkeypatch.setenv("DOCKYARD_TOKEN", token)
    monkeypatch.setenv("DOCKYARD_PROJECT", "hooks")


def dockyard(*args: str, stdin: str | None = None) -> Result:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def delivery_status(process: DockyardProcess, secret: str) -> int:
    body = json.dumps({"repository": REPOSITORY, "branch": "main", "sha": "a" * 40}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    reply = httpx.post(
        f"{process.url}/v1/webhooks/generic",
        content=body,
        headers={"X-Dockyard-Signature-256": signature, "Content-Type": "application/json"},
    )
    return reply.status_code


def test_create_prints_the_secret_once_list_and_delete(
    server: tuple[DockyardProcess, str],
) -> None:
    process, _ = server

    made = dockyard("webhook-secrets", "create", f"{REPOSITORY}.git").output

    first_line, secret = made.splitlines()
    assert "git.example.test/acme/app" in first_line and "shown only now" in first_line
    assert len(secret) >= 40
    assert delivery_status(process, secret) == 200
    [item] = json.loads(dockyard("webhook-secrets", "list", "--json").output)
    assert item["repository"] == "git.example.test/acme/app" and "secret" not in item
    table = dockyard("webhook-secrets", "list").output
    assert item["id"] in table and secret not in table

    rotated = dockyard(
        "webhook-secrets", "create", REPOSITORY, "--secret-stdin", "--json", stdin=GIVEN + "\n"
    )
    assert json.loads(rotated.output) | {"createdAt": None} == {
        "id": item["id"],
        "repository": "git.example.test/acme/app",
        "secret": GIVEN,
        "createdAt": None,
    }
    assert delivery_status(process, secret) == 401
    assert delivery_status(process, GIVEN) == 200

    deleted = dockyard("webhook-secrets", "delete", item["id"], "--yes").output
    assert f"deleted webhook secret {item['id']}" in deleted
    assert json.loads(dockyard("webhook-secrets", "list", "--json").output) == []
    assert delivery_status(process, GIVEN) == 401
    missing = runner.invoke(app, ["webhook-secrets", "delete", item["id"], "--yes"])
    assert missing.exit_code == 1 and "HTTP 404" in missing.output
