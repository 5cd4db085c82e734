"""A generated block of README.md, between its start and end markers: read it, or (with
--write on the command line) replace it. Used by routes_table.py and cli_table.py."""

from __future__ import annotations

import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def block_of(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def print_or_write(generated: str, start: str, end: str) -> None:
    """Print the block, or with --write put it into README.md in place of the old one."""
    if "--write" not in sys.argv:
        print(generated)
        return
    text = README.read_text()
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    README.write_text(f"{before}{start}\n{generated}\n{end}{after}")
