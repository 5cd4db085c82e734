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
    # The names whole at any width (a pipe gets 80 columns), so that `| grep NAME` finds them.
    table = Table(box=None, header_style="bold")
    table.add_column("setting", no_wrap=True, min_width=max(len(i.variable) for i in shown))
    table.add_column("value", overflow="fold")
    table.add_column("from", overflow="fold")
    for item in shown:
        value = item.value if isinstance(item.value, str) else json.dumps(item.value)
        table.add_row(item.variable, value.replace("[", r"\["), item.origin or "default")
    out.print(table)
