"""Job runs end to end on real containers."""

from __future__ import annotations

import base64

from tests.builds.conftest import LiveDockyard
from tests.runs.conftest import busybox_job


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def start(live: LiveDockyard, job: str, body: dict | None = None) -> str:  # type: ignore[type-arg]
    started = live.post(f"/jobs/{job}/runs", body or {})
    assert set(started) == {"id", "runName"}
    run_id: str = started["id"]
    return run_id


def test_success_with_env_and_files(live: LiveDockyard) -> None:
    job = busybox_job(
        live,
        "hello",
        'echo hello $GREETING; [ "$GREETING" = world ] && echo env-ok; cat /etc/app/config.txt',
        runtimeEnvironment={"GREETING": "world"},
        runtimeFiles={"/etc/app/config.txt": {"data": b64("level=debug\n")}},
    )
    run_id = start(live, job)

    run = live.wait_for(f"/jobs/{job}/runs/{run_id}")

    assert run["status"] == "SUCCESS", run
    assert (run["succeeded"], run["failed"], run["active"]) == (1, 0, 0)
    lines = live.lines_of("run", run_id)
    assert "env-ok" in lines and "level=debug" in lines
    assert "hello *****" in lines, "runtime environment values are secrets: redacted"


def test_failures_are_retried_up_to_the_backoff_limit(live: LiveDockyard) -> None:
    job = busybox_job(live, "always fails", "echo failing; exit 1", backoffLimit=2)
    run_id = start(live, job)

    run = live.wait_for(f"/jobs/{job}/runs/{run_id}")

    assert run["status"] == "FAILED", run
    assert (run["succeeded"], run["failed"]) == (0, 3)
    assert "BackoffLimitExceeded" in run["message"] and "exit code 1" in run["message"]
    assert live.lines_of("run", run_id).count("failing") == 3
