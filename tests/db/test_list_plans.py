"""A page of a project's jobs or services is read in key order from an index, without
sorting every row of the project first (SQLite's plan, after the migrations)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dockyard.config import Settings
from dockyard.migrations import prepare_storage


@pytest.mark.parametrize("table", ["jobs", "services"])
def test_a_page_is_read_from_an_index_in_key_order(tmp_path: Path, table: str) -> None:
    settings = Settings(data_dir=tmp_path / "data", registry="127.0.0.1:1")
    prepare_storage(settings)
    with sqlite3.connect(settings.data_dir / "dockyard.db") as connection:
        for after in ("", "AND pk > 10"):
            query = f"SELECT * FROM {table} WHERE project_id = 'p' {after} ORDER BY pk LIMIT 51"
            plan = " ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {query}"))
            assert f"USING INDEX ix_{table}_project_id_pk" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
