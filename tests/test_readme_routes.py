"""The README's table of served endpoints is the one the routes make."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_lists_exactly_the_served_routes() -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "routes_table.py"))
    in_readme = script["readme_block"]((ROOT / "README.md").read_text())
    assert in_readme == script["table"](), "run: .venv/bin/python scripts/routes_table.py --write"
