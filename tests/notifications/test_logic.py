"""Pure logic of notifications: which event a status change makes, which integrations want
it, the back-off, signatures and the Slack body."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.notifications.events import Event, Resource, build_event, run_event, wants
from dockyard.notifications.payloads import slack_body, webhook_body
from dockyard.notifications.service import backoff_seconds
from dockyard.notifications.signing import signature, signature_headers
from tests.notifications.receiver import Received, valid_signature

JOB = Resource("job", "api", "API", ("prod", "eu"))
SERVICE = Resource("service", "web", "Web", ())


@pytest.mark.parametrize(
    ("status", "attempts", "event"),
    [
        ("PENDING", 1, Event.BUILD_START),
        ("PENDING", 2, None),  # taken again after its worker died: no second start
        ("CLONING", 1, None),
        ("SUCCESS", 1, Event.BUILD_SUCCESS),
        ("FAILURE", 1, Event.BUILD_FAILURE),
        ("SUBMISSION_FAILURE", 0, Event.BUILD_FAILURE),
        ("ABORTED", 1, Event.BUILD_ABORT),
        ("CRASHED", 2, Event.BUILD_CRASH),
        ("QUEUED", 1, None),
    ],
)
def test_build_events(status: str, attempts: int, event: Event | None) -> None:
    assert build_event(status, attempts) is event


def test_run_events() -> None:
    assert [run_event(s) for s in ("QUEUED", "RUNNING", "SUCCESS", "FAILED")] == [
        None,
        Event.RUN_START,
        Event.RUN_SUCCESS,
        Event.RUN_FAILURE,
    ]


def spec(**fields: Any) -> dict[str, Any]:
    return {"events": {Event.BUILD_FAILURE.value: True}} | fields


def test_the_event_filter() -> None:
    assert wants(spec(), Event.BUILD_FAILURE, JOB)
    assert not wants(spec(), Event.BUILD_SUCCESS, JOB)
    assert not wants({"events": {Event.BUILD_FAILURE.value: False}}, Event.BUILD_FAILURE, JOB)
    assert wants({"events": {}}, Event.TEST, JOB)


@pytest.mark.parametrize(
    ("restrictions", "job", "service"),
    [
        ({"jobs": ["api"]}, True, False),
        ({"services": ["web"]}, False, True),
        ({"services": ["api"]}, False, False),  # a service list never names a job
        ({"tags": {"enabled": True, "items": ["prod"]}}, True, False),
        ({"tags": {"enabled": True, "items": ["prod", "us"], "matchCondition": "or"}}, True, False),
        (
            {"tags": {"enabled": True, "items": ["prod", "us"], "matchCondition": "and"}},
            False,
            False,
        ),
        # names no resource: restricted to its projects alone (chosen in SQL), it hears all
        ({"tags": {"enabled": False, "items": ["prod"]}}, True, True),
        ({"projects": ["default-project"]}, True, True),
        ({"jobs": ["other"], "tags": {"enabled": True, "items": ["eu"]}}, True, False),
    ],
)
def test_the_resource_filter(restrictions: dict[str, Any], job: bool, service: bool) -> None:
    restricted = spec(restricted=True, restrictions=restrictions)
    assert wants(restricted, Event.BUILD_FAILURE, JOB) is job
    assert wants(restricted, Event.BUILD_FAILURE, SERVICE) is service
    unrestricted = spec(restricted=False, restrictions=restrictions)
    assert wants(unrestricted, Event.BUILD_FAILURE, SERVICE)


def test_the_backoff_doubles_up_to_ten_minutes_scaled_and_jittered() -> None:
    assert [backoff_seconds(n, 1.0, 1.0) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert backoff_seconds(30, 1.0, 1.0) == 600
    assert backoff_seconds(2, 0.01, 1.0) == pytest.approx(0.1)
    assert backoff_seconds(1, 1.0, 0.75) == 3.75


def test_the_signature_covers_the_timestamp_and_the_body() -> None:
    body = b'{"event":"trigger:build:failure"}'
    headers = signature_headers("s3cret", 1_700_000_000, body)
    assert headers["X-Dockyard-Timestamp"] == "1700000000"
    assert headers["X-Dockyard-Signature"] == signature("s3cret", 1_700_000_000, body)
    assert headers["X-Dockyard-Signature"] != signature("s3cret", 1_700_000_001, body)
    assert headers["X-Dockyard-Signature"] != signature("other", 1_700_000_000, body)
    assert valid_signature(Received("/", headers, body), "s3cret", tolerance=float("inf"))
    assert not valid_signature(Received("/", headers, body + b" "), "s3cret", float("inf"))
    assert not valid_signature(Received("/", headers, body), "s3cret")  # a stale timestamp


PAYLOAD = {
    "event": "trigger:build:failure",
    "occurredAt": "2026-11-23T19:00:00.000Z",
    "projectId": "default-project",
    "resource": {"kind": "service", "id": "web", "name": "Web"},
    "buildId": "joyous-view-6290",
    "status": "FAILURE",
    "trigger": "webhook",
    "sha": "262ed9817b3cad5142fbceabe0c9e371e390d616",
    "branch": "main",
    "message": "BUILDING: step 2/3 failed",
    "durationSeconds": 12.5,
    "logLines": [f"line {n}" for n in range(20)],
    "links": {
        "api": "/v1/projects/default-project/services/web/build/joyous-view-6290",
        "dashboard": "/ui/projects/default-project/services/web/builds/joyous-view-6290",
    },
}


def test_the_webhook_body_has_absolute_links_and_the_delivery_id() -> None:
    body = json.loads(webhook_body(PAYLOAD, "d1", "https://dockyard.example/"))
    assert body["deliveryId"] == "d1" and body["buildId"] == "joyous-view-6290"
    assert body["links"]["dashboard"] == (
        "https://dockyard.example/ui/projects/default-project/services/web/builds/joyous-view-6290"
    )


def test_the_slack_body_is_an_incoming_webhook_message() -> None:
    body = json.loads(slack_body(PAYLOAD, "https://dockyard.example"))
    assert body["text"] == (
        "Build joyous-view-6290 of build service Web in project default-project failed (FAILURE)"
    )
    assert all(block["type"] == "section" for block in body["blocks"])
    fields = [field["text"] for field in body["blocks"][1]["fields"]]
    assert "*Commit*\n262ed9817b3c" in fields and "*Duration*\n12.5 s" in fields
    assert body["blocks"][2]["text"]["text"] == "> BUILDING: step 2/3 failed"
    assert body["blocks"][3]["text"]["text"].startswith("```line 0\n")
    assert "dockyard.example/ui/projects/default-project/services/web" in json.dumps(body)


def test_a_long_log_fits_a_slack_text() -> None:
    long_lines = {**PAYLOAD, "logLines": ["x" * 1000] * 20}
    body = json.loads(slack_body(long_lines, "https://dockyard.example"))
    assert len(body["blocks"][3]["text"]["text"]) <= 3000
