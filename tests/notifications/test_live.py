"""Notifications from a live `dockyard up` on the real engine to a receiver on 127.0.0.1: a
failed build (signed, with its last log lines, the build argument's secret redacted), a
succeeded run retried past two 500s, the event and resource filters, and a delivery in flight
when the server is killed with SIGKILL, sent after the restart."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builds.conftest import LiveDockyard
from tests.live import free_port
from tests.notifications.conftest import (
    FAST_RETRIES,
    deliveries,
    wait_for_deliveries,
    webhook,
)
from tests.notifications.receiver import HANG, Receiver, valid_signature
from tests.runs.conftest import busybox_job, connect

ARG_SECRET = "s3cr3t-arg-v4lue"
HOOK_SECRET = "hook-signing-secret"
FAILS = (
    "FROM local/busybox:1\nARG SECRET_ARG\n"
    'RUN echo "arg is $SECRET_ARG" && echo "about to fail" && exit 3\n'
)
QUIET = 1.0  # seconds to wait for requests that must not come


def test_a_failed_build_is_notified_signed_with_its_last_lines(
    live: LiveDockyard, receiver: Receiver
) -> None:
    sha = live.sample.repo.commit({"Dockerfile": FAILS}, "fails", branch="failing")
    service = {
        "name": "failing build",
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": {"projectUrl": live.sample.repo.url, "projectType": "github"},
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
        "buildArguments": {"SECRET_ARG": ARG_SECRET},
    }
    service_id = live.post("/services/build", service)["id"]
    only_this = {"restricted": True, "restrictions": {"services": [service_id]}}
    hook = webhook(
        "build hook", receiver.url, "trigger:build:failure", secret=HOOK_SECRET, **only_this
    )
    live.post("/notifications", hook)
    slack = webhook("build chat", f"{receiver.url}/slack", "trigger:build:failure")
    live.post("/notifications", slack | {"type": "SLACK"})
    live.post("/notifications", webhook("runs only", receiver.url, "trigger:job-run:failure"))
    elsewhere = {"restricted": True, "restrictions": {"services": ["another-service"]}}
    live.post(
        "/notifications", webhook("other", receiver.url, "trigger:build:failure", **elsewhere)
    )

    build_id = live.post(f"/services/{service_id}/build", {"branch": "failing", "sha": sha})["id"]
    build = live.wait_for(f"/services/{service_id}/build/{build_id}")
    assert build["status"] == "FAILURE"

    received = {r.path: r for r in receiver.wait_for(2)}
    time.sleep(QUIET)
    assert len(receiver.received) == 2, [r.path for r in receiver.received]
    signed = received["/hook"]
    assert valid_signature(signed, HOOK_SECRET)
    assert signed.headers["X-Dockyard-Event"] == "trigger:build:failure"
    payload = signed.json()
    target = f"/projects/{live.project}/services/{service_id}"
    assert payload | {"deliveryId": None, "occurredAt": None, "logLines": None} == {
        "deliveryId": None,
        "occurredAt": None,
        "logLines": None,
        "event": "trigger:build:failure",
        "projectId": live.project,
        "resource": {"kind": "service", "id": service_id, "name": "failing build"},
        "buildId": build_id,
        "status": "FAILURE",
        "trigger": "api",
        "sha": sha,
        "branch": "failing",
        "message": build["message"],
        "durationSeconds": payload["durationSeconds"],
        "links": {
            "api": f"{live.process.url}/v1{target}/build/{build_id}",
            "dashboard": f"{live.process.url}/ui{target}/builds/{build_id}",
        },
    }
    assert payload["durationSeconds"] > 0 and payload["message"]
    lines = payload["logLines"]
    assert 0 < len(lines) <= 20 and lines == live.lines(build_id)[-len(lines) :]
    assert any("about to fail" in line for line in lines)
    assert any("arg is *****" in line for line in lines), lines
    assert ARG_SECRET.encode() not in signed.body

    chat = received["/hook/slack"].json()
    assert chat["text"].startswith(f"Build {build_id} of build service failing build")
    assert "X-Dockyard-Signature" not in received["/hook/slack"].headers
    assert ARG_SECRET not in str(chat)
    [delivery] = deliveries(live, "build-hook")
    assert delivery["status"] == "succeeded" and delivery["buildId"] == build_id
    assert [a["statusCode"] for a in delivery["attempts"]] == [200]


def test_a_succeeded_run_is_delivered_once_after_two_500s(
    live: LiveDockyard, receiver: Receiver
) -> None:
    receiver.script = [500, 500]
    job = busybox_job(live, "nightly report", "echo report done", tags=["nightly"])
    tagged = {"restricted": True, "restrictions": {"tags": {"items": ["nightly"]}}}
    live.post(
        "/notifications", webhook("run hook", receiver.url, "trigger:job-run:success", **tagged)
    )
    elsewhere = {"restricted": True, "restrictions": {"jobs": ["another-job"]}}
    live.post(
        "/notifications",
        webhook("not this job", receiver.url, "trigger:job-run:success", **elsewhere),
    )

    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    assert live.wait_for(f"/jobs/{job}/runs/{run_id}")["status"] == "SUCCESS"

    [delivery] = wait_for_deliveries(live, "run-hook", lambda d: d and d[0]["status"] != "pending")
    assert delivery["status"] == "succeeded" and delivery["runId"] == run_id
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 200]
    time.sleep(QUIET)
    assert len(receiver.received) == 3
    assert len({r.body for r in receiver.received}) == 1
    payload = receiver.received[-1].json()
    assert payload["event"] == "trigger:job-run:success" and payload["status"] == "SUCCESS"
    assert payload["resource"] == {"kind": "job", "id": job, "name": "nightly report"}
    assert payload["trigger"] == "api" and payload["durationSeconds"] >= 0
    assert "report done" in payload["logLines"]
    dashboard = f"{live.process.url}/ui/projects/{live.project}/jobs/{job}/runs/{run_id}"
    assert payload["links"]["dashboard"] == dashboard
    assert deliveries(live, "not-this-job") == []


@pytest.fixture
def killable(tmp_path: Path) -> Iterator[LiveDockyard]:
    """A live server of its own, to be killed; attempts time out after 2 s."""
    live = connect(tmp_path, **FAST_RETRIES, DOCKYARD_NOTIFICATION_TIMEOUT_SECONDS="2")
    try:
        yield live
    finally:
        live.http.close()
        live.process.stop(signal.SIGTERM)


def test_a_delivery_in_flight_at_sigkill_is_sent_after_the_restart(
    killable: LiveDockyard,
) -> None:
    live = killable
    receiver = Receiver(port=free_port(), script=[HANG]).start()
    try:
        live.post("/notifications", webhook("kept", receiver.url, "trigger:job-run:success"))
        job = busybox_job(live, "short job", "echo short")
        run_id = live.post(f"/jobs/{job}/runs", {})["id"]
        [first] = receiver.wait_for(1)  # sent, and never answered
        live.process.stop(signal.SIGKILL)
        # Pending, or already sent again when the restart outlasted the dead worker's claim.
        [seen] = _deliveries_on_restart(live)
        assert seen["status"] in {"pending", "succeeded"}, seen

        [_, again] = receiver.wait_for(2, timeout=30)
        assert again.body == first.body and first.json()["runId"] == run_id
        [delivery] = wait_for_deliveries(live, "kept", lambda d: d[0]["status"] == "succeeded")
        assert [a["statusCode"] for a in delivery["attempts"]] == [200]
    finally:
        receiver.close()


def _deliveries_on_restart(live: LiveDockyard) -> list[dict[str, object]]:
    """Restart the server on the same data dir; its deliveries as it first sees them."""
    live.process.start()
    live.process.wait_ready()
    return deliveries(live, "kept")


def test_a_failed_health_check_is_notified_before_the_run_fails(
    live: LiveDockyard, receiver: Receiver
) -> None:
    probe = {
        "protocol": "CMD",
        "type": "livenessProbe",
        "cmd": "test -f /tmp/never",
        "initialDelaySeconds": 1,
        "periodSeconds": 10,
        "timeoutSeconds": 2,
        "failureThreshold": 1,
    }
    script = "trap 'exit 143' TERM; echo up; while true; do sleep 0.2; done"
    job = busybox_job(live, "unhealthy", script, healthChecks=[probe])
    events = ("trigger:job-run:health-check-failure", "trigger:job-run:failure")
    only_this = {"restricted": True, "restrictions": {"jobs": [job]}}
    live.post("/notifications", webhook("health", receiver.url, *events, **only_this))

    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    assert live.wait_for(f"/jobs/{job}/runs/{run_id}", timeout=60)["status"] == "FAILED"

    health, failure = (r.json() for r in receiver.wait_for(2))
    assert health["event"] == "trigger:job-run:health-check-failure"
    assert health["status"] == "RUNNING" and health["runId"] == run_id
    assert health["message"].startswith("Liveness probe failed") and "up" in health["logLines"]
    assert failure["event"] == "trigger:job-run:failure" and failure["status"] == "FAILED"
    assert "Liveness probe failed" in failure["message"]
