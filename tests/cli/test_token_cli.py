"""`dockyard token create|list|revoke` against a real data dir; the printed token works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dockyard.app import create_app
from dockyard.auth.permissions import Permission
from dockyard.cli.main import app
from dockyard.config import Settings
from tests.conftest import assert_error

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(tmp_path / "data"))
    return Settings(registry="127.0.0.1:1")


def create(*args: str) -> str:
    result = runner.invoke(app, ["token", "create", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_create_prints_the_token_alone(env: Settings) -> None:
    out = create("--name", "ci", "--permission", Permission.PROJECTS_READ.value, "--project", "p1")
    assert out.count("\n") == 1 and out.startswith("dky_")
    with TestClient(create_app(env)) as client:
        headers = {"Authorization": f"Bearer {out.strip()}"}
        assert client.get("/v1/projects", headers=headers).status_code == 200
        assert_error(client.get("/v1/projects/p2", headers=headers), 403)
        assert_error(client.post("/v1/projects", json={"name": "p1"}, headers=headers), 403)


def test_admin_token_may_do_everything(env: Settings) -> None:
    token = create("--name", "root", "--admin").strip()
    with TestClient(create_app(env)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert (
            client.post("/v1/projects", json={"name": "anything"}, headers=headers).status_code
            == 200
        )


def test_unknown_permission_is_refused(env: Settings) -> None:
    result = runner.invoke(app, ["token", "create", "--name", "x", "--permission", "Everything"])
    assert result.exit_code == 2
    assert "unknown permission" in result.output


def test_token_needs_a_permission_or_admin(env: Settings) -> None:
    assert runner.invoke(app, ["token", "create", "--name", "x"]).exit_code == 2


def test_expiry_is_parsed(env: Settings) -> None:
    create("--name", "short", "--admin", "--expires", "2h")
    listed = json.loads(runner.invoke(app, ["token", "list", "--json"]).stdout)
    assert listed[0]["expiresAt"].endswith("Z")
    assert (
        runner.invoke(
            app, ["token", "create", "--name", "y", "--admin", "--expires", "soon"]
        ).exit_code
        == 2
    )


def test_list_never_shows_secrets_and_revoke_works(env: Settings) -> None:
    token = create("--name", "temp", "--admin").strip()
    listing = runner.invoke(app, ["token", "list", "--json"]).stdout
    assert token not in listing and json.loads(listing)[0]["name"] == "temp"
    assert runner.invoke(app, ["token", "revoke", "temp"]).exit_code == 0
    with TestClient(create_app(env)) as client:
        assert_error(client.get("/v1/projects", headers={"Authorization": f"Bearer {token}"}), 401)
    again = subprocess.run(
        [sys.executable, "-m", "dockyard", "token", "revoke", "temp"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 1
    assert again.stderr.strip() == "error: No active token named 'temp'"


def test_revoke_by_id_and_a_shared_name_only_with_all(env: Settings) -> None:
    for _ in range(3):
        create("--name", "shared", "--admin")
    ids = [
        token["id"] for token in json.loads(runner.invoke(app, ["token", "list", "--json"]).stdout)
    ]
    refused = runner.invoke(app, ["token", "revoke", "shared"])
    assert refused.exit_code == 1 and all(token_id in refused.stderr for token_id in ids)
    assert runner.invoke(app, ["token", "revoke", ids[0]]).exit_code == 0
    assert runner.invoke(app, ["token", "revoke", "shared", "--all"]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["token", "list", "--json"]).stdout)
    assert [token["revoked"] for token in listed] == [True, True, True]
