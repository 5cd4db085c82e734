"""Stored output over REST: `GET .../logs` and `.../build-logs` with the range query."""

from __future__ import annotations

from typing import Any

from tests.builds.conftest import LiveDockyard
from tests.runs.conftest import busybox_job

SCRIPT = 'for i in 1 2 3 4 5; do echo "line $i"; done; echo "token=$TOKEN"'


def logs(live: LiveDockyard, path: str, **params: Any) -> list[dict[str, Any]]:
    response = live.http.get(f"/v1/projects/{live.project}{path}", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["data"]
    return entries


def test_run_logs_range_queries(live: LiveDockyard) -> None:
    job = busybox_job(live, "logged", SCRIPT, runtimeEnvironment={"TOKEN": "hunter2-secret"})
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    assert live.wait_for(f"/jobs/{job}/runs/{run_id}")["status"] == "SUCCESS"
    path = f"/jobs/{job}/logs"

    newest_first = [e["log"] for e in logs(live, path, runId=run_id)]
    oldest_first = [e["log"] for e in logs(live, path, runId=run_id, direction="forward")]

    assert oldest_first == newest_first[::-1]
    assert [line for line in oldest_first if line.startswith("line")] == [
        f"line {i}" for i in range(1, 6)
    ]
    assert "token=*****" in oldest_first and "hunter2-secret" not in str(oldest_first)
    entry = logs(live, path, runId=run_id, lineLimit=1)[0]
    assert set(entry) == {"containerId", "log", "ts"}
    assert entry["containerId"] == f"dockyard-run-{run_id}-1"
    assert [e["log"] for e in logs(live, path, textIncludes="line 3")] == ["line 3"]
    assert logs(live, path, runId="no-such-run") == []
    assert logs(live, path, startTime="2999-01-01T00:00:00Z") == []
    assert len(logs(live, path, duration=3600, runId=run_id)) == len(oldest_first)


def test_build_logs_and_bad_queries(live: LiveDockyard) -> None:
    body = {
        "name": "logged build",
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": {"projectUrl": live.sample.repo.url, "projectType": "github"},
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }
    service_id = live.post("/services/build", body)["id"]
    build = live.post(f"/services/{service_id}/build", {"branch": "main"})
    live.wait_for(f"/services/{service_id}/build/{build['id']}")

    lines = [
        e["log"] for e in logs(live, f"/services/{service_id}/build-logs", buildId=build["id"])
    ]

    assert any(line.startswith("Pushed ") for line in lines)
    for params, field in (
        ({"lineLimit": 0}, "lineLimit"),
        ({"direction": "sideways"}, "direction"),
        ({"startTime": "yesterday"}, "startTime"),
        ({"queryType": "tail"}, "queryType"),
    ):
        response = live.http.get(
            f"/v1/projects/{live.project}/services/{service_id}/build-logs", params=params
        )
        assert response.status_code == 400, (params, response.text)
        assert any(field in key for key in response.json()["error"]["details"]), response.text
    missing = live.http.get(f"/v1/projects/{live.project}/jobs/nope/logs")
    assert missing.status_code == 404
