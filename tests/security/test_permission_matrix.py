"""Every route of the API against every single-permission token, on a project whose jobs,
build service, notification, webhook secret and registry credentials hold secret values: a
token answers 403 unless it holds the route's permission (`GET /v1/login` answers any valid
token), and no reply to any token (2xx ones included) carries a secret value unless the token
holds the secrets read permission; each route under a project is also refused to tokens of
another project and to an unknown token (`assert_needs_permission`). The table must name every
route the app serves, so a new route without an entry fails."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dockyard.app import create_app
from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import token_with
from tests.githttp import GitHttpServer
from tests.gitrepos import make_sample_repo
from tests.helpers import (
    IMAGE_JOB,
    REPOSITORY,
    VCS_JOB,
    assert_needs_permission,
    created_id,
    minimal_job,
    minimal_service,
    page_examples,
)
from tests.notifications.conftest import webhook

P = Permission
SECRET = f"matrix-secret-{uuid.uuid4().hex}"
HOOK_SECRET = f"matrix-hook-{uuid.uuid4().hex}"
WEBHOOK_SECRET = f"matrix-webhook-{uuid.uuid4().hex}"
VCS_TOKEN = f"matrix-vcs-{uuid.uuid4().hex}"
FILE = {"/etc/app/key": {"data": base64.b64encode(SECRET.encode()).decode()}}
MOUNT = {"npmrc": {"data": base64.b64encode(SECRET.encode()).decode()}}
JOB_SECRETS = {
    "runtimeEnvironment": {"TOKEN": SECRET},
    "runtimeFiles": FILE,
    "buildArguments": {"NPM_TOKEN": SECRET},
    "buildFiles": FILE,
    "dockerSecretMounts": MOUNT,
}
SERVICE_SECRETS = {"buildArguments": {"NPM_TOKEN": SECRET}, "buildFiles": FILE}
HOOK = webhook("Hook", "http://127.0.0.1:9/hook", "trigger:build:failure", secret=HOOK_SECRET)
SOURCE = page_examples("update-job-build-source.md")[0]
CRON = {"schedule": "*/5 * * * *"}
J = "/projects/{p}/jobs"
S = "/projects/{p}/services"
R = "/integrations/registries"
REGISTRY = {
    "name": "Matrix Registry",
    "provider": "custom",
    "registryUrl": "registry.example.test",
    "credentials": {"username": "u", "password": SECRET},
}
L = "/integrations/vcs/links"
N = "/integrations/notifications"
H = "/integrations/vcs/self-hosted"

# (method, path under /v1, body, the permission; None: any valid token). {p} is the
# project; {jobBuild}, {serviceBuild} and {run} the queued builds of vcs-job and svc and the
# queued run of image-job, {webhookSecret} the project's webhook secret (of VCS_JOB's repository).
# Deletes come last in each test: every route gets a fresh project.
ROUTES: list[tuple[str, str, Any, Permission | None]] = [
    ("GET", "/login", None, None),
    ("POST", "/projects", {"name": "Another"}, P.PROJECTS_CREATE),
    ("GET", "/projects", None, P.PROJECTS_READ),
    ("GET", "/projects/{p}", None, P.PROJECTS_READ),
    ("DELETE", "/projects/{p}?delete_child_objects=true", None, P.PROJECTS_DELETE),
    ("POST", f"{J}/manual", minimal_job("New Job", **JOB_SECRETS), P.JOBS_CREATE),
    ("PUT", f"{J}/manual", minimal_job("Image Job", **IMAGE_JOB, **JOB_SECRETS), P.JOBS_CREATE),
    ("PATCH", f"{J}/manual/image-job", {"description": "x"}, P.JOBS_UPDATE),
    ("POST", f"{J}/cron", minimal_job("New Cron", **CRON, **JOB_SECRETS), P.JOBS_CREATE),
    (
        "PUT",
        f"{J}/cron",
        minimal_job("Cron Job", **IMAGE_JOB, **CRON, **JOB_SECRETS),
        P.JOBS_CREATE,
    ),
    ("PATCH", f"{J}/cron/cron-job", {"description": "x"}, P.JOBS_UPDATE),
    ("POST", f"{J}/cron-job/suspend", {"suspended": True}, P.JOBS_UPDATE),
    ("GET", J, None, P.JOBS_READ),
    ("GET", f"{J}/vcs-job", None, P.JOBS_READ),
    ("DELETE", f"{J}/vcs-job", None, P.JOBS_DELETE),
    ("POST", f"{J}/vcs-job/build-source", SOURCE, P.JOBS_UPDATE),
    ("POST", f"{J}/vcs-job/build", {}, P.JOBS_DEPLOY_BUILD),
    ("GET", f"{J}/vcs-job/build", None, P.JOBS_READ),
    ("GET", f"{J}/vcs-job/build/{{jobBuild}}", None, P.JOBS_READ),
    ("DELETE", f"{J}/vcs-job/build/{{jobBuild}}", None, P.JOBS_DEPLOY_BUILD),
    ("POST", f"{J}/image-job/runs", {}, P.JOBS_RUN),
    ("GET", f"{J}/image-job/runs", None, P.JOBS_READ),
    ("GET", f"{J}/image-job/runs/{{run}}", None, P.JOBS_READ),
    ("DELETE", f"{J}/image-job/runs/{{run}}", None, P.JOBS_UPDATE),
    ("GET", f"{J}/vcs-job/ci-events", None, P.JOBS_READ),
    ("GET", f"{J}/image-job/logs", None, P.JOBS_OBSERVE),
    ("GET", f"{J}/vcs-job/build-logs", None, P.JOBS_OBSERVE),
    ("GET", f"{J}/image-job/metrics", None, P.JOBS_OBSERVE),
    ("GET", f"{J}/vcs-job/build-metrics", None, P.JOBS_OBSERVE),
    ("GET", f"{J}/image-job/runtime-environment", None, P.JOB_SECRETS_READ),
    ("GET", f"{J}/image-job/runtime-environment/details", None, P.JOB_SECRETS_READ),
    (
        "POST",
        f"{J}/image-job/runtime-environment",
        {"runtimeEnvironment": {"TOKEN": SECRET}},
        P.JOB_SECRETS_UPDATE,
    ),
    ("GET", f"{J}/vcs-job/build-arguments", None, P.JOB_SECRETS_READ),
    ("GET", f"{J}/vcs-job/build-arguments/details", None, P.JOB_SECRETS_READ),
    (
        "POST",
        f"{J}/vcs-job/build-arguments",
        {"buildArguments": {"NPM_TOKEN": SECRET}},
        P.JOB_SECRETS_UPDATE,
    ),
    ("POST", f"{S}/build", minimal_service("New Service", **SERVICE_SECRETS), P.SERVICES_CREATE),
    ("PUT", f"{S}/build", minimal_service("Svc", **SERVICE_SECRETS), P.SERVICES_CREATE),
    ("PATCH", f"{S}/build/svc", {"description": "x"}, P.SERVICES_UPDATE),
    ("GET", S, None, P.SERVICES_READ),
    ("GET", f"{S}/svc", None, P.SERVICES_READ),
    ("DELETE", f"{S}/svc", None, P.SERVICES_DELETE),
    ("POST", f"{S}/svc/build-source", SOURCE, P.SERVICES_UPDATE),
    ("POST", f"{S}/svc/build", {"branch": "main"}, P.SERVICES_DEPLOY_BUILD),
    ("GET", f"{S}/svc/build", None, P.SERVICES_READ),
    ("GET", f"{S}/svc/build/{{serviceBuild}}", None, P.SERVICES_READ),
    ("DELETE", f"{S}/svc/build/{{serviceBuild}}", None, P.SERVICES_DEPLOY_BUILD),
    ("DELETE", f"{S}/svc/build-cache", None, P.SERVICES_DEPLOY_BUILD),
    ("GET", f"{S}/svc/ci-events", None, P.SERVICES_READ),
    ("GET", f"{S}/svc/build-logs", None, P.SERVICES_OBSERVE),
    ("GET", f"{S}/svc/logs", None, P.SERVICES_OBSERVE),
    ("GET", f"{S}/svc/build-arguments", None, P.SERVICE_SECRETS_READ),
    ("GET", f"{S}/svc/build-arguments/details", None, P.SERVICE_SECRETS_READ),
    (
        "POST",
        f"{S}/svc/build-arguments",
        {"buildArguments": {"NPM_TOKEN": SECRET}},
        P.SERVICE_SECRETS_UPDATE,
    ),
    (
        "POST",
        "/projects/{p}/notifications",
        webhook("Other {p}", "http://127.0.0.1:9/hook", "trigger:build:failure"),
        P.NOTIFICATIONS_CREATE,
    ),
    ("GET", "/projects/{p}/notifications", None, P.NOTIFICATIONS_READ),
    ("GET", "/projects/{p}/notifications/{hook}", None, P.NOTIFICATIONS_READ),
    ("POST", "/projects/{p}/notifications/{hook}", {"name": "Renamed"}, P.NOTIFICATIONS_UPDATE),
    ("DELETE", "/projects/{p}/notifications/{hook}", None, P.NOTIFICATIONS_DELETE),
    ("GET", "/projects/{p}/notifications/{hook}/deliveries", None, P.NOTIFICATIONS_READ),
    ("POST", "/projects/{p}/notifications/{hook}/test", None, P.NOTIFICATIONS_UPDATE),
    (
        "POST",
        N,
        webhook("Team Other", "http://127.0.0.1:9/hook", "trigger:build:failure"),
        P.TEAM_NOTIFICATIONS_CREATE,
    ),
    ("GET", N, None, P.TEAM_NOTIFICATIONS_READ),
    ("GET", f"{N}/{{hook}}", None, P.TEAM_NOTIFICATIONS_READ),
    ("POST", f"{N}/{{hook}}", {"name": "Renamed"}, P.TEAM_NOTIFICATIONS_UPDATE),
    ("DELETE", f"{N}/{{hook}}", None, P.TEAM_NOTIFICATIONS_DELETE),
    ("GET", f"{N}/{{hook}}/deliveries", None, P.TEAM_NOTIFICATIONS_READ),
    ("POST", f"{N}/{{hook}}/test", None, P.TEAM_NOTIFICATIONS_UPDATE),
    (
        "POST",
        "/projects/{p}/webhook-secrets",
        {"repository": "https://git.example.test/acme/other"},
        P.PROJECTS_UPDATE,
    ),
    ("GET", "/projects/{p}/webhook-secrets", None, P.PROJECTS_READ),
    ("DELETE", "/projects/{p}/webhook-secrets/{webhookSecret}", None, P.PROJECTS_UPDATE),
    ("POST", R, REGISTRY, P.REGISTRIES_CREATE),
    ("GET", R, None, P.REGISTRIES_READ),
    ("GET", f"{R}/{{registry}}", None, P.REGISTRIES_READ),
    ("PATCH", f"{R}/{{registry}}", {"credentials": {"password": SECRET}}, P.REGISTRIES_UPDATE),
    ("DELETE", f"{R}/{{registry}}", None, P.REGISTRIES_DELETE),
    ("GET", "/integrations/vcs", None, P.VCS_READ),
    ("GET", L, None, P.VCS_READ),
    ("GET", "/integrations/vcs/repos?vcs_service=self-hosted", None, P.VCS_READ),
    ("POST", H, {"name": "Another Server", "vcsUrl": "https://git.another.test"}, P.VCS_CREATE),
    ("GET", H, None, P.VCS_READ),
    ("GET", f"{H}/{{selfHosted}}", None, P.VCS_READ),
    ("DELETE", f"{H}/{{selfHosted}}", None, P.VCS_DELETE),
    (
        "GET",
        "/integrations/vcs/repos/self-hosted/acme/app/branches?vcs_link_id={vcsLink}",
        None,
        P.VCS_READ,
    ),
    (
        "POST",
        L,
        {"name": "Another Link", "vcsService": "github", "login": "bot", "token": VCS_TOKEN},
        P.VCS_CREATE,
    ),
    ("PATCH", f"{L}/{{vcsLink}}", {"token": VCS_TOKEN}, P.VCS_UPDATE),
    ("POST", f"{L}/{{sshLink}}/rotate-key", None, P.VCS_UPDATE),
    ("PUT", f"{L}/{{sshLink}}/host-key", {"hostKey": None}, P.VCS_UPDATE),
    ("DELETE", f"{L}/{{vcsLink}}", None, P.VCS_DELETE),
    ("GET", "/tokens", None, P.TOKENS_READ),
    ("POST", "/tokens", {"name": "Made", "permissions": [P.TOKENS_CREATE.value]}, P.TOKENS_CREATE),
    ("GET", "/tokens/{token}", None, P.TOKENS_READ),
    ("DELETE", "/tokens/{token}", None, P.TOKENS_UPDATE),
    ("GET", "//metrics", None, P.METRICS_READ),
]
# A path starting `//` is served outside /v1 (at the rest of it).
OUTSIDE_V1 = "//"
# Routes without a token: health, and git webhooks (signed by the repository's secret).
UNAUTHENTICATED = {("GET", "/health"), ("GET", "/ready"), ("POST", "/v1/webhooks/{provider}")}
SECRETS_READERS = {P.JOB_SECRETS_READ, P.SERVICE_SECRETS_READ}


def template(path: str) -> str:
    """A table path in the app's own form (`{projectId}`, `{jobId}` ...), for the coverage."""
    names = {
        "p": "projectId",
        "jobBuild": "buildId",
        "serviceBuild": "buildId",
        "run": "runId",
        "webhookSecret": "webhookSecretId",
        "registry": "credentialId",
        "vcsLink": "linkId",
        "sshLink": "linkId",
        "hook": "notificationId",
        "selfHosted": "selfHostedVcsId",
        "token": "tokenId",
    }
    path = re.sub(r"\{(\w+)\}", lambda m: "{" + names[m[1]] + "}", path.partition("?")[0])
    path = re.sub(r"(?<=/)(vcs-job|image-job|cron-job)", "{jobId}", path)
    path = re.sub(r"(?<=/services/)svc(?=/|$)", "{serviceId}", path)
    path = re.sub(r"(?<=/services/build/)svc", "{serviceId}", path)
    path = path.replace(
        "/repos/self-hosted/acme/app/", "/repos/{vcsService}/{repositoryOwner}/{repositoryName}/"
    )
    return path.removeprefix("/") if path.startswith(OUTSIDE_V1) else f"/v1{path}"


