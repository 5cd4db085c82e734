"""GET /metrics: the exposition parses, the database's gauges show queued work, requests are
timed by route template, and only account-wide tokens with the metrics permission read it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import assert_error, token_with
from tests.helpers import IMAGE_JOB, created_id, minimal_job
from tests.metrics.scrape import value

GAUGES = {
    "dockyard_queue_depth",
    "dockyard_queue_oldest_age_seconds",
    "dockyard_worker_heartbeat_age_seconds",
}
COUNTERS = {
    "dockyard_builds_concluded",
    "dockyard_runs_concluded",
    "dockyard_build_phase_seconds",
    "dockyard_run_phase_seconds",
    "dockyard_worker_claims",
    "dockyard_log_lines_written",
    "dockyard_log_lines_dropped",
    "dockyard_containers_swept",
    "dockyard_notification_deliveries",
    "dockyard_http_request_duration_seconds",
}


def scrape(app_client: TestClient, settings: Settings) -> str:
    token = token_with(settings, Permission.METRICS_READ)
    reply = app_client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return reply.text


def test_metrics_parse_and_show_the_queue(
    app_client: TestClient, client: TestClient, settings: Settings, project: str
) -> None:
    text = scrape(app_client, settings)
    names = {family.name for family in text_string_to_metric_families(text)}
    assert names == GAUGES | COUNTERS
    assert value(text, "dockyard_queue_depth", kind="run", status="QUEUED") == 0
    assert value(text, "dockyard_queue_oldest_age_seconds", kind="run") == 0

    job = created_id(client, project, "/jobs/manual", minimal_job("Queued", **IMAGE_JOB))
    created_id(client, project, f"/jobs/{job}/runs", {})  # no worker here: it stays queued
    client.get(f"/v1/projects/{project}/jobs/{job}")
    client.get(f"/v1/teams/{settings.team_id}/projects/{project}/jobs/{job}")
    text = scrape(app_client, settings)

    assert value(text, "dockyard_queue_depth", kind="run", status="QUEUED") == 1
    assert value(text, "dockyard_queue_depth", kind="build", status="QUEUED") == 0
    assert value(text, "dockyard_queue_oldest_age_seconds", kind="run") >= 0
    assert value(text, "dockyard_queue_oldest_age_seconds", kind="build") == 0
    route = "/v1/projects/{projectId}/jobs/{jobId}"
    timed = {"method": "GET", "route": route, "status": "200"}
    assert value(text, "dockyard_http_request_duration_seconds_count", **timed) >= 1
    alias = {"method": "GET", "route": f"/v1/teams/{{teamId}}{route[3:]}", "status": "200"}
    assert value(text, "dockyard_http_request_duration_seconds_count", **alias) >= 1
    assert f"/jobs/{job}" not in text  # templates, never raw paths


def test_metrics_need_an_account_wide_token_with_the_permission(
    app_client: TestClient, settings: Settings
) -> None:
    def get(token: str | None) -> object:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return app_client.get("/metrics", headers=headers)

    assert_error(get(None), 401)
    assert_error(get("not-a-token"), 401)
    assert_error(get(token_with(settings, Permission.REGISTRIES_READ)), 403)
    limited = token_with(settings, Permission.METRICS_READ, projects=["some-project"])
    assert_error(get(limited), 403)
