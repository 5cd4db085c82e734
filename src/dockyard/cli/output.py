"""How commands print: Rich tables and highlighted JSON for people, plain JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from dockyard.client.models import Resource

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

STATUS_STYLES = {
    "SUCCESS": "green",
    "FAILURE": "red",
    "FAILED": "red",
    "CRASHED": "red",
    "SUBMISSION_FAILURE": "red",
    "ABORTED": "yellow",
}


def print_json(data: Any) -> None:
    """One JSON document on one line: what `--json` promises scripts."""
    out.out(json.dumps(data, separators=(",", ":")), highlight=False)


def show_one(item: Resource, as_json: bool) -> None:
    if as_json:
        print_json(item.raw())
    else:
        out.print_json(data=item.raw())


def show_list(items: Sequence[Resource], columns: Sequence[str], as_json: bool) -> None:
    """A table of `columns` (wire names) of each item, or a JSON array of whole items."""
    if as_json:
        print_json([item.raw() for item in items])
        return
    table = Table(*columns, box=None, header_style="bold")
    for item in items:
        raw = item.raw()
        table.add_row(*(_cell(column, raw.get(column)) for column in columns))
    out.print(table)


def styled_status(status: str | None) -> str:
    style = STATUS_STYLES.get(status or "", "cyan")
    return f"[{style}]{status or '-'}[/]"


def _cell(column: str, value: Any) -> str:
    if column == "status":
        return styled_status(value)
    if value is None:
        return "-"
    if column == "sha":
        return str(value)[:12]
    return str(value).replace("[", r"\[")