def url_of(path: str, ids: dict[str, str]) -> str:
    filled_in = path.format(**ids)
    return filled_in.removeprefix("/") if path.startswith(OUTSIDE_V1) else "/v1" + filled_in


def test_the_table_names_every_route_of_the_app(settings: Settings) -> None:
    served = {
        (method.upper(), path)
        for path, operations in create_app(settings).openapi()["paths"].items()
        if not path.startswith(("/v1/teams/", "/ui"))
        for method in operations
    }
    named = {(method, template(path)) for method, path, _, _ in ROUTES}
    assert served - UNAUTHENTICATED - named == set()
    assert named - served == set()


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, TestClient]]:
    """One installation for the whole table, each route on a project of its own. On SQLite
    only: who may do what does not depend on the database. Notification targets on this
    machine are allowed (none is ever sent to)."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("matrix") / "data",
        registry="127.0.0.1:1",
        registry_autostart=False,
        fetch_allow=["127.0.0.0/8"],
    )
    with TestClient(create_app(settings)) as client:
        yield settings, client


@pytest.fixture(scope="module")
def tokens(installation: tuple[Settings, TestClient]) -> dict[Permission, str]:
    """A token of each single permission, for every project."""
    return {permission: token_with(installation[0], permission) for permission in Permission}


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    """A private git server the VCS links reach (the branches route asks it)."""
    root = tmp_path_factory.mktemp("matrix-git")
    make_sample_repo(root)
    with GitHttpServer(root, {"matrix": VCS_TOKEN}) as server:
        yield server


@pytest.fixture
def settings(installation: tuple[Settings, TestClient]) -> Settings:
    return installation[0]


@pytest.fixture
def app_client(installation: tuple[Settings, TestClient]) -> TestClient:
    return installation[1]


@pytest.fixture
def project(client: TestClient) -> str:
    response = client.post("/v1/projects", json={"name": f"Matrix {uuid.uuid4().hex[:12]}"})
    assert response.status_code == 200, response.text
    project_id: str = response.json()["data"]["id"]
    return project_id


@pytest.fixture
def ids(client: TestClient, project: str, git_server: GitHttpServer) -> dict[str, str]:
    """The secret-holding objects the routes act on; the ids to fill into the paths."""

    def post(path: str, body: dict[str, Any]) -> str:
        return created_id(client, project, path, body)

    post("/jobs/manual", minimal_job("VCS Job", **VCS_JOB, **JOB_SECRETS))
    post("/jobs/manual", minimal_job("Image Job", **IMAGE_JOB, **JOB_SECRETS))
    post("/jobs/cron", minimal_job("Cron Job", **IMAGE_JOB, **CRON, **JOB_SECRETS))
    post("/services/build", minimal_service("Svc", **SERVICE_SECRETS))
    hook = post("/notifications", HOOK | {"name": f"Hook {project}"})  # ids are the team's
    webhook_secret = {"repository": REPOSITORY["projectUrl"], "secret": WEBHOOK_SECRET}
    registry = client.post(
        "/v1/integrations/registries", json=REGISTRY | {"name": f"Registry {project}"}
    )
    assert registry.status_code == 200, registry.text
    link = {
        "name": f"Matrix {project}",
        "vcsService": "self-hosted",
        "vcsUrl": git_server.url,
        "login": "matrix",
        "token": VCS_TOKEN,
    }
    created = client.post("/v1/integrations/vcs/links", json=link)
    assert created.status_code == 200, created.text
    ssh = {"name": f"Matrix Ssh {project}", "kind": "ssh", "vcsService": "github", "login": "git"}
    ssh_link = client.post("/v1/integrations/vcs/links", json=ssh)
    assert ssh_link.status_code == 200, ssh_link.text
    server = {"name": f"Server {project}", "vcsUrl": "https://git.matrix.test"}
    record = client.post("/v1/integrations/vcs/self-hosted", json=server)
    assert record.status_code == 200, record.text
    token = client.post("/v1/tokens", json={"name": project, "permissions": [P.JOBS_READ.value]})
    assert token.status_code == 200, token.text
    return {
        "sshLink": ssh_link.json()["data"]["vcsLinkId"],
        "selfHosted": record.json()["data"]["selfHostedVcsId"],
        "token": token.json()["data"]["id"],
        "registry": registry.json()["data"]["id"],
        "vcsLink": created.json()["data"]["vcsLinkId"],
        "p": project,
        "hook": hook,
        "jobBuild": post("/jobs/vcs-job/build", {}),
        "serviceBuild": post("/services/svc/build", {"branch": "main"}),
        "run": post("/jobs/image-job/runs", {}),
        "webhookSecret": post("/webhook-secrets", webhook_secret),
    }


def filled(body: Any, ids: dict[str, str]) -> Any:
    """The body with the ids in its `name` (a notification's name, whose id is the team's,
    differs in each project)."""
    if isinstance(body, dict) and "{" in str(body.get("name", "")):
        return body | {"name": body["name"].format(**ids)}
    return body


def leaked(reply: Any) -> list[str]:
    text = reply.text
    return [value for value in (SECRET, HOOK_SECRET, WEBHOOK_SECRET, VCS_TOKEN) if value in text]


@pytest.mark.parametrize(
    ("method", "path", "body", "permission"),
    ROUTES,
    ids=[f"{method} {path}" for method, path, _, _ in ROUTES],
)
def test_each_single_permission_token_on_the_route(
    app_client: TestClient,
    tokens: dict[Permission, str],
    ids: dict[str, str],
    method: str,
    path: str,
    body: Any,
    permission: Permission | None,
) -> None:
    url = url_of(path, ids)
    others = [other for other in Permission if other is not permission]
    for other in [*others, *([permission] if permission else [])]:  # the allowed one last
        headers = {"Authorization": f"Bearer {tokens[other]}"}
        reply = app_client.request(method, url, json=filled(body, ids), headers=headers)
        expected = {200} if permission in (None, other) else {403}
        assert reply.status_code in expected, (other.value, reply.text)
        assert VCS_TOKEN not in reply.text  # shown to no one
        if other not in SECRETS_READERS:
            assert leaked(reply) == [], (other.value, json.dumps(reply.json())[:2000])


PROJECT_ROUTES = [route for route in ROUTES if route[1].startswith("/projects/{p}")]


@pytest.mark.parametrize(
    ("method", "path", "body", "permission"),
    PROJECT_ROUTES,
    ids=[f"{method} {path}" for method, path, _, _ in PROJECT_ROUTES],
)
def test_each_project_route_needs_its_permission_and_project(
    app_client: TestClient,
    settings: Settings,
    ids: dict[str, str],
    method: str,
    path: str,
    body: Any,
    permission: Permission,
) -> None:
    under_project = path.format(**ids).removeprefix(f"/projects/{ids['p']}")
    assert_needs_permission(
        app_client, settings, ids["p"], (method, under_project, filled(body, ids)), permission
    )
