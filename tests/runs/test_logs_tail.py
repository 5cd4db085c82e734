"""Live tails over the WebSocket protocol of the official clients, driven by the `northflank`
SDK's own tail: the lines so far, then each new one, ending when the run concludes."""

from __future__ import annotations

import pytest
from northflank import ApiClient, ApiClientContext
from northflank.errors import ApiCallError

from tests.builds.conftest import LiveDockyard
from tests.runs.conftest import busybox_job

TICKS = 'for i in 1 2 3 4 5 6; do echo "tick $i $SECRET"; sleep 0.5; done'


def sdk_for(live: LiveDockyard, token: str | None = None) -> ApiClient:
    token = token or live.http.headers["Authorization"].removeprefix("Bearer ")
    return ApiClient(context=ApiClientContext(api_token=token, base_url=live.process.url))


def test_tail_follows_a_run_to_its_end(live: LiveDockyard) -> None:
    job = busybox_job(live, "ticking", TICKS, runtimeEnvironment={"SECRET": "p4ssw0rd-value"})
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    live.wait_for(
        f"/jobs/{job}/runs/{run_id}", lambda run: "tick 2 *****" in live.lines_of("run", run_id), 30
    )

    with sdk_for(live).logs.tail_logs(
        project_id=live.project,
        resource_id=job,
        resource_type="job",
        run_id=run_id,
        line_limit=100,
        recv_timeout=30,
    ) as tail:
        lines = [line.log for line in tail]

    ticks = [line for line in lines if line.startswith("tick")]
    assert ticks == [f"tick {i} *****" for i in range(1, 7)], lines
    assert "p4ssw0rd-value" not in str(lines)
    assert live.get(f"/jobs/{job}/runs/{run_id}")["concluded"] is True


def test_tail_of_a_finished_build_gives_its_lines_and_ends(live: LiveDockyard) -> None:
    body = {
        "name": "tailed build",
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": {"projectUrl": live.sample.repo.url, "projectType": "github"},
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }
    service_id = live.post("/services/build", body)["id"]
    build = live.post(f"/services/{service_id}/build", {"branch": "main"})
    live.wait_for(f"/services/{service_id}/build/{build['id']}")

    with sdk_for(live).logs.tail_logs(
        project_id=live.project,
        resource_id=service_id,
        resource_type="service",
        build_id=build["id"],
        is_build=True,
        line_limit=5,
        recv_timeout=30,
    ) as tail:
        lines = [line.log for line in tail]

    assert len(lines) == 5 and lines[-1].startswith("Pushed "), lines


def test_tail_with_a_bad_token_gets_an_error(live: LiveDockyard) -> None:
    job = busybox_job(live, "guarded tail", "echo hi")
    with pytest.raises(ApiCallError):
        sdk_for(live, "not-a-token").logs.tail_logs(
            project_id=live.project, resource_id=job, resource_type="job", recv_timeout=10
        )
