"""docs/operations.md names only settings and `dockyard` commands the code has, and its nginx
config sends every WebSocket route of the code through the upgrade."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
from fastapi.routing import APIWebSocketRoute

from dockyard.api.routes.logs import router as logs_router
from dockyard.cli.main import app
from dockyard.config import ENV_PREFIX, NOT_SETTINGS, setting_names
from dockyard.ui.router import router as ui_router

DOC = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()
FENCED = re.compile(r"```[a-z]*\n(.*?)```", re.S)
INLINE = re.compile(r"`([^`]+)`")
# `dockyard` as a command: at the start of code or after a space, `/` or `(`, then its words.
COMMAND = re.compile(r"(?:^|(?<=[\s/(]))dockyard((?: [a-z][a-z0-9-]*)+)", re.M)
SETTING = re.compile(r"\bDOCKYARD_[A-Z0-9_]*[A-Z0-9]\b")
WEBSOCKET_LOCATION = re.compile(r"location ~ (\S+) \{\n(?:.*\n)*?\s*proxy_set_header Upgrade")


def code_of(text: str) -> list[str]:
    """The doc's code: fenced blocks, then inline spans (joined across line breaks)."""
    blocks = FENCED.findall(text)
    prose = FENCED.sub("", text)
    return blocks + [" ".join(span.split()) for span in INLINE.findall(prose)]


def commands_named(text: str) -> set[tuple[str, ...]]:
    return {tuple(match.split()) for code in code_of(text) for match in COMMAND.findall(code)}


def exists(words: tuple[str, ...]) -> bool:
    """Whether `dockyard WORDS...` names a command: each word a sub-command of the group before
    it, until a command that is not a group (the words after it are its arguments)."""
    command: Any = typer.main.get_command(app)
    context = typer.Context(command)
    for word in words:
        if not hasattr(command, "list_commands"):
            return True
        command = command.get_command(context, word)
        if command is None:
            return False
        context = typer.Context(command, parent=context)
    return True


def test_the_guide_names_only_settings_that_exist() -> None:
    known = {ENV_PREFIX + name.upper() for name in setting_names()}
    known |= {ENV_PREFIX + name for name in NOT_SETTINGS}
    named = set(SETTING.findall(DOC))
    assert {"DOCKYARD_PUBLIC_URL", "DOCKYARD_GC_INTERVAL_SECONDS"} <= named
    assert sorted(named - known) == []


def test_the_guide_names_only_commands_that_exist() -> None:
    named = commands_named(DOC)
    assert {("api",), ("worker",), ("gc",), ("migrate-data",), ("token", "create")} <= named
    assert sorted(" ".join(words) for words in named if not exists(words)) == []
    assert not exists(("token", "mint"))
    assert not exists(("migrate-everything",))


def websocket_paths() -> list[str]:
    """Every WebSocket route: the API's log tails (and their team alias), the dashboard's
    live logs, with sample ids."""
    api = [
        prefix + route.path
        for route in logs_router.routes
        if isinstance(route, APIWebSocketRoute)
        for prefix in ("/v1", "/v1/teams/{teamId}")
    ]
    ui = [route.path for route in ui_router.routes if isinstance(route, APIWebSocketRoute)]
    kinds = [path.replace("{kind}s", kind) for path in api + ui for kind in ("jobs", "services")]
    return sorted({re.sub(r"\{[^}]+\}", "id-1", path) for path in kinds})


def test_nginx_upgrades_every_websocket_route_and_only_those() -> None:
    locations = WEBSOCKET_LOCATION.findall(DOC)
    assert len(locations) == 1, "one nginx location with the WebSocket upgrade"
    upgraded = re.compile(locations[0])
    paths = websocket_paths()
    assert len(paths) >= 8
    assert [path for path in paths if not upgraded.fullmatch(path)] == []
    for plain in ("/v1/projects/p/jobs/j/runs", "/ui/projects/p/jobs/j/runs/r", "/v1/tokens"):
        assert not upgraded.fullmatch(plain)
