"""`dockyard config`: the effective settings of this host (what `dockyard up` would run with)
and where each came from, secrets elided."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from dockyard.cli.output import out, print_json
from dockyard.config import effective_settings, load_settings


def config(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable JSON output")] = False,
) -> None:
    """Print every setting's effective value and its source: the default, the environment
    variable or the DOCKYARD_CONFIG file (passwords, tokens and keys elided)."""
    shown = effective_settings(load_settings())
    if as_json:
        print_json(
            [
                {
                    "name": item.name,
                    "variable": item.variable,
                    "value": item.value,
                    "source": item.source.value,
                    "from": item.origin,
                }
                for item in shown
            ]
        )
        return
    rows = [
        (
            item.variable,
            item.value if isinstance(item.value, str) else json.dumps(item.value),
            item.origin or "default",
        )
        for item in shown
    ]
    if not out.is_terminal:  # a pipe: one line per setting, whole, for grep and cut
        for row in rows:
            print("\t".join(row))
        return
    table = Table("setting", "value", "from", box=None, header_style="bold")
    for variable, value, origin in rows:
        table.add_row(variable, value.replace("[", r"\["), origin)
    out.print(table)
