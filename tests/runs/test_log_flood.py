"""A run flooding its log through a live `dockyard up`: the container is never held back (the
run ends), its lines are stored once, in order, redacted, up to the run's log cap, then one
marker line, and the rest counted as dropped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.metrics.scrape import value
from tests.runs.conftest import busybox_job, serving

CAP = 20_000
FLOOD = 3 * CAP
TOKEN = "fl00d-t0ken-5e2a"


def test_a_flood_past_the_cap_is_stored_in_order_redacted_and_capped(tmp_path: Path) -> None:
    with serving(tmp_path, DOCKYARD_LOG_MAX_LINES_PER_RUN=str(CAP)) as live:
        job = busybox_job(
            live,
            "flood",
            f'seq {FLOOD} | sed "s/$/ $TOKEN/"',
            runtimeEnvironment={"TOKEN": TOKEN},
        )
        run_id = live.post(f"/jobs/{job}/runs", {})["id"]
        assert live.wait_for(f"/jobs/{job}/runs/{run_id}", timeout=120)["status"] == "SUCCESS"
        metrics = live.http.get("/metrics").text
        with sqlite3.connect(live.process.data_dir / "dockyard.db") as db:
            stored = db.execute(
                "SELECT line, from_container FROM log_lines WHERE owner_kind = 'run' "
                "AND owner_id = ? ORDER BY pk",
                (run_id,),
            ).fetchall()

    container = [line for line, own in stored if own]
    assert container == [f"{number} *****" for number in range(1, CAP + 1)]
    markers = [line for line, own in stored if not own and "log cap" in line]
    assert len(markers) == 1
    assert any("exited with code 0" in line for line, _own in stored)
    assert value(metrics, "dockyard_log_lines_dropped_total", kind="run") == FLOOD - CAP
