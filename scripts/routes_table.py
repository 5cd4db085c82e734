"""The README's table of the API dockyard serves, made from the app's own routes and matched
to the official `northflank` SDK's calls by method and path.

    .venv/bin/python scripts/routes_table.py          # print the table
    .venv/bin/python scripts/routes_table.py --write  # put it into README.md

tests/test_readme_routes.py fails while the README and the routes disagree.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

import northflank.endpoints
from fastapi.routing import APIWebSocketRoute
from northflank.endpoint import ApiEndpoint

from dockyard.api.routes.logs import router as logs_router
from dockyard.app import create_app
from dockyard.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_blocks import block_of, print_or_write

START, END = "<!-- routes:start -->", "<!-- routes:end -->"
TEAM_ALIAS = "/v1/teams/{teamId}"
# The SDK's log helpers are written by hand (northflank._protocols), not generated endpoints.
SERVICE_LOGS = ("GET", "/v1/projects/{}/services/{}/logs")
# Routes no SDK call reaches but the official CLI (npm @northflank/cli) does.
CLI_CALLS = {("GET", "/v1/login"): "`northflank login` (CLI)"}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def sdk_calls() -> dict[tuple[str, str], str]:
    """(METHOD, path shape) -> `api.<verb>.<noun>...` of the official SDK."""
    calls: dict[tuple[str, str], str] = {}
    prefix = northflank.endpoints.__name__ + "."
    for module in pkgutil.walk_packages(northflank.endpoints.__path__, prefix):
        loaded = importlib.import_module(module.name)
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, ApiEndpoint)
                and value.__module__ == module.name
                and getattr(value, "path_templates", None)
            ):
                call = "api." + module.name.removeprefix(prefix)
                for template in value.path_templates:
                    calls.setdefault((value.method.upper(), _shape(template)), call)
    return calls


def served() -> list[tuple[str, str]]:
    """(METHOD, path) of every route: HTTP from the OpenAPI schema, WebSocket (log tails) from
    the logs router."""
    app = create_app(Settings(registry="127.0.0.1:1", registry_autostart=False))
    http = [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if not path.startswith(TEAM_ALIAS)
        for method in operations
    ]
    sockets = [
        ("WEBSOCKET", "/v1" + route.path)
        for route in logs_router.routes
        if isinstance(route, APIWebSocketRoute)
    ]
    return http + sockets


def rows() -> list[tuple[str, str, str]]:
    calls = sdk_calls()
    found = []
    for method, path in served():
        call = _log_helper(method, _shape(path)) or calls.get((method, _shape(path)))
        shown = f"`{call}`" if call else CLI_CALLS.get((method, path), "(no SDK call)")
        found.append((method, path, shown))
    return sorted(found, key=lambda row: (row[1], row[0]))


def _log_helper(method: str, shape: str) -> str | None:
    if method == "WEBSOCKET":
        return "api.logs.tail_logs"
    return "api.logs.fetch_service_logs" if (method, shape) == SERVICE_LOGS else None


def table() -> str:
    lines = ["| method | path | official client call |", "|---|---|---|"]
    lines += [f"| {method} | `{path}` | {call} |" for method, path, call in rows()]
    return "\n".join(lines)


def readme_block(text: str) -> str:
    return block_of(text, START, END)


def main() -> None:
    print_or_write(table(), START, END)


if __name__ == "__main__":
    main()
