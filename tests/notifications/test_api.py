"""The notification integration API: create, list, get, update, delete, deliveries and test
events; validation (400 naming the field), URL restrictions, permissions and 404s."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from dockyard.app import create_app
from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import assert_error, stored_bytes, token_with
from tests.notifications.conftest import webhook

URL = "http://127.0.0.1:9/hook"
SHOWN_URL = "http://127.0.0.1:9/*****"
SLACK_TOKEN = "slack-hook-credential-42"
SLACK_URL = f"http://127.0.0.1:9/services/T00/B00/{SLACK_TOKEN}"


def base(project: str) -> str:
    return f"/v1/projects/{project}/notifications"


def create(client: TestClient, project: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(base(project), json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_create_shows_the_secret_once_and_reads_never_do(client: TestClient, project: str) -> None:
    created = create(
        client,
        project,
        webhook(
            "Build Alerts",
            URL,
            "trigger:build:failure",
            secret="a-long-shared-secret",
            restricted=True,
            restrictions={"jobs": ["api"], "tags": {"items": ["prod"], "matchCondition": "and"}},
        ),
    )
    assert created["id"] == "build-alerts"
    assert created["secret"] == "a-long-shared-secret"
    assert created["type"] == "RAW_WEBHOOK" and created["webhook"] == URL
    assert created["events"]["trigger:build:failure"] is True
    assert created["events"]["trigger:job-run:start"] is False
    assert created["restricted"] is True
    assert created["restrictions"]["tags"] == {
        "enabled": True,
        "items": ["prod"],
        "matchCondition": "and",
    }
    assert created["projects"] == [project] and "projectId" not in created
    assert created["status"] == {
        "disabled": False,
        "failing": False,
        "numberOfFailedRequests": 0,
        "lastError": None,
    }

    got = client.get(f"{base(project)}/build-alerts").json()["data"]
    assert "secret" not in got and got["name"] == "Build Alerts"
    listed = client.get(base(project)).json()
    assert [item["id"] for item in listed["data"]["notificationIntegrations"]] == ["build-alerts"]
    assert "secret" not in listed["data"]["notificationIntegrations"][0]
    assert listed["pagination"] == {"hasNextPage": False, "count": 1}


def test_a_webhook_without_a_secret_gets_one_generated(client: TestClient, project: str) -> None:
    created = create(client, project, webhook("Signed", URL, "trigger:build:start"))
    assert len(created["secret"]) >= 32
    slack = create(
        client, project, {**webhook("Chat", URL, "trigger:build:start"), "type": "SLACK"}
    )
    assert "secret" not in slack


def test_update_merges_events_and_keeps_the_id(client: TestClient, project: str) -> None:
    create(client, project, webhook("Alerts", URL, "trigger:build:failure"))
    response = client.post(
        f"{base(project)}/alerts",
        json={"name": "Renamed Alerts", "events": {"trigger:job-run:failure": True}},
    )
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["id"] == "alerts" and updated["name"] == "Renamed Alerts"
    assert updated["events"]["trigger:build:failure"] is True
    assert updated["events"]["trigger:job-run:failure"] is True
    switched_off = client.post(
        f"{base(project)}/alerts",
        json={"events": {"trigger:build:failure": False, "trigger:job-run:failure": False}},
    )
    assert_error(switched_off, 400, "events")


def test_delete_takes_the_deliveries_along(client: TestClient, project: str) -> None:
    create(client, project, webhook("Gone Soon", URL, "trigger:build:start"))
    assert client.post(f"{base(project)}/gone-soon/test").status_code == 200
    assert client.delete(f"{base(project)}/gone-soon").status_code == 200
    assert_error(client.get(f"{base(project)}/gone-soon"), 404)
    assert_error(client.get(f"{base(project)}/gone-soon/deliveries"), 404)


def test_a_test_event_is_a_pending_delivery(client: TestClient, project: str) -> None:
    create(client, project, webhook("Tested", URL, "trigger:build:start"))
    queued = client.post(f"{base(project)}/tested/test").json()["data"]
    assert queued["event"] == "trigger:test" and queued["status"] == "pending"
    assert queued["attempts"] == []
    listed = client.get(f"{base(project)}/tested/deliveries").json()
    assert [d["id"] for d in listed["data"]["deliveries"]] == [queued["id"]]
    assert listed["data"]["deliveries"][0]["resource"] == {"kind": "notification", "id": "tested"}


def test_a_name_taken_is_a_conflict(client: TestClient, project: str) -> None:
    create(client, project, webhook("Twice", URL, "trigger:build:start"))
    assert_error(client.post(base(project), json=webhook("twice", URL, "trigger:build:start")), 409)


BAD_BODIES = [
    (webhook("Loopback v6", "http://[::1]/hook", "trigger:build:start"), "webhook"),
    (webhook("Private", "http://10.1.2.3/hook", "trigger:build:start"), "webhook"),
    (webhook("Metadata", "http://169.254.169.254/", "trigger:build:start"), "webhook"),
    (webhook("Not Http", "ftp://127.0.0.1/hook", "trigger:build:start"), "webhook"),
    (webhook("No Events", URL), "events"),
    (webhook("All Off", URL, **{"events": {"trigger:build:start": False}}), "events"),
    (webhook("Unknown", URL, "trigger:build:explode"), "events.trigger:build:explode"),
    (webhook("Bad Type", URL, "trigger:build:start", type="DISCORD"), "type"),
    (webhook("Short", URL, "trigger:build:start", secret="short"), "secret"),
    (webhook("Nothing Named", URL, "trigger:build:start", restricted=True), "restrictions"),
    (
        webhook("Bad Tag", URL, "trigger:build:start", restrictions={"tags": {"items": ["-"]}}),
        "restrictions.tags.items[0]",
    ),
    (
        webhook("Bad Job", URL, "trigger:build:start", restrictions={"jobs": ["Not An Id"]}),
        "restrictions.jobs[0]",
    ),
    (
        {
            **webhook("Slack Secret", URL, "trigger:build:start", secret="x" * 20),
            "type": "SLACK",
        },
        "secret",
    ),
    (webhook("Extra", URL, "trigger:build:start", projects=["default-project"]), "projects"),
    (webhook("x", URL, "trigger:build:start"), "name"),
]


def test_bad_bodies_are_400_naming_the_field(client: TestClient, project: str) -> None:
    for body, field in BAD_BODIES:
        assert_error(client.post(base(project), json=body), 400, field)
    assert client.get(base(project)).json()["data"]["notificationIntegrations"] == []


def test_an_update_to_a_refused_url_is_400(client: TestClient, project: str) -> None:
    create(client, project, webhook("Moving", URL, "trigger:build:start"))
    response = client.post(f"{base(project)}/moving", json={"webhook": "http://192.168.1.1/"})
    assert_error(response, 400, "webhook")
    assert client.get(f"{base(project)}/moving").json()["data"]["webhook"] == SHOWN_URL


def test_a_host_with_a_nul_character_is_400(client: TestClient, project: str) -> None:
    refused = client.post(
        base(project),
        json=webhook("Nul", "http://hooks\u0000.example.com/x", "trigger:build:start"),
    )
    assert_error(refused, 400, "webhook")


def test_loopback_is_refused_unless_the_operator_allows_it(settings: Settings) -> None:
    strict = settings.model_copy(update={"fetch_allow": []})
    token = token_with(strict, *Permission)
    with TestClient(create_app(strict)) as other:
        other.headers["Authorization"] = f"Bearer {token}"
        assert other.post("/v1/projects", json={"name": "Strict"}).status_code == 200
        refused = other.post(base("strict"), json=webhook("Local", URL, "trigger:build:start"))
        assert_error(refused, 400, "webhook")
        assert "DOCKYARD_FETCH_ALLOW" in refused.json()["error"]["message"]


def test_permissions_and_unknown_ids(settings: Settings, client: TestClient, project: str) -> None:
    create(client, project, webhook("Guarded", URL, "trigger:build:start"))
    reader = {"Authorization": f"Bearer {token_with(settings, Permission.NOTIFICATIONS_READ)}"}
    guarded = f"{base(project)}/guarded"
    assert client.get(guarded, headers=reader).status_code == 200
    body = webhook("Other", URL, "trigger:build:start")
    assert_error(client.post(base(project), json=body, headers=reader), 403)
    assert_error(client.post(f"{guarded}/test", headers=reader), 403)
    assert_error(client.delete(guarded, headers=reader), 403)
    assert_error(client.get(base(project), headers={"Authorization": ""}), 401)
    assert_error(client.get(f"{base(project)}/nope"), 404)
    assert_error(client.get("/v1/projects/nope/notifications"), 404)
    assert_error(client.post(f"{base(project)}/nope/test"), 404)
    assert_error(client.post(f"{base(project)}/nope", json={}), 404)


def test_webhook_urls_are_sealed_and_reads_show_them_redacted(
    settings: Settings, client: TestClient, project: str
) -> None:
    slack = {**webhook("Chat", SLACK_URL, "trigger:build:start"), "type": "SLACK"}
    assert create(client, project, slack)["webhook"] == SLACK_URL  # the write gave it
    signed = f"http://user:hook-password-7@127.0.0.1:9/in?token={SLACK_TOKEN}x"
    assert create(client, project, webhook("Signed", signed, "trigger:build:start"))

    redacted = "http://127.0.0.1:9/services/T00/B00/*****"
    assert client.get(f"{base(project)}/chat").json()["data"]["webhook"] == redacted
    listed = client.get(base(project)).json()["data"]["notificationIntegrations"]
    assert {item["webhook"] for item in listed} == {
        redacted,
        "http://*****@127.0.0.1:9/*****?*****",
    }
    renamed = client.post(f"{base(project)}/chat", json={"name": "Chat Room"}).json()["data"]
    assert renamed["webhook"] == redacted  # the update did not give it: no echo
    moved = client.post(f"{base(project)}/chat", json={"webhook": f"{SLACK_URL}0"})
    assert moved.json()["data"]["webhook"] == f"{SLACK_URL}0"

    stored = stored_bytes(settings, "notification_integrations")
    assert b"T00/B00" in stored  # the redacted copy is there, the credentials are not
    assert SLACK_TOKEN.encode() not in stored and b"hook-password-7" not in stored
