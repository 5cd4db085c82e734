"""The README's list of every `dockyard` command, made from the Typer app itself: each command
and sub-command (hidden aliases left out) with its arguments and the first sentence of its
help.

    .venv/bin/python scripts/cli_table.py          # print the table
    .venv/bin/python scripts/cli_table.py --write  # put it into README.md

tests/test_readme_cli.py fails while the README and the commands disagree.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from dockyard.cli.main import app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_blocks import block_of, print_or_write

START, END = "<!-- cli:start -->", "<!-- cli:end -->"
HELP_LIMIT = 400  # characters: the whole first sentence, never cut


def commands() -> Iterator[tuple[str, str]]:
    """(usage, one-line help) of every visible command under `dockyard`, depth first, in the
    order `dockyard --help` lists them."""
    root = typer.main.get_command(app)
    yield from _walk(root, ["dockyard"], typer.Context(root, info_name="dockyard"))


def _walk(group: Any, path: list[str], parent: typer.Context) -> Iterator[tuple[str, str]]:
    # typer keeps its click classes private (typer._click): commands are read by duck typing.
    for name in group.list_commands(parent):
        command = group.get_command(parent, name)
        if command is None or command.hidden:
            continue
        context = typer.Context(command, info_name=name, parent=parent)
        arguments = [
            _shown(param) for param in command.params if param.param_type_name == "argument"
        ]
        yield " ".join([*path, name, *arguments]), command.get_short_help_str(limit=HELP_LIMIT)
        if hasattr(command, "list_commands"):
            yield from _walk(command, [*path, name], context)


def _shown(argument: Any) -> str:
    """An argument as usage shows it: NAME, [NAME] when optional, NAME... when repeated."""
    shown = str(argument.metavar or argument.name.upper())
    shown += "..." if argument.nargs == -1 else ""
    return shown if argument.required else f"[{shown}]"


def table() -> str:
    lines = ["| command | what it does |", "|---|---|"]
    lines += [f"| `{usage}` | {_cell(text)} |" for usage, text in commands()]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def readme_block(text: str) -> str:
    return block_of(text, START, END)


def main() -> None:
    print_or_write(table(), START, END)


if __name__ == "__main__":
    main()
