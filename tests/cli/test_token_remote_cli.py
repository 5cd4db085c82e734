"""`dockyard token create|list|revoke` through a live `dockyard api`'s `/v1/tokens` (given
`--url`/`--token`, DOCKYARD_URL/DOCKYARD_TOKEN, or a saved context), from a host whose
database settings point nowhere: the printed token works, the list never shows secrets, a
shared name is revoked only one id at a time or with --all, and the server's rules hold (a
token without ApiTokens > Create is refused)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from dockyard.auth.permissions import Permission
from dockyard.cli.main import app
from dockyard.config import Settings
from tests.conftest import issue_token
from tests.live import DockyardProcess

runner = CliRunner()
READ = Permission.PROJECTS_READ.value


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DockyardProcess, str]]:
    data_dir = tmp_path_factory.mktemp("token-remote-cli") / "data"
    settings = Settings(data_dir=data_dir, registry_autostart=False)
    token = issue_token(settings, name="admin", is_admin=True)
    process = DockyardProcess(data_dir=data_dir, command="api").start()
    try:
        process.wait_ready()
        yield process, token
    finally:
        process.stop(signal.SIGTERM)


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A host without the server's database: any database access would fail."""
    nowhere = tmp_path / "no-data-dir"
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(nowhere))
    monkeypatch.setenv("DOCKYARD_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("DOCKYARD_CLI_CONFIG", str(tmp_path / "cli.json"))
    for name in ("DOCKYARD_URL", "DOCKYARD_TOKEN", "DOCKYARD_CONTEXT", "DOCKYARD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    return nowhere


def dockyard(*args: str, code: int = 0) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def test_tokens_through_the_server_without_its_database(
    server: tuple[DockyardProcess, str], elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    process, admin = server
    at = ["--url", process.url, "--token", admin]
    first = dockyard(
        "token",
        "create",
        "--name",
        "shared",
        "--permission",
        READ,
        "--project",
        "p1",
        "--expires",
        "2h",
        *at,
    ).stdout
    assert first.count("\n") == 1 and first.startswith("dky_")
    login = httpx.get(
        f"{process.url}/v1/login", headers={"Authorization": f"Bearer {first.strip()}"}
    )
    assert login.json()["data"] == {
        "name": "shared",
        "admin": False,
        "permissions": [READ],
        "projects": ["p1"],
    }

    monkeypatch.setenv("DOCKYARD_URL", process.url)
    monkeypatch.setenv("DOCKYARD_TOKEN", admin)
    dockyard("token", "create", "--name", "shared", "--admin")
    listing = dockyard("token", "list", "--json").stdout
    assert first.strip() not in listing and admin not in listing
    rows = [row for row in json.loads(listing) if row["name"] == "shared"]
    assert [row["admin"] for row in rows] == [False, True]
    assert rows[0]["projects"] == ["p1"] and rows[0]["expiresAt"].endswith("Z")
    assert set(rows[0]) == {
        "id",
        "name",
        "admin",
        "permissions",
        "projects",
        "expiresAt",
        "revoked",
        "createdAt",
    }

    refused = dockyard("token", "revoke", "shared", code=1)
    assert all(row["id"] in refused.stderr for row in rows)
    monkeypatch.delenv("DOCKYARD_URL")
    monkeypatch.delenv("DOCKYARD_TOKEN")
    dockyard("login", "--url", process.url, "--token", admin, "--context", "prod")
    dockyard("--context", "prod", "token", "revoke", rows[0]["id"])
    dockyard("--context", "prod", "token", "revoke", "shared")
    gone = dockyard("--context", "prod", "token", "revoke", "shared", code=1)
    assert "No active token named 'shared'" in gone.stderr
    listed = json.loads(dockyard("--context", "prod", "token", "list", "--json").stdout)
    assert [row["revoked"] for row in listed if row["name"] == "shared"] == [True, True]

    reader = ["token", "create", "--name", "reader", "--permission", READ, *at]
    limited = dockyard(*reader).stdout.strip()
    lacking = dockyard(
        "token",
        "create",
        "--name",
        "x",
        "--admin",
        "--url",
        process.url,
        "--token",
        limited,
        code=1,
    )
    assert "ApiTokens > Create" in lacking.stderr and "403" in lacking.stderr
    assert dockyard("token", "list", "--url", process.url, code=2).exit_code == 2
    assert not elsewhere.exists()  # no local data dir was made
