"""Each route beyond create/read/update/delete of jobs and services behind the permission
that the spec pages (or the official SDK) name, and project scope: builds, runs, logs, CI
events, notifications and the secrets endpoints. The objects the routes act on are made
through the API: a queued build of a job and of a service, and a queued run of a job with an
external image (so no worker is needed), each answered 200 to the allowed token."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.helpers import (
    IMAGE_JOB,
    VCS_JOB,
    assert_needs_permission,
    created_id,
    minimal_job,
    minimal_service,
)
from tests.notifications.conftest import webhook

P = Permission
HOOK = webhook("Hook", "http://127.0.0.1:9/hook", "trigger:build:failure")
ENV = {"runtimeEnvironment": {"GREETING": "hello"}}
ARGS = {"buildArguments": {"VERSION": "1"}}

# (method, path under the project, body, the permission): {jobBuild}, {serviceBuild} and
# {run} name the queued build of vcs-job, of svc and the queued run of image-job.
ENDPOINTS: list[tuple[str, str, Any, Permission]] = [
    ("POST", "/jobs/vcs-job/build", {}, P.JOBS_DEPLOY_BUILD),
    ("GET", "/jobs/vcs-job/build", None, P.JOBS_READ),
    ("GET", "/jobs/vcs-job/build/{jobBuild}", None, P.JOBS_READ),
    ("DELETE", "/jobs/vcs-job/build/{jobBuild}", None, P.JOBS_DEPLOY_BUILD),
    ("POST", "/services/svc/build", {"branch": "main"}, P.SERVICES_DEPLOY_BUILD),
    ("GET", "/services/svc/build", None, P.SERVICES_READ),
    ("GET", "/services/svc/build/{serviceBuild}", None, P.SERVICES_READ),
    ("DELETE", "/services/svc/build/{serviceBuild}", None, P.SERVICES_DEPLOY_BUILD),
    ("GET", "/jobs/image-job/logs", None, P.JOBS_OBSERVE),
    ("GET", "/jobs/vcs-job/build-logs", None, P.JOBS_OBSERVE),
    ("GET", "/services/svc/build-logs", None, P.SERVICES_OBSERVE),
    ("POST", "/jobs/image-job/runs", {}, P.JOBS_RUN),
    ("GET", "/jobs/image-job/runs", None, P.JOBS_READ),
    ("GET", "/jobs/image-job/runs/{run}", None, P.JOBS_READ),
    ("DELETE", "/jobs/image-job/runs/{run}", None, P.JOBS_UPDATE),
    ("GET", "/jobs/vcs-job/ci-events", None, P.JOBS_READ),
    ("GET", "/services/svc/ci-events", None, P.SERVICES_READ),
    ("POST", "/notifications", HOOK | {"name": "Other Hook"}, P.NOTIFICATIONS_CREATE),
    ("GET", "/notifications", None, P.NOTIFICATIONS_READ),
    ("GET", "/notifications/hook", None, P.NOTIFICATIONS_READ),
    ("POST", "/notifications/hook", {"name": "Renamed"}, P.NOTIFICATIONS_UPDATE),
    ("DELETE", "/notifications/hook", None, P.NOTIFICATIONS_DELETE),
    ("GET", "/notifications/hook/deliveries", None, P.NOTIFICATIONS_READ),
    ("POST", "/notifications/hook/test", None, P.NOTIFICATIONS_UPDATE),
    ("GET", "/jobs/image-job/runtime-environment", None, P.JOB_SECRETS_READ),
    ("GET", "/jobs/image-job/runtime-environment/details", None, P.JOB_SECRETS_READ),
    ("POST", "/jobs/image-job/runtime-environment", ENV, P.JOB_SECRETS_UPDATE),
    ("GET", "/jobs/vcs-job/build-arguments", None, P.JOB_SECRETS_READ),
    ("GET", "/jobs/vcs-job/build-arguments/details", None, P.JOB_SECRETS_READ),
    ("POST", "/jobs/vcs-job/build-arguments", ARGS, P.JOB_SECRETS_UPDATE),
    ("GET", "/services/svc/build-arguments", None, P.SERVICE_SECRETS_READ),
    ("GET", "/services/svc/build-arguments/details", None, P.SERVICE_SECRETS_READ),
    ("POST", "/services/svc/build-arguments", ARGS, P.SERVICE_SECRETS_UPDATE),
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Notification targets on this machine are allowed (none is ever sent to)."""
    return settings.model_copy(update={"fetch_allow": ["127.0.0.0/8"]})


@pytest.fixture
def ids(client: TestClient, project: str) -> dict[str, str]:
    """The job, service, builds, run and notification the routes act on; the ids to fill in."""

    def post(path: str, body: dict[str, Any]) -> str:
        return created_id(client, project, path, body)

    post("/jobs/manual", minimal_job("VCS Job", **VCS_JOB))
    post("/jobs/manual", minimal_job("Image Job", **IMAGE_JOB))
    post("/services/build", minimal_service("Svc"))
    post("/notifications", HOOK)
    return {
        "jobBuild": post("/jobs/vcs-job/build", {}),
        "serviceBuild": post("/services/svc/build", {"branch": "main"}),
        "run": post("/jobs/image-job/runs", {}),
    }


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS)
def test_each_route_needs_its_permission_and_project(
    app_client: TestClient,
    settings: Settings,
    project: str,
    ids: dict[str, str],
    method: str,
    path: str,
    body: Any,
    permission: Permission,
) -> None:
    request = (method, path.format(**ids), body)
    assert_needs_permission(app_client, settings, project, request, permission)
