"""The official `northflank` Python SDK, configured only by base URL and token, manages the
team's notification integrations on a live dockyard (create, list, get, update, delete), each
answer parsing into the SDK's own types; the secret is never read back."""

from __future__ import annotations

import pytest
from northflank import ApiCallError, ApiClient

from tests.conformance.sdk_types import checked, checked_all

SECRET = "sdk-notification-secret"


def test_the_sdk_manages_notification_integrations(sdk: ApiClient) -> None:
    project = checked(sdk.create.project, data={"name": "SDK Notifications"})["id"]
    created = checked(
        sdk.create.notification,
        notification_id="",  # the generated call asks for it; the create route has none
        data={
            "name": "SDK Alerts",
            "type": "RAW_WEBHOOK",
            "webhook": "http://127.0.0.1:9/hook",
            "secret": SECRET,
            "events": {"trigger:build:failure": True, "trigger:job-run:failure": True},
            "projects": [project],
        },
    )
    assert created["id"] == "sdk-alerts" and created["restricted"] is True
    assert created["projects"] == [project]
    assert created["events"]["trigger:build:failure"] is True

    listed = checked_all(sdk.list.notifications)
    assert [item["id"] for item in listed["notificationIntegrations"]] == ["sdk-alerts"]
    got = checked(sdk.get.notification, notification_id="sdk-alerts")
    assert got["name"] == "SDK Alerts" and "secret" not in got
    assert SECRET not in str(listed) + str(got)

    sdk.update.notification(
        notification_id="sdk-alerts",
        data={"name": "SDK Alerts Everywhere", "restricted": False, "projects": []},
    )
    updated = checked(sdk.get.notification, notification_id="sdk-alerts")
    assert updated["name"] == "SDK Alerts Everywhere"
    assert updated["restricted"] is False and updated["projects"] == []
    assert updated["events"]["trigger:job-run:failure"] is True

    sdk.delete.notification(notification_id="sdk-alerts")
    with pytest.raises(ApiCallError) as gone:
        sdk.get.notification(notification_id="sdk-alerts")
    assert gone.value.status == 404
