"""The README's list of commands is the one the Typer app makes, and every command says what
it does."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = runpy.run_path(str(ROOT / "scripts" / "cli_table.py"))


def test_readme_lists_exactly_the_commands() -> None:
    in_readme = SCRIPT["readme_block"]((ROOT / "README.md").read_text())
    assert in_readme == SCRIPT["table"](), "run: .venv/bin/python scripts/cli_table.py --write"


def test_every_command_has_a_help_line() -> None:
    commands = dict(SCRIPT["commands"]())
    assert {"dockyard up", "dockyard token create", "dockyard vcs servers add"} <= set(commands)
    assert "dockyard build" not in commands  # hidden aliases are left out
    assert [usage for usage, help_line in commands.items() if not help_line] == []
