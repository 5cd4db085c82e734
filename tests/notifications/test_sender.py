"""The outbox sender against a real database (SQLite, and PostgreSQL where one runs) and a
real receiver: retries until a 2xx with the same body, each attempt recorded; two workers
polling one database send a delivery once; a target that keeps failing is marked failing,
and a delivery past its retry time is failed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.notifications.delivery import NotificationSender
from dockyard.secrets.crypto import SecretBox
from tests.conftest import stored_bytes
from tests.notifications.conftest import webhook
from tests.notifications.receiver import Receiver, valid_signature

SECRET = "sender-test-secret"


def drive(settings: Settings, until: Callable[[], bool], workers: int = 2) -> None:
    """Tick `workers` senders sharing the database (as separate worker processes would)
    until `until()` holds."""

    async def ticking() -> None:
        database = Database(settings.resolved_database_url)
        box = SecretBox.from_settings(settings)
        senders = [
            NotificationSender(settings, database, box, f"worker-{n}", asyncio.Event())
            for n in range(workers)
        ]
        deadline = time.monotonic() + 30
        try:
            while not until():
                assert time.monotonic() < deadline, "the senders did not get there in 30 s"
                for sender in senders:
                    await sender.tick()
                await asyncio.sleep(0.02)
        finally:
            for sender in senders:
                await sender.shutdown()
            await database.dispose()

    asyncio.run(ticking())


def deliveries(client: TestClient, project: str, integration: str) -> list[dict[str, Any]]:
    url = f"/v1/projects/{project}/notifications/{integration}/deliveries"
    found: list[dict[str, Any]] = client.get(url).json()["data"]["deliveries"]
    return found


def test_500_twice_then_200_is_one_delivery_of_three_attempts(
    client: TestClient, project: str, settings: Settings, receiver: Receiver
) -> None:
    receiver.script = [500, 500]
    body = webhook("Retried", receiver.url, "trigger:build:failure", secret=SECRET)
    assert client.post(f"/v1/projects/{project}/notifications", json=body).status_code == 200
    queued = client.post(f"/v1/projects/{project}/notifications/retried/test").json()["data"]

    drive(settings, lambda: deliveries(client, project, "retried")[0]["status"] != "pending")

    [delivery] = deliveries(client, project, "retried")
    assert delivery["id"] == queued["id"] and delivery["status"] == "succeeded"
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 200]
    assert [a["error"] for a in delivery["attempts"]] == ["HTTP 500", "HTTP 500", None]
    assert all(a["latencyMs"] >= 0 for a in delivery["attempts"])
    time.sleep(0.3)  # nothing more arrives
    requests = receiver.received
    assert len(requests) == 3
    assert len({r.body for r in requests}) == 1, "every retry sends the same body"
    assert all(valid_signature(r, SECRET) for r in requests)
    payload = requests[0].json()
    assert payload["deliveryId"] == queued["id"] and payload["event"] == "trigger:test"
    assert requests[0].headers["X-Dockyard-Delivery"] == queued["id"]
    status = client.get(f"/v1/projects/{project}/notifications/retried").json()["data"]["status"]
    assert status == {
        "disabled": False,
        "failing": False,
        "numberOfFailedRequests": 0,
        "lastError": None,
    }


def test_a_target_that_keeps_failing_is_marked_and_given_up_on(
    client: TestClient, project: str, settings: Settings
) -> None:
    settings = settings.model_copy(update={"notification_retry_seconds": 2.0})
    dead = "http://127.0.0.1:9/hook"  # the discard port: nothing listens
    body = webhook("Dead End", dead, "trigger:build:failure")
    assert client.post(f"/v1/projects/{project}/notifications", json=body).status_code == 200
    client.post(f"/v1/projects/{project}/notifications/dead-end/test")

    drive(settings, lambda: deliveries(client, project, "dead-end")[0]["status"] != "pending")

    [delivery] = deliveries(client, project, "dead-end")
    assert delivery["status"] == "failed" and "concludedAt" in delivery
    assert len(delivery["attempts"]) >= 2
    assert all(a["statusCode"] is None for a in delivery["attempts"])
    assert all(a["error"].startswith("ConnectError") for a in delivery["attempts"])
    got = client.get(f"/v1/projects/{project}/notifications/dead-end").json()["data"]["status"]
    assert got["failing"] is True and got["numberOfFailedRequests"] >= 2
    assert got["lastError"].startswith("ConnectError") and "timeOfFirstFailedRequest" in got


def test_a_url_refused_at_send_time_is_a_failed_attempt(
    client: TestClient, project: str, settings: Settings, receiver: Receiver
) -> None:
    body = webhook("Rebound", receiver.url, "trigger:build:failure")
    assert client.post(f"/v1/projects/{project}/notifications", json=body).status_code == 200
    client.post(f"/v1/projects/{project}/notifications/rebound/test")
    strict = settings.model_copy(update={"fetch_allow": []})  # as if DNS now said loopback

    drive(strict, lambda: len(deliveries(client, project, "rebound")[0]["attempts"]) >= 1)

    attempt = deliveries(client, project, "rebound")[0]["attempts"][0]
    assert attempt["statusCode"] is None and attempt["error"].startswith("refused: ")
    assert receiver.received == []


def test_a_sealed_slack_url_is_opened_for_sending_and_kept_by_updates(
    client: TestClient, project: str, settings: Settings, receiver: Receiver
) -> None:
    url = f"{receiver.url}/T00/slack-hook-credential-7"
    body = {**webhook("Chat", url, "trigger:build:failure"), "type": "SLACK"}
    assert client.post(f"/v1/projects/{project}/notifications", json=body).status_code == 200
    renamed = client.post(f"/v1/projects/{project}/notifications/chat", json={"name": "Chat 2"})
    assert renamed.status_code == 200, renamed.text
    shown = renamed.json()["data"]["webhook"]
    assert shown == f"{receiver.url}/T00/*****"
    sent_back = {"name": "Chat 3", "webhook": shown}  # a client posting back what it read
    again = client.post(f"/v1/projects/{project}/notifications/chat", json=sent_back)
    assert again.status_code == 200 and again.json()["data"]["webhook"] == shown
    client.post(f"/v1/projects/{project}/notifications/chat/test")

    drive(settings, lambda: deliveries(client, project, "chat")[0]["status"] != "pending")

    assert deliveries(client, project, "chat")[0]["status"] == "succeeded"
    [request] = receiver.received
    assert request.path == "/hook/T00/slack-hook-credential-7" and "text" in request.json()
    stored = stored_bytes(settings, "notification_integrations", "notification_deliveries")
    assert b"slack-hook-credential-7" not in stored
