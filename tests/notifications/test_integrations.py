"""The team's notification integrations under /v1/integrations/notifications: unrestricted
(every project, those created later too) or restricted to projects; each project's routes
show those restricted to it; the outbox chooses by project, and real webhooks arrive where
the restrictions say; project deletion; permissions and bad input."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import assert_error, token_with
from tests.helpers import VCS_JOB, minimal_job
from tests.notifications.conftest import webhook
from tests.notifications.receiver import Receiver
from tests.notifications.test_log_access import fail_build
from tests.notifications.test_sender import drive

N = "/v1/integrations/notifications"
URL = "http://127.0.0.1:9/hook"
FAILURE = "trigger:build:failure"
REPLY_KEYS = {
    "createdAt",
    "events",
    "id",
    "name",
    "projects",
    "restricted",
    "restrictions",
    "status",
    "type",
    "updatedAt",
    "webhook",
}


def created(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = client.post(path, json=body)
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


def new_project(client: TestClient, name: str) -> str:
    return str(created(client, "/v1/projects", {"name": name})["id"])


def test_the_team_routes_create_list_get_update_and_delete(
    client: TestClient, project: str
) -> None:
    everywhere = created(client, N, webhook("Everywhere", URL, FAILURE, secret="s" * 20))
    assert set(everywhere) == REPLY_KEYS | {"secret"}
    assert everywhere["restricted"] is False and everywhere["projects"] == []
    assert everywhere["status"]["disabled"] is False
    only = created(client, N, webhook("Only Here", URL, FAILURE, projects=[project]))
    assert only["restricted"] is True and only["projects"] == [project]
    assert only["restrictions"] == {"projects": [project], "jobs": [], "services": []}

    listed = client.get(N).json()["data"]["notificationIntegrations"]
    assert [item["id"] for item in listed] == ["everywhere", "only-here"]
    assert all("secret" not in item for item in listed)
    got = client.get(f"{N}/everywhere").json()["data"]
    assert set(got) == REPLY_KEYS and got["webhook"] == "http://127.0.0.1:9/*****"

    other = new_project(client, "Other Project")
    moved = client.post(f"{N}/only-here", json={"restrictions": {"projects": [project, other]}})
    assert moved.status_code == 200, moved.text
    assert sorted(moved.json()["data"]["projects"]) == sorted([project, other])
    lifted = client.post(f"{N}/only-here", json={"restricted": False}).json()["data"]
    assert lifted["restricted"] is False and lifted["projects"] == []
    again = client.post(f"{N}/only-here", json={"projects": [other]}).json()["data"]
    assert again["restricted"] is True and again["projects"] == [other]
    assert client.delete(f"{N}/only-here").status_code == 200
    assert_error(client.get(f"{N}/only-here"), 404, "notificationId")


def everywhere_and_both(client: TestClient, project: str) -> str:
    """Another project, and two integrations: one unrestricted, one restricted to both."""
    other = new_project(client, "Other Project")
    created(client, N, webhook("Everywhere", URL, FAILURE))
    created(client, N, webhook("Both", URL, FAILURE, projects=[project, other]))
    return other


def test_a_projects_routes_are_its_restricted_integrations(
    client: TestClient, project: str
) -> None:
    other = everywhere_and_both(client, project)
    created(client, N, webhook("Elsewhere", URL, FAILURE, projects=[other]))
    alias = created(client, f"/v1/projects/{project}/notifications", webhook("Mine", URL, FAILURE))
    assert alias["restricted"] is True and alias["projects"] == [project]

    under = client.get(f"/v1/projects/{project}/notifications").json()["data"]
    assert [item["id"] for item in under["notificationIntegrations"]] == ["both", "mine"]
    assert client.get(f"{N}/mine").json()["data"]["projects"] == [project]
    assert_error(client.get(f"/v1/projects/{project}/notifications/elsewhere"), 404)
    assert_error(client.get(f"/v1/projects/{project}/notifications/everywhere"), 404)
    # An update under the project keeps it restricted to the project.
    renamed = client.post(
        f"/v1/projects/{project}/notifications/mine", json={"name": "Mine Too", "restricted": False}
    )
    assert renamed.json()["data"]["projects"] == [project], renamed.text
    assert renamed.json()["data"]["restricted"] is True
    test = client.post(f"{N}/mine/test")
    assert test.status_code == 200, test.text
    assert [d["id"] for d in client.get(f"{N}/mine/deliveries").json()["data"]["deliveries"]] == [
        test.json()["data"]["id"]
    ]


def hook(receiver: Receiver, name: str, **fields: Any) -> dict[str, Any]:
    return webhook(name, f"{receiver.url}/{name.lower().replace(' ', '-')}", FAILURE, **fields)


def failed_build(client: TestClient, project: str) -> str:
    base = f"/v1/projects/{project}"
    assert client.post(f"{base}/jobs/manual", json=minimal_job(**VCS_JOB)).status_code == 200
    build = client.post(f"{base}/jobs/minimal-job/build", json={})
    assert build.status_code == 200, build.text
    return str(build.json()["data"]["id"])


def test_deliveries_go_where_the_restrictions_say(
    client: TestClient, project: str, settings: Settings, receiver: Receiver
) -> None:
    other = new_project(client, "Other Project")
    created(client, N, hook(receiver, "Everywhere"))
    created(client, N, hook(receiver, "Only Here", projects=[project]))
    created(client, N, hook(receiver, "Only There", restrictions={"projects": [other]}))
    created(client, f"/v1/projects/{project}/notifications", hook(receiver, "Alias"))

    here = fail_build(settings, failed_build(client, project))
    assert set(here) == {"everywhere", "only-here", "alias"}
    later = new_project(client, "Later Project")  # an unrestricted integration hears it too
    there = fail_build(settings, failed_build(client, later))
    assert set(there) == {"everywhere"}

    received = receiver.received
    drive(settings, lambda: len(received) >= 4)
    paths = sorted(r.path.removeprefix("/hook/") for r in received)
    assert paths == ["alias", "everywhere", "everywhere", "only-here"]
    assert {r.json()["projectId"] for r in received} == {project, later}


def test_deleting_a_project_takes_its_own_integrations_along(
    client: TestClient, project: str
) -> None:
    other = everywhere_and_both(client, project)
    created(client, f"/v1/projects/{other}/notifications", webhook("Theirs", URL, FAILURE))
    assert client.delete(f"/v1/projects/{other}").status_code == 200
    listed = client.get(N).json()["data"]["notificationIntegrations"]
    assert [item["id"] for item in listed] == ["everywhere", "both"]
    both = client.get(f"{N}/both").json()["data"]
    assert both["projects"] == [project] and both["restricted"] is True


BAD_TEAM_BODIES = [
    (webhook("Nowhere", URL, FAILURE, projects=["no-such-project"]), "projects[0]"),
    (
        webhook("Nowhere", URL, FAILURE, restrictions={"projects": ["no-such-project"]}),
        "restrictions.projects[0]",
    ),
    (webhook("Bad Id", URL, FAILURE, projects=["Not An Id"]), "projects[0]"),
    (webhook("Contradiction", URL, FAILURE, restricted=False, projects=["x"]), "restricted"),
    (webhook("Nothing", URL, FAILURE, restricted=True), "restrictions"),
    (webhook("Bad Type", URL, FAILURE, type="TEAMS"), "type"),
]


def test_bad_bodies_are_400_naming_the_field(client: TestClient, project: str) -> None:
    for body, field in BAD_TEAM_BODIES:
        assert_error(client.post(N, json=body), 400, field)
    assert client.get(N).json()["data"]["notificationIntegrations"] == []
    under = f"/v1/projects/{project}/notifications"
    assert_error(client.post(under, json=webhook("X1", URL, FAILURE, projects=[project])), 400)
    created(client, under, webhook("Mine", URL, FAILURE))
    moved = client.post(f"{under}/mine", json={"restrictions": {"projects": [project]}})
    assert_error(moved, 400, "restrictions.projects")
    created(client, N, webhook("Team", URL, FAILURE))
    assert_error(client.post(f"{N}/team", json={"projects": ["no-such-project"]}), 400)
    # ids are the team's: a project cannot take a name another integration has
    assert_error(client.post(under, json=webhook("Team", URL, FAILURE)), 409)


def test_team_routes_need_account_permissions_and_a_whole_account_token(
    app_client: TestClient, settings: Settings, client: TestClient, project: str
) -> None:
    created(client, N, webhook("Guarded", URL, FAILURE))

    def as_token(*held: Permission, projects: list[str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_with(settings, *held, projects=projects)}"}

    reader = as_token(Permission.TEAM_NOTIFICATIONS_READ)
    assert app_client.get(f"{N}/guarded", headers=reader).status_code == 200
    assert_error(app_client.post(N, json=webhook("X1", URL, FAILURE), headers=reader), 403)
    assert_error(app_client.post(f"{N}/guarded/test", headers=reader), 403)
    limited = as_token(Permission.TEAM_NOTIFICATIONS_READ, projects=[project])
    assert_error(app_client.get(N, headers=limited), 403)
    project_reader = as_token(Permission.NOTIFICATIONS_READ)
    assert_error(app_client.get(N, headers=project_reader), 403)
    assert app_client.get(f"/v1/projects/{project}/notifications", headers=project_reader)
