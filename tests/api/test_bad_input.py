"""Malformed requests across every endpoint get the documented 4xx, in the error envelope, and
write nothing.

One row per request: bad JSON, wrong content types, bodies over the limit, deep nesting, unicode
where names allow only ASCII, oneOf bodies naming two branches, negative and out-of-range
numbers, ids of another project (403 for a token limited to one project, 404 for ids that are
not the project's), unknown ids (404), missing or bad tokens (401), tokens without the
permission (403), bad pagination and log queries, and webhooks with a bad signature or payload.
Each row asserts the status, the envelope (via `assert_error`), the field path `details` names
for a validation error, and that every table of the database holds exactly the rows it held
before (count and digest per table).

The rows run against one seeded app per database (SQLite, and PostgreSQL where one is set up):
see tests/api/worlds.py for what it holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.api.worlds import (
    SHA,
    WEBHOOK_SECRET,
    World,
    open_world,
    served_operations,
    world_settings,
)
from tests.conftest import POSTGRES_URL, assert_error, postgres_database
from tests.helpers import REPOSITORY, minimal_job, minimal_service

A = "/v1/projects/alpha"
B = "/v1/projects/beta"
JOB = f"{A}/jobs/alpha-job"
SERVICE = f"{A}/services/alpha-service"
NO_BODY = object()
REGISTRIES = "/v1/integrations/registries"
NOTIFICATIONS = "/v1/integrations/notifications"
REGISTRY = {
    "name": "Fresh Registry",
    "provider": "custom",
    "registryUrl": "registry.example.test",
    "credentials": {"username": "u", "password": "p"},
}
MB = 1024 * 1024
SELF_HOSTED = "/v1/integrations/vcs/self-hosted"
REPOS = "/v1/integrations/vcs/repos"
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Bad:
    """A request and what it must get. `path` may name the seeded ids ({alpha_job_build},
    {beta_run}, ...); `token` names one of the world's tokens (None: no Authorization header);
    `body` is sent as JSON, `raw` as these bytes with `content_type` (`chunked`: streamed)."""

    method: str
    path: str
    status: int
    field: str | None = None
    body: Any = NO_BODY
    raw: bytes | None = None
    content_type: str | None = JSON_TYPE
    chunked: bool = False
    token: str | None = "admin"
    params: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


def row(
    case_id: str, method: str, path: str, status: int, field: str | None = None, **kw: Any
) -> Any:
    marks = kw.pop("marks", ())
    return pytest.param(Bad(method, path, status, field, **kw), id=case_id, marks=marks)


def job(**fields: Any) -> dict[str, Any]:
    return minimal_job("Fresh Job", **fields)


def cron_job(**fields: Any) -> dict[str, Any]:
    return minimal_job("Fresh Cron Job", **({"schedule": "*/5 * * * *"} | fields))


def service(**fields: Any) -> dict[str, Any]:
    return minimal_service("Fresh Service", **fields)


def deep_list(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> dict[str, Any]:
    """{"a": {"a": ... "x"}}, `depth` objects deep."""
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return dict(value)


def signed(
    body: dict[str, Any] | bytes,
    header: str = "X-Dockyard-Signature-256",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`raw` and `headers` of a webhook delivery (no token) signed with the world's secret."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return {"raw": raw, "headers": (headers or {}) | {header: signature}, "token": None}


def cursor_after(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": value}).encode()).decode().rstrip("=")


VCS = REPOSITORY | {"projectType": "github", "projectBranch": "main"}
EXTERNAL = {"imagePath": "local/busybox:1"}
FILE = {"data": "aGVsbG8=", "encoding": "utf-8"}
HEALTH = {
    "protocol": "TCP",
    "type": "livenessProbe",
    "port": 8080,
    "initialDelaySeconds": 10,
    "periodSeconds": 60,
    "timeoutSeconds": 1,
    "failureThreshold": 3,
}
DOCKERFILE = {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}}
BUILDPACK = {"buildpack": {"builder": "HEROKU_24"}}
GENERIC = {"deliveryId": "d-1", "repository": "https://github.com/acme/app", "branch": "main"}
NOTIFICATION = {
    "name": "Build Alerts",
    "type": "RAW_WEBHOOK",
    "webhook": "https://hooks.example.test/dockyard",
    "events": {"trigger:build:failure": True},
}
VCS_LINK = {
    "name": "Acme GitHub",
    "vcsService": "github",
    "login": "acme-bot",
    "token": "ghp_exampletoken",
}
SSH_LINK = {
    "name": "Acme Deploy Key",
    "kind": "ssh",
    "vcsService": "self-hosted",
    "vcsUrl": "ssh://git.example.test:2222",
    "login": "git",
}
PUSH = {
    "ref": "refs/heads/main",
    "after": SHA,
    "repository": {"clone_url": REPOSITORY["projectUrl"]},
}

TABLE = [
    # ---- tokens: missing, unknown, expired → 401; lacking the permission → 403 ---------------
    row("no-token-list-projects", "GET", "/v1/projects", 401, token=None),
    row("no-token-create-job", "POST", f"{A}/jobs/manual", 401, body=job(), token=None),
    row("no-token-create-cron-job", "POST", f"{A}/jobs/cron", 401, body=cron_job(), token=None),
    row("no-token-abort-run", "DELETE", f"{JOB}/runs/{{alpha_run}}", 401, token=None),
    row("unknown-token", "GET", f"{A}/jobs", 401, token="unknown"),
    row("expired-token", "POST", f"{JOB}/build", 401, body={"sha": SHA}, token="expired"),
    row(
        "basic-auth-header",
        "GET",
        "/v1/projects",
        401,
        token=None,
        headers={"Authorization": "Basic YWRtaW46YWRtaW4="},
    ),
    # GET /v1/login answers any valid token, whatever it holds, and only those
    row("no-token-login", "GET", "/v1/login", 401, token=None),
    row("unknown-token-login", "GET", "/v1/login", 401, token="unknown"),
    row("expired-token-login", "GET", "/v1/login", 401, token="expired"),
    row("no-permission-list-projects", "GET", "/v1/projects", 403, token="none"),
    row("no-permission-create-job", "POST", f"{A}/jobs/manual", 403, body=job(), token="none"),
    row("no-permission-put-cron-job", "PUT", f"{A}/jobs/cron", 403, body=cron_job(), token="none"),
    row(
        "no-permission-suspend-cron-job",
        "PATCH",
        f"{A}/jobs/cron/alpha-job",
        403,
        body={"suspended": True},
        token="none",
    ),
    row(
        "no-permission-suspend-job",
        "POST",
        f"{A}/jobs/alpha-job/suspend",
        403,
        body={"suspended": True},
        token="none",
    ),
    row("no-permission-delete-job", "DELETE", JOB, 403, token="none"),
    row("no-permission-start-build", "POST", f"{JOB}/build", 403, body={}, token="none"),
    row("no-permission-start-run", "POST", f"{JOB}/runs", 403, body={}, token="none"),
    row("no-permission-secrets", "GET", f"{JOB}/runtime-environment", 403, token="none"),
    row(
        "no-permission-create-service",
        "POST",
        f"{A}/services/build",
        403,
        body=service(),
        token="none",
    ),
    row(
        "no-permission-argument-names",
        "GET",
        f"{SERVICE}/build-arguments/details",
        403,
        token="none",
    ),
    row("no-permission-logs", "GET", f"{SERVICE}/build-logs", 403, token="none"),
    # ---- ids of another project -----------------------------------------------------------
    # A token limited to alpha gets 403 on beta's routes (existing or not) ...
    row("other-project-get", "GET", B, 403, token="alpha"),
    row("other-project-delete", "DELETE", B, 403, token="alpha"),
    row(
        "other-project-create",
        "POST",
        "/v1/projects",
        403,
        body={"name": "Beta Two"},
        token="alpha",
    ),
    row("other-project-missing", "GET", "/v1/projects/gamma/jobs", 403, token="alpha"),
    row("other-project-job", "GET", f"{B}/jobs/beta-job", 403, token="alpha"),
    row(
        "other-project-patch-job", "PATCH", f"{B}/jobs/manual/beta-job", 403, body={}, token="alpha"
    ),
    row(
        "other-project-patch-cron-job",
        "PATCH",
        f"{B}/jobs/cron/beta-job",
        403,
        body={"suspended": True},
        token="alpha",
    ),
    row("other-project-delete-service", "DELETE", f"{B}/services/beta-service", 403, token="alpha"),
    row(
        "other-project-start-build", "POST", f"{B}/jobs/beta-job/build", 403, body={}, token="alpha"
    ),
    row(
        "other-project-abort-build",
        "DELETE",
        f"{B}/jobs/beta-job/build/{{beta_job_build}}",
        403,
        token="alpha",
    ),
    row("other-project-start-run", "POST", f"{B}/jobs/beta-job/runs", 403, body={}, token="alpha"),
    row("other-project-run", "GET", f"{B}/jobs/beta-job/runs/{{beta_run}}", 403, token="alpha"),
    row(
        "other-project-secrets",
        "POST",
        f"{B}/jobs/beta-job/runtime-environment",
        403,
        body={"runtimeEnvironment": {}},
        token="alpha",
    ),
    row("other-project-logs", "GET", f"{B}/jobs/beta-job/logs", 403, token="alpha"),
    row(
        "other-project-team-alias",
        "GET",
        "/v1/teams/dockyard/projects/beta/services",
        403,
        token="alpha",
    ),
    # ... and beta's ids under alpha's routes are unknown there: 404.
    row("beta-job-under-alpha", "GET", f"{A}/jobs/beta-job", 404),
    row("beta-job-patch-under-alpha", "PATCH", f"{A}/jobs/manual/beta-job", 404, body={}),
    row("beta-job-cron-patch-under-alpha", "PATCH", f"{A}/jobs/cron/beta-job", 404, body={}),
    row("beta-build-under-alpha", "GET", f"{JOB}/build/{{beta_job_build}}", 404),
    row("beta-build-abort-under-alpha", "DELETE", f"{SERVICE}/build/{{beta_service_build}}", 404),
    row("beta-service-build-under-alpha", "GET", f"{SERVICE}/build/{{beta_service_build}}", 404),
    row("beta-run-under-alpha", "GET", f"{JOB}/runs/{{beta_run}}", 404),
    row("beta-run-abort-under-alpha", "DELETE", f"{JOB}/runs/{{beta_run}}", 404),
    row("service-build-under-job", "GET", f"{JOB}/build/{{alpha_service_build}}", 404),
    row(
        "run-of-beta-service",
        "POST",
        f"{JOB}/runs",
        404,
        "deployment.internal.id",
        body={"deployment": {"internal": {"id": "beta-service"}}},
    ),
    # ---- unknown ids → 404 ------------------------------------------------------------------
    row("unknown-project", "GET", "/v1/projects/gamma", 404),
    row("unknown-project-delete", "DELETE", "/v1/projects/gamma", 404),
    row("unknown-project-jobs", "GET", "/v1/projects/gamma/jobs", 404),
    row("unknown-project-create-job", "POST", "/v1/projects/gamma/jobs/manual", 404, body=job()),
    row("unknown-job", "GET", f"{A}/jobs/nope", 404),
    row("unknown-job-delete", "DELETE", f"{A}/jobs/nope", 404),
    row("unknown-job-patch", "PATCH", f"{A}/jobs/manual/nope", 404, body={"backoffLimit": 1}),
    row(
        "unknown-project-create-cron-job",
        "POST",
        "/v1/projects/gamma/jobs/cron",
        404,
        body=cron_job(),
    ),
    row("unknown-cron-job-patch", "PATCH", f"{A}/jobs/cron/nope", 404, body={"suspended": True}),
    row(
        "unknown-job-build-source",
        "POST",
        f"{A}/jobs/nope/build-source",
        404,
        body={"projectBranch": "main"},
    ),
    row("unknown-job-build", "POST", f"{A}/jobs/nope/build", 404, body={"sha": SHA}),
    row("unknown-build", "GET", f"{JOB}/build/nope-nope-1", 404),
    row("unknown-build-abort", "DELETE", f"{JOB}/build/nope-nope-1", 404),
    row("unknown-job-run", "POST", f"{A}/jobs/nope/runs", 404, body={}),
    row("unknown-run", "GET", f"{JOB}/runs/nope-nope-1", 404),
    row("unknown-run-abort", "DELETE", f"{JOB}/runs/nope-nope-1", 404),
    row("unknown-service", "GET", f"{A}/services/nope", 404),
    row("unknown-service-patch", "PATCH", f"{A}/services/build/nope", 404, body={}),
    row("unknown-service-build", "POST", f"{A}/services/nope/build", 404, body={"branch": "main"}),
    row("unknown-service-cache", "DELETE", f"{A}/services/nope/build-cache", 404),
    row("unknown-service-ci-events", "GET", f"{A}/services/nope/ci-events", 404),
    row("unknown-service-arguments", "POST", f"{A}/services/nope/build-arguments", 404, body={}),
    row("unknown-job-secrets", "GET", f"{A}/jobs/nope/runtime-environment/details", 404),
    row("unknown-job-argument-names", "GET", f"{A}/jobs/nope/build-arguments/details", 404),
    row("unknown-job-logs", "GET", f"{A}/jobs/nope/logs", 404),
    row("unknown-team", "GET", "/v1/teams/elsewhere/projects", 404, "teamId"),
    row("unknown-route", "POST", "/v1/projects/alpha/everything", 404, body={}),
    row("slash-in-id", "GET", f"{A}/jobs/alpha%2Fjob", 404),
    row("wrong-method", "PUT", A, 405, body={}),
    # ---- conflicts → 409 ----------------------------------------------------------------------
    row("project-name-taken", "POST", "/v1/projects", 409, body={"name": "Alpha"}),
    row("job-name-taken", "POST", f"{A}/jobs/manual", 409, body=minimal_job("Alpha Job")),
    row(
        "cron-job-name-taken",
        "POST",
        f"{A}/jobs/cron",
        409,
        body=minimal_job("Alpha Job", schedule="@daily"),
    ),
    row("cron-patch-of-manual-job", "PATCH", f"{A}/jobs/cron/alpha-job", 409, body={}),
    row("suspend-of-manual-job", "POST", f"{A}/jobs/alpha-job/suspend", 409, body={}),
    row("unknown-job-suspend", "POST", f"{A}/jobs/nope/suspend", 404, body={}),
    row(
        "suspend-not-a-boolean",
        "POST",
        f"{A}/jobs/alpha-job/suspend",
        400,
        "suspended",
        body={"suspended": "yes"},
    ),
    row(
        "service-name-taken",
        "POST",
        f"{A}/services/build",
        409,
        body=minimal_service("alpha service"),
    ),
    row("project-with-children", "DELETE", A, 409),
    row("run-without-image", "POST", f"{A}/jobs/alpha-bare-job/runs", 409, body={}),
    row("build-without-git", "POST", f"{A}/jobs/alpha-bare-job/build", 409, body={}),
    row(
        "run-of-unbuilt-job",
        "POST",
        f"{JOB}/runs",
        409,
        body={"deployment": {"internal": {"id": "alpha-job"}}},
    ),
    row(
        "run-unknown-plan",
        "POST",
        f"{JOB}/runs",
        409,
        body={
            "billing": {"deploymentPlan": "nf-compute-9999"},
            "deployment": {"external": EXTERNAL},
        },
    ),
    # ---- bad JSON, one per write endpoint → 400 on `body` ------------------------------------
    *[
        row(
            f"bad-json-{name}",
            method,
            path,
            400,
            "body",
            raw=b'{"name": "Half',
            content_type=JSON_TYPE,
        )
        for name, method, path in [
            ("create-project", "POST", "/v1/projects"),
            ("create-job", "POST", f"{A}/jobs/manual"),
            ("put-job", "PUT", f"{A}/jobs/manual"),
            ("patch-job", "PATCH", f"{A}/jobs/manual/alpha-job"),
            ("create-cron-job", "POST", f"{A}/jobs/cron"),
            ("put-cron-job", "PUT", f"{A}/jobs/cron"),
            ("patch-cron-job", "PATCH", f"{A}/jobs/cron/alpha-job"),
            ("job-build-source", "POST", f"{JOB}/build-source"),
            ("start-job-build", "POST", f"{JOB}/build"),
            ("start-run", "POST", f"{JOB}/runs"),
            ("create-service", "POST", f"{A}/services/build"),
            ("put-service", "PUT", f"{A}/services/build"),
            ("patch-service", "PATCH", f"{A}/services/build/alpha-service"),
            ("start-service-build", "POST", f"{SERVICE}/build"),
            ("service-build-source", "POST", f"{SERVICE}/build-source"),
            ("runtime-environment", "POST", f"{JOB}/runtime-environment"),
            ("job-build-arguments", "POST", f"{JOB}/build-arguments"),
            ("service-build-arguments", "POST", f"{SERVICE}/build-arguments"),
        ]
    ],
    row("not-utf8", "POST", "/v1/projects", 400, "body", raw=b'{"name": "\xff\xfe"}'),
    row(
        "number-too-long",
        "POST",
        f"{A}/jobs/manual",
        400,
        "body",
        raw=b'{"backoffLimit": 1' + b"0" * 5000 + b"}",
    ),
    row("trailing-garbage", "POST", f"{JOB}/runs", 400, "body", raw=b"{} {}"),
    # ---- wrong content types and body shapes → 400 on `body` --------------------------------
    row(
        "text-plain",
        "POST",
        f"{A}/jobs/manual",
        400,
        "body",
        raw=json.dumps(job()).encode(),
        content_type="text/plain",
    ),
    row(
        "form-encoded",
        "PATCH",
        f"{A}/services/build/alpha-service",
        400,
        "body",
        raw=b"description=x",
        content_type="application/x-www-form-urlencoded",
    ),
    row(
        "multipart",
        "POST",
        f"{JOB}/runs",
        400,
        "body",
        raw=b"--x\r\n\r\n--x--",
        content_type="multipart/form-data; boundary=x",
    ),
    row(
        "xml",
        "POST",
        "/v1/projects",
        400,
        "body",
        raw=b"<project><name>Xml</name></project>",
        content_type="application/xml",
    ),
    row(
        "no-content-type",
        "POST",
        f"{JOB}/build",
        400,
        "body",
        raw=b'{"sha": null}',
        content_type=None,
    ),
    row("empty-body", "POST", "/v1/projects", 400, "body", raw=b""),
    row("json-array", "POST", f"{A}/jobs/manual", 400, "body", body=[job()]),
    row("json-null", "PATCH", f"{A}/jobs/manual/alpha-job", 400, "body", body=None),
    row("json-string", "POST", f"{A}/services/build", 400, "body", body="service"),
    row("json-number", "POST", f"{SERVICE}/build", 400, "body", body=7),
    # ---- bodies over the limit (1 MB here) → 413 ---------------------------------------------
    row(
        "huge-declared",
        "POST",
        f"{A}/jobs/manual",
        413,
        "body",
        body=job(description="x" * (2 * MB)),
    ),
    row(
        "huge-streamed",
        "PATCH",
        f"{A}/services/build/alpha-service",
        413,
        "body",
        raw=b'{"description": "' + b"x" * (2 * MB) + b'"}',
        chunked=True,
    ),
    row(
        "huge-secret-file",
        "POST",
        f"{JOB}/runtime-environment",
        413,
        "body",
        body={"runtimeEnvironment": {}, "runtimeFiles": {"/big": {"data": "QUFB" * MB}}},
    ),
    # ---- deep nesting → 400 ------------------------------------------------------------------
    row(
        "deep-arrays",
        "POST",
        "/v1/projects",
        400,
        "body",
        raw=b'{"name": "Deep", "networking": ' + deep_list(100_000) + b"}",
    ),
    row(
        "deep-objects",
        "POST",
        f"{A}/jobs/manual",
        400,
        "body",
        raw=b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ),
    row(
        "deep-but-parsable",
        "POST",
        f"{JOB}/runs",
        400,
        "runtimeEnvironment",
        raw=b'{"runtimeEnvironment": ' + deep_list(500) + b"}",
    ),
    row(
        "deep-annotation",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.metadata.annotations.deep",
        body=job(deployment={"metadata": {"annotations": {"deep": nested_objects(40)}}}),
    ),
    # ---- unicode where the pages allow ASCII → 400 naming the field -------------------------
    row(
        "emoji-job-name", "POST", f"{A}/jobs/manual", 400, "name", body=minimal_job("Rocket 🚀 Job")
    ),
    row(
        "accented-job-name", "PUT", f"{A}/jobs/manual", 400, "name", body=minimal_job("Jöb Ünïcode")
    ),
    row(
        "zero-width-project-name", "POST", "/v1/projects", 400, "name", body={"name": "Al\u200bpha"}
    ),
    row(
        "cjk-service-name",
        "POST",
        f"{A}/services/build",
        400,
        "name",
        body=minimal_service("服务服务"),
    ),
    row("lone-surrogate-name", "POST", "/v1/projects", 400, "name", raw=b'{"name": "Ab\\ud800cd"}'),
    row(
        "nul-in-description",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "description",
        body={"description": "a\u0000b"},
    ),
    row(
        "rtl-in-tag",
        "PATCH",
        f"{A}/services/build/alpha-service",
        400,
        "tags[0]",
        body={"tags": ["\u202etag"]},
    ),
    row(
        "unicode-variable-name",
        "POST",
        f"{JOB}/runtime-environment",
        400,
        "runtimeEnvironment.ÄPI_KEY",
        body={"runtimeEnvironment": {"ÄPI_KEY": "x"}},
    ),
    row(
        "unicode-file-path",
        "POST",
        f"{SERVICE}/build-arguments",
        400,
        "buildFiles./dir/fïle",
        body={"buildFiles": {"/dir/fïle": FILE}},
    ),
    row(
        "newline-in-branch",
        "POST",
        f"{JOB}/build-source",
        400,
        "projectBranch",
        body={"projectBranch": "main\n--upload-pack=touch"},
    ),
    # ---- oneOf with two branches, or none that fits → 400 ----------------------------------
    row(
        "deployment-vcs-and-external",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.external",
        body=job(deployment={"vcs": VCS, "external": EXTERNAL}),
    ),
    row(
        "deployment-external-and-internal",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "deployment.internal",
        body={"deployment": {"external": EXTERNAL, "internal": {"id": "alpha-service"}}},
    ),
    row(
        "build-settings-both-engines",
        "POST",
        f"{A}/jobs/manual",
        400,
        "buildSettings.buildpack",
        body=job(buildSettings=DOCKERFILE | BUILDPACK),
    ),
    row(
        "service-both-engines",
        "POST",
        f"{A}/services/build",
        400,
        "buildSettings.buildpack",
        body=service(buildSettings=DOCKERFILE | BUILDPACK),
    ),
    row(
        "run-internal-and-external",
        "POST",
        f"{JOB}/runs",
        400,
        "deployment.external",
        body={"deployment": {"internal": {}, "external": EXTERNAL}},
    ),
    row(
        "build-sha-neither",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.internal.buildSHA",
        body=job(deployment={"internal": {"id": "alpha-service", "buildSHA": "newest"}}),
    ),
    row(
        "annotation-neither",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.metadata.annotations.team",
        body=job(deployment={"metadata": {"annotations": {"team": 7}}}),
    ),
    row(
        "bundle-and-pull-request",
        "POST",
        f"{SERVICE}/build",
        400,
        "pullRequestId",
        body={"bundleUrl": "https://example.com/a.tar", "pullRequestId": 3},
    ),
    row(
        "branch-and-pull-request",
        "POST",
        f"{SERVICE}/build",
        400,
        "pullRequestId",
        body={"branch": "main", "pullRequestId": 3},
    ),
    row("no-build-source", "POST", f"{SERVICE}/build", 400, "branch", body={"sha": SHA}),
    # ---- negative and out-of-range numbers → 400 -------------------------------------------
    row(
        "negative-backoff-limit",
        "POST",
        f"{A}/jobs/manual",
        400,
        "backoffLimit",
        body=job(backoffLimit=-1),
    ),
    row(
        "backoff-limit-over-int32",
        "PUT",
        f"{A}/jobs/manual",
        400,
        "backoffLimit",
        body=minimal_job("Alpha Job", backoffLimit=2**31),
    ),
    row(
        "fractional-backoff-limit",
        "POST",
        f"{A}/jobs/manual",
        400,
        "backoffLimit",
        body=job(backoffLimit=1.5),
    ),
    row(
        "zero-deadline",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "activeDeadlineSeconds",
        body={"activeDeadlineSeconds": 0},
    ),
    row(
        "negative-deadline",
        "POST",
        f"{A}/jobs/manual",
        400,
        "activeDeadlineSeconds",
        body=job(activeDeadlineSeconds=-600),
    ),
    row(
        "endless-deadline",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "activeDeadlineSeconds",
        body={"activeDeadlineSeconds": 2**40},
    ),
    row(
        "short-grace-period",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.gracePeriodSeconds",
        body=job(deployment={"gracePeriodSeconds": 14}),
    ),
    row(
        "negative-storage",
        "POST",
        f"{JOB}/runs",
        400,
        "deployment.storage.ephemeralStorage.storageSize",
        body={"deployment": {"storage": {"ephemeralStorage": {"storageSize": -1024}}}},
    ),
    row(
        "negative-shm",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.storage.shmSize",
        body=job(deployment={"storage": {"shmSize": -64}}),
    ),
    row(
        "negative-port",
        "POST",
        f"{A}/jobs/manual",
        400,
        "healthChecks[0].port",
        body=job(healthChecks=[HEALTH | {"port": -1}]),
    ),
    row(
        "port-over-65535",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "healthChecks[0].port",
        body={"healthChecks": [HEALTH | {"port": 70000}]},
    ),
    row(
        "zero-initial-delay",
        "POST",
        f"{A}/jobs/manual",
        400,
        "healthChecks[0].initialDelaySeconds",
        body=job(healthChecks=[HEALTH | {"initialDelaySeconds": 0}]),
    ),
    row(
        "negative-build-storage",
        "POST",
        f"{A}/services/build",
        400,
        "buildSettings.storage.ephemeralStorage.storageSize",
        body=service(
            buildSettings=DOCKERFILE | {"storage": {"ephemeralStorage": {"storageSize": -16384}}}
        ),
    ),
    row(
        "build-storage-over-max",
        "PATCH",
        f"{A}/services/build/alpha-service",
        400,
        "buildConfiguration.storage.ephemeralStorage.storageSize",
        body={"buildConfiguration": {"storage": {"ephemeralStorage": {"storageSize": 131072}}}},
    ),
    row(
        "negative-cache-size",
        "POST",
        f"{A}/jobs/manual",
        400,
        "buildSettings.dockerfile.buildkit.cacheStorageSize",
        body=job(
            buildSettings={
                "dockerfile": DOCKERFILE["dockerfile"] | {"buildkit": {"cacheStorageSize": -1}}
            }
        ),
    ),
    row(
        "zero-gpus",
        "POST",
        f"{A}/jobs/manual",
        400,
        "billing.gpu.configuration.gpuCount",
        body=job(
            billing={
                "deploymentPlan": "nf-compute-20",
                "gpu": {"configuration": {"gpuType": "a100", "gpuCount": 0}},
            }
        ),
    ),
    row(
        "negative-pull-request",
        "POST",
        f"{SERVICE}/build",
        400,
        "pullRequestId",
        body={"pullRequestId": -7},
    ),
    row(
        "pull-request-over-int32",
        "POST",
        f"{SERVICE}/build",
        400,
        "pullRequestId",
        body={"pullRequestId": 2**31},
    ),
    # ---- other field rules of the spec pages → 400 naming the field -----------------------
    row("job-name-too-short", "POST", f"{A}/jobs/manual", 400, "name", body=minimal_job("ab")),
    row("cron-without-schedule", "POST", f"{A}/jobs/cron", 400, "schedule", body=job()),
    row(
        "cron-minute-61",
        "POST",
        f"{A}/jobs/cron",
        400,
        "schedule",
        body=cron_job(schedule="61 * * * *"),
    ),
    row(
        "cron-seconds-field",
        "PUT",
        f"{A}/jobs/cron",
        400,
        "schedule",
        body=cron_job(schedule="*/10 * * * * *"),
    ),
    row(
        "cron-zero-step",
        "PATCH",
        f"{A}/jobs/cron/alpha-job",
        400,
        "schedule",
        body={"schedule": "*/0 * * * *"},
    ),
    row(
        "cron-unknown-month",
        "POST",
        f"{A}/jobs/cron",
        400,
        "schedule",
        body=cron_job(schedule="0 0 1 smarch *"),
    ),
    row(
        "cron-policy-capitalised",
        "POST",
        f"{A}/jobs/cron",
        400,
        "concurrencyPolicy",
        body=cron_job(concurrencyPolicy="Forbid"),
    ),
    row(
        "cron-suspended-string",
        "PATCH",
        f"{A}/jobs/cron/alpha-job",
        400,
        "suspended",
        body={"suspended": "true"},
    ),
    row(
        "cron-time-zone",
        "POST",
        f"{A}/jobs/cron",
        400,
        "timeZone",
        body=cron_job(timeZone="Europe/Riga"),
    ),
    row(
        "manual-job-schedule",
        "POST",
        f"{A}/jobs/manual",
        400,
        "schedule",
        body=job(schedule="@daily"),
    ),
    row(
        "service-name-too-long",
        "PUT",
        f"{A}/services/build",
        400,
        "name",
        body=minimal_service("s" * 55),
    ),
    row(
        "project-color",
        "POST",
        "/v1/projects",
        400,
        "color",
        body={"name": "Colored", "color": "red"},
    ),
    row(
        "project-unknown-field",
        "POST",
        "/v1/projects",
        400,
        "owner",
        body={"name": "Owned", "owner": "me"},
    ),
    row(
        "job-missing-billing",
        "POST",
        f"{A}/jobs/manual",
        400,
        "billing",
        body={"name": "No Bill", "backoffLimit": 0},
    ),
    row(
        "plan-pattern",
        "POST",
        f"{A}/jobs/manual",
        400,
        "billing.deploymentPlan",
        body=job(billing={"deploymentPlan": "nf compute"}),
    ),
    row(
        "run-on-source-change",
        "POST",
        f"{A}/jobs/manual",
        400,
        "runOnSourceChange",
        body=job(runOnSourceChange="sometimes"),
    ),
    row(
        "string-boolean",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "disabledCI",
        body={"disabledCI": "true"},
    ),
    row(
        "string-number", "POST", f"{A}/jobs/manual", 400, "backoffLimit", body=job(backoffLimit="0")
    ),
    row(
        "project-url",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.vcs.projectUrl",
        body=job(deployment={"vcs": VCS | {"projectUrl": "ftp://example.com/x"}}),
    ),
    row(
        "project-url-dot-segments",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.vcs.projectUrl",
        body=job(deployment={"vcs": VCS | {"projectUrl": "https://github.com/acme/../other"}}),
    ),
    row(
        "service-project-url-dot-segments",
        "POST",
        f"{A}/services/build",
        400,
        "vcsData.projectUrl",
        body=service(vcsData=REPOSITORY | {"projectUrl": "https://github.com/acme/../x"}),
    ),
    row(
        "build-source-project-url-dot-segments",
        "POST",
        f"{JOB}/build-source",
        400,
        "projectUrl",
        body={"projectUrl": "https://github.com/acme/app/.."},
    ),
    row(
        "project-type",
        "POST",
        f"{A}/services/build",
        400,
        "vcsData.projectType",
        body=service(vcsData=REPOSITORY | {"projectType": "svn"}),
    ),
    row(
        "branch-as-option",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.vcs.projectBranch",
        body=job(deployment={"vcs": VCS | {"projectBranch": "-x"}}),
    ),
    row(
        "image-path",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "deployment.external.imagePath",
        body={"deployment": {"external": {"imagePath": "not an image"}}},
    ),
    row(
        "image-path-in-dockyards-registry",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.external.imagePath",
        body=job(deployment={"external": {"imagePath": f"127.0.0.1:1/beta/beta-job:{SHA}"}}),
    ),
    row(
        "image-path-in-dockyards-registry-by-another-name",
        "PUT",
        f"{A}/jobs/cron",
        400,
        "deployment.external.imagePath",
        body=cron_job(deployment={"external": {"imagePath": f"localhost:1/beta/beta-job:{SHA}"}}),
    ),
    row(
        "image-path-patched-into-dockyards-registry",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "deployment.external.imagePath",
        body={"deployment": {"external": {"imagePath": f"127.9.9.9:1/beta/beta-job:{SHA}"}}},
    ),
    row(
        "run-image-path-in-dockyards-registry",
        "POST",
        f"{JOB}/runs",
        400,
        "deployment.external.imagePath",
        body={"deployment": {"external": {"imagePath": f"0.0.0.0:1/beta/beta-job:{SHA}"}}},
    ),
    row(
        "command-required",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.docker.customCommand",
        body=job(deployment={"docker": {"configType": "customCommand"}}),
    ),
    row(
        "http-check-needs-path",
        "POST",
        f"{A}/jobs/manual",
        400,
        "healthChecks[0].path",
        body=job(healthChecks=[HEALTH | {"protocol": "HTTP"}]),
    ),
    row(
        "relative-file-path",
        "POST",
        f"{A}/jobs/manual",
        400,
        "runtimeFiles.dir/file",
        body=job(runtimeFiles={"dir/file": FILE}),
    ),
    row(
        "parent-segment",
        "POST",
        f"{SERVICE}/build-arguments",
        400,
        "buildFiles./a/../etc/passwd",
        body={"buildFiles": {"/a/../etc/passwd": FILE}},
    ),
    row(
        "not-base64",
        "POST",
        f"{A}/jobs/manual",
        400,
        "runtimeFiles./dir/file.data",
        body=job(runtimeFiles={"/dir/file": {"data": "%%%"}}),
    ),
    row(
        "encoding",
        "POST",
        f"{JOB}/runtime-environment",
        400,
        "runtimeFiles./x.encoding",
        body={"runtimeEnvironment": {}, "runtimeFiles": {"/x": FILE | {"encoding": "utf-16"}}},
    ),
    row(
        "secret-mount-id",
        "POST",
        f"{SERVICE}/build-arguments",
        400,
        "dockerSecretMounts.-bad",
        body={"dockerSecretMounts": {"-bad": FILE}},
    ),
    row(
        "dockerfile-path",
        "POST",
        f"{A}/services/build",
        400,
        "buildSettings.dockerfile.dockerFilePath",
        body=service(
            buildSettings={"dockerfile": {"dockerFilePath": "Dockerfile", "dockerWorkDir": "/"}}
        ),
    ),
    row(
        "dockerfile-target",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "buildConfiguration.dockerfileTarget",
        body={"buildConfiguration": {"dockerfileTarget": "--target"}},
    ),
    row(
        "branch-rule",
        "POST",
        f"{A}/services/build",
        400,
        "buildConfiguration.branchRestrictions[0]",
        body=service(buildConfiguration={"branchRestrictions": ["feature branch"]}),
    ),
    row(
        "build-source-enum",
        "PATCH",
        f"{A}/services/build/alpha-service",
        400,
        "buildSource",
        body={"buildSource": "svn"},
    ),
    row(
        "build-engine",
        "PATCH",
        f"{A}/services/build/alpha-service",
        400,
        "buildSettings.dockerfile.buildEngine",
        body={"buildSettings": {"dockerfile": {"buildEngine": "docker"}}},
    ),
    row(
        "architecture",
        "POST",
        f"{A}/jobs/manual",
        400,
        "infrastructure.architecture",
        body=job(infrastructure={"architecture": "mips"}),
    ),
    row(
        "service-needs-repository",
        "POST",
        f"{A}/services/build",
        400,
        "vcsData",
        body={k: v for k, v in service().items() if k != "vcsData"},
    ),
    row(
        "patch-cannot-rename",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "name",
        body={"name": "Renamed"},
    ),
    row(
        "patch-clears-required",
        "PATCH",
        f"{A}/jobs/manual/alpha-job",
        400,
        "billing",
        body={"billing": None},
    ),
    row(
        "patch-service-unknown",
        "PATCH",
        f"{A}/services/build/alpha-service",
        400,
        "infrastructure",
        body={"infrastructure": {"architecture": "x86"}},
    ),
    row(
        "build-source-type",
        "POST",
        f"{JOB}/build-source",
        400,
        "projectType",
        body={"projectType": "svn"},
    ),
    row(
        "build-source-vcs-id",
        "POST",
        f"{SERVICE}/build-source",
        400,
        "selfHostedVcsId",
        body={"selfHostedVcsId": "not/an/id"},
    ),
    row(
        "build-source-unknown",
        "POST",
        f"{JOB}/build-source",
        400,
        "branch",
        body={"branch": "main"},
    ),
    row("short-sha", "POST", f"{JOB}/build", 400, "sha", body={"sha": SHA[:39]}),
    row("non-hex-sha", "POST", f"{JOB}/build", 400, "sha", body={"sha": "z" * 40}),
    row(
        "override-dockerfile",
        "POST",
        f"{JOB}/build",
        400,
        "overrides.docker.dockerFilePath",
        body={"overrides": {"docker": {"dockerFilePath": "Dockerfile"}}},
    ),
    row(
        "override-unknown",
        "POST",
        f"{SERVICE}/build",
        400,
        "overrides.env",
        body={"branch": "main", "overrides": {"env": {}}},
    ),
    row(
        "service-build-branch", "POST", f"{SERVICE}/build", 400, "branch", body={"branch": "-main"}
    ),
    row(
        "bundle-scheme",
        "POST",
        f"{SERVICE}/build",
        400,
        "bundleUrl",
        body={"bundleUrl": "ftp://example.com/a.tar"},
    ),
    row(
        "bundle-loopback",
        "POST",
        f"{SERVICE}/build",
        400,
        "bundleUrl",
        body={"bundleUrl": "http://127.0.0.1:8080/a.tar"},
    ),
    row(
        "bundle-private",
        "POST",
        f"{SERVICE}/build",
        400,
        "bundleUrl",
        body={"bundleUrl": "http://[fd00::1]/a.tar"},
    ),
    row(
        "bundle-bad-host",
        "POST",
        f"{SERVICE}/build",
        400,
        "bundleUrl",
        body={"bundleUrl": "http://" + "a" * 64 + ".example/a.tar"},
    ),
    row(
        "bundle-open-bracket",
        "POST",
        f"{SERVICE}/build",
        400,
        "bundleUrl",
        body={"bundleUrl": "http://[::1/a.tar"},
    ),
    row(
        "run-variable-name",
        "POST",
        f"{JOB}/runs",
        400,
        "runtimeEnvironment.BAD KEY",
        body={"runtimeEnvironment": {"BAD KEY": "x"}},
    ),
    row(
        "run-plan-too-short",
        "POST",
        f"{JOB}/runs",
        400,
        "billing.deploymentPlan",
        body={"billing": {"deploymentPlan": "x"}},
    ),
    row("run-unknown-field", "POST", f"{JOB}/runs", 400, "backoffLimit", body={"backoffLimit": 3}),
    row(
        "run-build-sha",
        "POST",
        f"{JOB}/runs",
        400,
        "deployment.internal.buildSHA",
        body={"deployment": {"internal": {"buildSHA": "abc"}}},
    ),
    row(
        "secrets-need-environment",
        "POST",
        f"{JOB}/runtime-environment",
        400,
        "runtimeEnvironment",
        body={},
    ),
    row(
        "secret-value-number",
        "POST",
        f"{JOB}/runtime-environment",
        400,
        "runtimeEnvironment.PORT",
        body={"runtimeEnvironment": {"PORT": 8080}},
    ),
    row(
        "argument-name",
        "POST",
        f"{JOB}/build-arguments",
        400,
        "buildArguments.BAD KEY",
        body={"buildArguments": {"BAD KEY": "x"}},
    ),
    row(
        "secret-mount-data",
        "POST",
        f"{SERVICE}/build-arguments",
        400,
        "dockerSecretMounts.npmrc.data",
        body={"dockerSecretMounts": {"npmrc": {"data": "not base64!"}}},
    ),
    # ---- path and query parameters → 400 naming them -----------------------------------------
    row("project-id-too-long", "GET", "/v1/projects/" + "p" * 65, 400, "path.projectId"),
    row("job-id-too-long", "DELETE", f"{A}/jobs/" + "j" * 65, 400, "path.jobId"),
    row("build-id-too-long", "GET", f"{JOB}/build/" + "b" * 65, 400, "path.buildId"),
    row(
        "delete-children-flag",
        "DELETE",
        B,
        400,
        "query.delete_child_objects",
        params={"delete_child_objects": "maybe"},
    ),
    row("per-page-zero", "GET", f"{A}/jobs", 400, "query.per_page", params={"per_page": 0}),
    row("per-page-101", "GET", f"{A}/services", 400, "query.per_page", params={"per_page": 101}),
    row("per-page-negative", "GET", f"{JOB}/build", 400, "query.per_page", params={"per_page": -1}),
    row("per-page-word", "GET", f"{JOB}/runs", 400, "query.per_page", params={"per_page": "ten"}),
    row("page-zero", "GET", f"{SERVICE}/ci-events", 400, "query.page", params={"page": 0}),
    row("page-beyond-int64", "GET", "/v1/projects", 400, "query.page", params={"page": 10**30}),
    row("cursor-garbage", "GET", f"{A}/jobs", 400, "query.cursor", params={"cursor": "garbage!"}),
    row(
        "cursor-beyond-int64",
        "GET",
        f"{A}/services",
        400,
        "query.cursor",
        params={"cursor": cursor_after(10**30)},
    ),
    row(
        "cursor-not-a-number",
        "GET",
        f"{SERVICE}/build",
        400,
        "query.cursor",
        params={"cursor": cursor_after("1")},
    ),
    row(
        "cursor-too-long",
        "GET",
        f"{JOB}/ci-events",
        400,
        "query.cursor",
        params={"cursor": "a" * 201},
    ),
    row(
        "show",
        "GET",
        f"{JOB}/runtime-environment",
        400,
        "query.show",
        params={"show": "everything"},
    ),
    row(
        "show-arguments",
        "GET",
        f"{JOB}/build-arguments",
        400,
        "query.show",
        params={"show": "all,this"},
    ),
    row(
        "replace-templates",
        "GET",
        f"{SERVICE}/build-arguments",
        400,
        "query.replaceTemplatedValues",
        params={"replaceTemplatedValues": "yes"},
    ),
    row("line-limit-zero", "GET", f"{JOB}/logs", 400, "query.lineLimit", params={"lineLimit": 0}),
    row(
        "line-limit-over",
        "GET",
        f"{JOB}/build-logs",
        400,
        "query.lineLimit",
        params={"lineLimit": 10001},
    ),
    row(
        "direction",
        "GET",
        f"{SERVICE}/build-logs",
        400,
        "query.direction",
        params={"direction": "sideways"},
    ),
    row(
        "start-time",
        "GET",
        f"{JOB}/logs",
        400,
        "query.startTime",
        params={"startTime": "yesterday"},
    ),
    row(
        "start-after-end",
        "GET",
        f"{JOB}/logs",
        400,
        "startTime",
        params={"startTime": "2024-01-02T00:00:00Z", "endTime": "2024-01-01T00:00:00Z"},
    ),
    row(
        "tail-over-rest",
        "GET",
        f"{SERVICE}/build-logs",
        400,
        "queryType",
        params={"queryType": "tail"},
    ),
    row("duration-zero", "GET", f"{JOB}/build-logs", 400, "query.duration", params={"duration": 0}),
    row(
        "metric-type",
        "GET",
        f"{JOB}/metrics",
        400,
        "query.metricTypes[0]",
        params={"metricTypes": "requests"},
    ),
    row(
        "metrics-query-type",
        "GET",
        f"{JOB}/build-metrics",
        400,
        "query.queryType",
        params={"queryType": "tail"},
    ),
    row(
        "metrics-start-after-end",
        "GET",
        f"{JOB}/metrics",
        400,
        "startTime",
        params={"startTime": "2024-01-02T00:00:00Z", "endTime": "2024-01-01T00:00:00Z"},
    ),
    row("metrics-time", "GET", f"{JOB}/metrics", 400, "query.time", params={"time": "noon"}),
    row(
        "text-includes-too-long",
        "GET",
        f"{SERVICE}/logs",
        400,
        "query.textIncludes",
        params={"textIncludes": "x" * 1001},
    ),
    row(
        "duration-beyond-calendar",
        "GET",
        f"{JOB}/logs",
        400,
        "query.duration",
        params={"duration": 10**12},
    ),
    row(
        "start-time-beyond-calendar",
        "GET",
        f"{JOB}/build-logs",
        400,
        "startTime",
        params={"startTime": "9999-12-31T23:59:59-05:00"},
    ),
    # ---- webhooks: bad signature → 401, bad payload → 400, nothing recorded -----------------
    row(
        "webhook-unsigned",
        "POST",
        "/v1/webhooks/generic",
        401,
        raw=json.dumps(GENERIC | {"sha": SHA}).encode(),
        token=None,
    ),
    row(
        "webhook-wrong-signature",
        "POST",
        "/v1/webhooks/generic",
        401,
        raw=json.dumps(GENERIC | {"sha": SHA}).encode(),
        token=None,
        headers={"X-Dockyard-Signature-256": "sha256=" + "0" * 64},
    ),
    row(
        "github-unsigned",
        "POST",
        "/v1/webhooks/github",
        401,
        raw=json.dumps(PUSH).encode(),
        token=None,
        headers={"X-GitHub-Event": "push"},
    ),
    row(
        "github-wrong-secret",
        "POST",
        "/v1/webhooks/github",
        401,
        raw=json.dumps(PUSH).encode(),
        token=None,
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64},
    ),
    row(
        "gitlab-wrong-token",
        "POST",
        "/v1/webhooks/gitlab",
        401,
        raw=json.dumps({"project": {"git_http_url": REPOSITORY["projectUrl"]}}).encode(),
        token=None,
        headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "guess"},
    ),
    row("webhook-not-json", "POST", "/v1/webhooks/generic", 400, "body", **signed(b"branch=main")),
    row("webhook-array", "POST", "/v1/webhooks/generic", 400, "body", **signed(b"[]")),
    row(
        "webhook-no-repository",
        "POST",
        "/v1/webhooks/generic",
        400,
        "repository",
        **signed({"branch": "main", "sha": SHA}),
    ),
    row(
        "webhook-no-branch",
        "POST",
        "/v1/webhooks/generic",
        400,
        "branch",
        **signed(GENERIC | {"branch": "", "sha": SHA}),
    ),
    row(
        "webhook-bad-sha",
        "POST",
        "/v1/webhooks/generic",
        400,
        "sha",
        **signed(GENERIC | {"sha": "HEAD"}),
    ),
    row(
        "webhook-negative-pr",
        "POST",
        "/v1/webhooks/generic",
        400,
        "pullRequestId",
        **signed(GENERIC | {"sha": SHA, "pullRequestId": -1}),
    ),
    row(
        "webhook-pr-over-int32",
        "POST",
        "/v1/webhooks/generic",
        400,
        "pullRequestId",
        **signed(
            GENERIC | {"repository": REPOSITORY["projectUrl"], "sha": SHA, "pullRequestId": 2**40}
        ),
    ),
    row(
        "github-pr-over-int32",
        "POST",
        "/v1/webhooks/github",
        400,
        "number",
        **signed(
            {"action": "opened", "number": 2**40, "repository": PUSH["repository"]},
            "X-Hub-Signature-256",
            {"X-GitHub-Event": "pull_request"},
        ),
    ),
    row(
        "github-bad-after",
        "POST",
        "/v1/webhooks/github",
        400,
        "after",
        **signed(PUSH | {"after": "main"}, "X-Hub-Signature-256", {"X-GitHub-Event": "push"}),
    ),
    row(
        "webhook-provider",
        "POST",
        "/v1/webhooks/subversion",
        400,
        "path.provider",
        raw=b"{}",
        token=None,
    ),
    # ---- notification integrations ----------------------------------------------------------
    row("no-token-notifications", "GET", f"{A}/notifications", 401, token=None),
    row(
        "no-permission-create-notification",
        "POST",
        f"{A}/notifications",
        403,
        body=NOTIFICATION,
        token="none",
    ),
    row("other-project-notifications", "GET", f"{B}/notifications", 403, token="alpha"),
    row(
        "notification-loopback-url",
        "POST",
        f"{A}/notifications",
        400,
        "webhook",
        body=NOTIFICATION | {"webhook": "http://127.0.0.1:8088/hook"},
    ),
    row(
        "notification-unknown-event",
        "POST",
        f"{A}/notifications",
        400,
        "events.trigger:build:explode",
        body=NOTIFICATION | {"events": {"trigger:build:explode": True}},
    ),
    row(
        "notification-events-not-bool",
        "POST",
        f"{A}/notifications",
        400,
        "events.trigger:build:failure",
        body=NOTIFICATION | {"events": {"trigger:build:failure": "yes"}},
    ),
    row(
        "notification-slack-secret",
        "POST",
        f"{A}/notifications",
        400,
        "secret",
        body=NOTIFICATION | {"type": "SLACK", "secret": "x" * 16},
    ),
    row(
        "notifications-per-page",
        "GET",
        f"{A}/notifications",
        400,
        "query.per_page",
        params={"per_page": 0},
    ),
    row("unknown-notification", "GET", f"{A}/notifications/nope", 404),
    row("update-unknown-notification", "POST", f"{A}/notifications/nope", 404, body={}),
    row(
        "update-notification-type",
        "POST",
        f"{A}/notifications/nope",
        400,
        "type",
        body={"type": "SLACK"},
    ),
    row("delete-unknown-notification", "DELETE", f"{A}/notifications/nope", 404),
    row("unknown-notification-deliveries", "GET", f"{A}/notifications/nope/deliveries", 404),
    row("test-unknown-notification", "POST", f"{A}/notifications/nope/test", 404),
    # ---- the team's notification integrations ----------------------------------------------
    row("no-token-team-notifications", "GET", NOTIFICATIONS, 401, token=None),
    row(
        "no-permission-create-team-notification",
        "POST",
        NOTIFICATIONS,
        403,
        body=NOTIFICATION,
        token="none",
    ),
    row("project-token-team-notifications", "GET", NOTIFICATIONS, 403, "permission", token="alpha"),
    row(
        "team-notification-unknown-project",
        "POST",
        NOTIFICATIONS,
        400,
        "projects[0]",
        body=NOTIFICATION | {"projects": ["no-such-project"]},
    ),
    row(
        "team-notification-unknown-restricted-project",
        "POST",
        NOTIFICATIONS,
        400,
        "restrictions.projects[0]",
        body=NOTIFICATION | {"restrictions": {"projects": ["no-such-project"]}},
    ),
    row(
        "team-notification-unrestricted-with-projects",
        "POST",
        NOTIFICATIONS,
        400,
        "restricted",
        body=NOTIFICATION | {"restricted": False, "projects": ["alpha"]},
    ),
    row(
        "team-notification-teams-type",
        "POST",
        NOTIFICATIONS,
        400,
        "type",
        body=NOTIFICATION | {"type": "TEAMS"},
    ),
    row(
        "project-notification-names-projects",
        "POST",
        f"{A}/notifications",
        400,
        "projects",
        body=NOTIFICATION | {"projects": ["alpha"]},
    ),
    row(
        "team-notifications-per-page",
        "GET",
        NOTIFICATIONS,
        400,
        "query.per_page",
        params={"per_page": 0},
    ),
    row("unknown-team-notification", "GET", f"{NOTIFICATIONS}/nope", 404),
    row("update-unknown-team-notification", "POST", f"{NOTIFICATIONS}/nope", 404, body={}),
    row("delete-unknown-team-notification", "DELETE", f"{NOTIFICATIONS}/nope", 404),
    row(
        "unknown-team-notification-deliveries",
        "GET",
        f"{NOTIFICATIONS}/nope/deliveries",
        404,
    ),
    row("test-unknown-team-notification", "POST", f"{NOTIFICATIONS}/nope/test", 404),
    # ---- API tokens -------------------------------------------------------------------------
    row("no-token-list-tokens", "GET", "/v1/tokens", 401, token=None),
    row("no-permission-list-tokens", "GET", "/v1/tokens", 403, "permission", token="none"),
    row("project-token-list-tokens", "GET", "/v1/tokens", 403, "permission", token="alpha"),
    row("unknown-token-id", "GET", f"/v1/tokens/{'f' * 24}", 404, "tokenId"),
    row("revoke-unknown-token-id", "DELETE", f"/v1/tokens/{'f' * 24}", 404, "tokenId"),
    row("token-list-bad-all", "GET", "/v1/tokens?all=maybe", 400, "query.all"),
    row("token-no-name", "POST", "/v1/tokens", 400, "name", body={"admin": True}),
    row(
        "token-unknown-permission",
        "POST",
        "/v1/tokens",
        400,
        "permissions[0]",
        body={"name": "t", "permissions": ["Project > Everything"]},
    ),
    row(
        "token-unknown-field",
        "POST",
        "/v1/tokens",
        400,
        "role",
        body={"name": "t", "admin": True, "role": "owner"},
    ),
    row(
        "token-expiry-not-a-date",
        "POST",
        "/v1/tokens",
        400,
        "expiresAt",
        body={"name": "t", "admin": True, "expiresAt": "tomorrow"},
    ),
    # ---- metrics ----------------------------------------------------------------------------
    row("no-token-metrics", "GET", "/metrics", 401, token=None),
    row("unknown-token-metrics", "GET", "/metrics", 401, token="unknown"),
    row("no-permission-metrics", "GET", "/metrics", 403, "permission", token="none"),
    row("project-token-metrics", "GET", "/metrics", 403, "permission", token="alpha"),
    # ---- registry credentials ---------------------------------------------------------------
    row("no-token-registries", "GET", REGISTRIES, 401, token=None),
    row(
        "no-permission-add-registry",
        "POST",
        REGISTRIES,
        403,
        body=REGISTRY,
        token="none",
    ),
    row("project-token-registries", "GET", REGISTRIES, 403, "permission", token="alpha"),
    row(
        "project-token-add-registry",
        "POST",
        REGISTRIES,
        403,
        "permission",
        body=REGISTRY,
        token="alpha",
    ),
    row(
        "registry-provider-unsupported",
        "POST",
        REGISTRIES,
        400,
        "provider",
        body=REGISTRY | {"provider": "ecr"},
    ),
    row(
        "registry-provider-unknown",
        "POST",
        REGISTRIES,
        400,
        "provider",
        body=REGISTRY | {"provider": "quay"},
    ),
    row(
        "registry-no-password",
        "POST",
        REGISTRIES,
        400,
        "credentials.password",
        body=REGISTRY | {"credentials": {"username": "u"}},
    ),
    row(
        "registry-custom-no-url",
        "POST",
        REGISTRIES,
        400,
        "registryUrl",
        body={k: v for k, v in REGISTRY.items() if k != "registryUrl"},
    ),
    row(
        "registry-bad-url",
        "POST",
        REGISTRIES,
        400,
        "registryUrl",
        body=REGISTRY | {"registryUrl": "a b/c"},
    ),
    row(
        "registry-restricted-no-projects",
        "POST",
        REGISTRIES,
        400,
        "restrictions",
        body=REGISTRY | {"restrictions": {"restricted": True}},
    ),
    row(
        "registry-restricted-unknown-project",
        "POST",
        REGISTRIES,
        400,
        "restrictions.projects[0]",
        body=REGISTRY | {"restrictions": {"restricted": True, "projects": ["nope"]}},
    ),
    row(
        "registry-scope-not-bool",
        "POST",
        REGISTRIES,
        400,
        "credentials.scope.pull",
        body=REGISTRY | {"credentials": {"username": "u", "password": "p", "scope": {"pull": 1}}},
    ),
    row(
        "registry-duplicate-name",
        "POST",
        REGISTRIES,
        409,
        "name",
        body=REGISTRY | {"name": "Seeded Registry"},
    ),
    row("registries-per-page", "GET", REGISTRIES, 400, "query.per_page", params={"per_page": 0}),
    row("unknown-registry", "GET", f"{REGISTRIES}/nope", 404),
    row("update-unknown-registry", "PATCH", f"{REGISTRIES}/nope", 404, body={}),
    row(
        "update-registry-name",
        "PATCH",
        f"{REGISTRIES}/seeded-registry",
        400,
        "name",
        body={"name": "Other"},
    ),
    row(
        "update-registry-empty-password",
        "PATCH",
        f"{REGISTRIES}/seeded-registry",
        400,
        "credentials.password",
        body={"credentials": {"password": ""}},
    ),
    row("delete-unknown-registry", "DELETE", f"{REGISTRIES}/nope", 404),
    row("delete-registry-in-use", "DELETE", f"{REGISTRIES}/seeded-registry", 409, "usedBy"),
    # ---- project webhook secrets ------------------------------------------------------------
    row("no-token-webhook-secrets", "GET", f"{A}/webhook-secrets", 401, token=None),
    row("other-project-webhook-secrets", "GET", f"{B}/webhook-secrets", 403, token="alpha"),
    row(
        "no-permission-set-webhook-secret",
        "POST",
        f"{A}/webhook-secrets",
        403,
        body={"repository": "https://git.example.test/acme/app"},
        token="none",
    ),
    row("webhook-secret-no-repository", "POST", f"{A}/webhook-secrets", 400, "repository", body={}),
    row(
        "webhook-secret-not-a-repository",
        "POST",
        f"{A}/webhook-secrets",
        400,
        "repository",
        body={"repository": "nohost"},
    ),
    row(
        "webhook-secret-too-short",
        "POST",
        f"{A}/webhook-secrets",
        400,
        "secret",
        body={"repository": "https://git.example.test/acme/app", "secret": "short"},
    ),
    row(
        "webhook-secrets-per-page",
        "GET",
        f"{A}/webhook-secrets",
        400,
        "query.per_page",
        params={"per_page": 0},
    ),
    row("delete-unknown-webhook-secret", "DELETE", f"{A}/webhook-secrets/nope", 404),
    # ---- VCS links --------------------------------------------------------------------------
    row("no-token-vcs", "GET", "/v1/integrations/vcs", 401, token=None),
    row("no-permission-vcs", "GET", "/v1/integrations/vcs", 403, token="none"),
    row("project-token-vcs", "GET", "/v1/integrations/vcs", 403, token="alpha"),
    row(
        "branches-unknown-service",
        "GET",
        "/v1/integrations/vcs/repos/subversion/acme/app/branches",
        400,
        "path.vcsService",
    ),
    row(
        "branches-unknown-link",
        "GET",
        "/v1/integrations/vcs/repos/github/acme/app/branches",
        404,
        params={"vcs_link_id": "nope"},
    ),
    row(
        "branches-no-link-of-the-service",
        "GET",
        "/v1/integrations/vcs/repos/bitbucket/acme/app/branches",
        404,
    ),
    row(
        "branches-per-page",
        "GET",
        "/v1/integrations/vcs/repos/github/acme/app/branches",
        400,
        "query.per_page",
        params={"per_page": 0},
    ),
    row(
        "self-hosted-link-without-url",
        "POST",
        "/v1/integrations/vcs/links",
        400,
        body=VCS_LINK | {"vcsService": "self-hosted"},
    ),
    row(
        "vcs-link-url-with-password",
        "POST",
        "/v1/integrations/vcs/links",
        400,
        "vcsUrl",
        body=VCS_LINK | {"vcsUrl": "https://bob:pw@git.example.test"},
    ),
    row(
        "vcs-link-token-with-newline",
        "POST",
        "/v1/integrations/vcs/links",
        400,
        "token",
        body=VCS_LINK | {"token": "abc\npassword=other"},
    ),
    row(
        "vcs-link-login-with-colon",
        "POST",
        "/v1/integrations/vcs/links",
        400,
        "login",
        body=VCS_LINK | {"login": "bob:pw"},
    ),
    row(
        "no-permission-create-vcs-link",
        "POST",
        "/v1/integrations/vcs/links",
        403,
        body=VCS_LINK,
        token="none",
    ),
    row(
        "rotate-unknown-vcs-link",
        "PATCH",
        "/v1/integrations/vcs/links/nope",
        404,
        body={"token": "new-token-value"},
    ),
    row(
        "rotate-vcs-link-without-token",
        "PATCH",
        "/v1/integrations/vcs/links/nope",
        400,
        "token",
        body={},
    ),
    row("delete-unknown-vcs-link", "DELETE", "/v1/integrations/vcs/links/nope", 404),
    row(
        "vcs-links-per-page",
        "GET",
        "/v1/integrations/vcs/links",
        400,
        "query.per_page",
        params={"per_page": 0},
    ),
    row("project-token-vcs-links", "GET", "/v1/integrations/vcs/links", 403, token="alpha"),
    row(
        "ssh-link-with-a-token",
        "POST",
        "/v1/integrations/vcs/links",
        400,
        body=SSH_LINK | {"token": "ghp_exampletoken"},
    ),
    row(
        "ssh-link-with-an-https-url",
        "POST",
        "/v1/integrations/vcs/links",
        400,
        body=SSH_LINK | {"vcsUrl": "https://git.example.test"},
    ),
    row(
        "ssh-link-url-with-a-user",
        "POST",
        "/v1/integrations/vcs/links",
        400,
        "vcsUrl",
        body=SSH_LINK | {"vcsUrl": "ssh://git@git.example.test"},
    ),
    row(
        "ssh-link-host-key-not-a-key",
        "POST",
        "/v1/integrations/vcs/links",
        400,
        "hostKey",
        body=SSH_LINK | {"hostKey": "ssh-ed25519 bm90IGEga2V5IGF0IGFsbA=="},
    ),
    row(
        "ssh-link-host-key-with-newline",
        "POST",
        "/v1/integrations/vcs/links",
        400,
        "hostKey",
        body=SSH_LINK | {"hostKey": "ssh-ed25519 AAAA\n* ssh-ed25519 AAAB"},
    ),
    row(
        "token-link-with-a-host-key",
        "POST",
        "/v1/integrations/vcs/links",
        400,
        body=VCS_LINK | {"hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKr5"},
    ),
    row(
        "rotate-key-of-unknown-vcs-link", "POST", "/v1/integrations/vcs/links/nope/rotate-key", 404
    ),
    row(
        "no-permission-rotate-key",
        "POST",
        "/v1/integrations/vcs/links/nope/rotate-key",
        403,
        token="none",
    ),
    row(
        "host-key-of-unknown-vcs-link",
        "PUT",
        "/v1/integrations/vcs/links/nope/host-key",
        404,
        body={"hostKey": None},
    ),
    row(
        "host-key-missing",
        "PUT",
        "/v1/integrations/vcs/links/nope/host-key",
        400,
        "hostKey",
        body={},
    ),
    row(
        "host-key-not-a-key",
        "PUT",
        "/v1/integrations/vcs/links/nope/host-key",
        400,
        "hostKey",
        body={"hostKey": "not a host key line"},
    ),
    # ---- self-hosted VCS records and the repositories the links reach ----------------------
    row("self-hosted-vcs-without-url", "POST", SELF_HOSTED, 400, "vcsUrl", body={"name": "Git"}),
    row(
        "self-hosted-vcs-ftp-url",
        "POST",
        SELF_HOSTED,
        400,
        "vcsUrl",
        body={"name": "Git", "vcsUrl": "ftp://git.example.test"},
    ),
    row(
        "self-hosted-vcs-unknown-type",
        "POST",
        SELF_HOSTED,
        400,
        "vcsType",
        body={"name": "Git", "vcsUrl": "https://git.example.test", "vcsType": "svn"},
    ),
    row(
        "no-permission-create-self-hosted-vcs",
        "POST",
        SELF_HOSTED,
        403,
        body={"name": "Git", "vcsUrl": "https://git.example.test"},
        token="none",
    ),
    row("project-token-self-hosted-vcs", "GET", SELF_HOSTED, 403, token="alpha"),
    row(
        "self-hosted-vcs-per-page",
        "GET",
        SELF_HOSTED,
        400,
        "query.per_page",
        params={"per_page": 0},
    ),
    row("get-unknown-self-hosted-vcs", "GET", f"{SELF_HOSTED}/nope", 404),
    row("delete-unknown-self-hosted-vcs", "DELETE", f"{SELF_HOSTED}/nope", 404),
    row(
        "vcs-link-of-unknown-self-hosted-vcs",
        "POST",
        "/v1/integrations/vcs/links",
        404,
        body=VCS_LINK | {"vcsService": "self-hosted", "selfHostedVcsId": "f" * 24},
    ),
    row(
        "job-of-unknown-self-hosted-vcs",
        "POST",
        f"{A}/jobs/manual",
        400,
        "deployment.vcs.selfHostedVcsId",
        body=job(deployment={"vcs": VCS | {"selfHostedVcsId": "f" * 24}}),
    ),
    row(
        "service-of-unknown-self-hosted-vcs",
        "PATCH",
        f"{SERVICE.replace('/services/', '/services/build/')}",
        400,
        "vcsData.selfHostedVcsId",
        body={"vcsData": {"selfHostedVcsId": "f" * 24}},
    ),
    row("no-permission-repos", "GET", REPOS, 403, token="none"),
    row("project-token-repos", "GET", REPOS, 403, token="alpha"),
    row(
        "repos-unknown-service",
        "GET",
        REPOS,
        400,
        "query.vcs_service",
        params={"vcs_service": "svn"},
    ),
    row("repos-unknown-link", "GET", REPOS, 404, params={"vcs_link_id": "nope"}),
    row("repos-unknown-self-hosted-vcs", "GET", REPOS, 404, params={"self_hosted_vcs_id": "nope"}),
    row("repos-per-page", "GET", REPOS, 400, "query.per_page", params={"per_page": 101}),
    row("repos-bad-cursor", "GET", REPOS, 400, "query.cursor", params={"cursor": "!!"}),
]


def send(world: World, bad: Bad) -> Any:
    headers = dict(bad.headers or {})
    if bad.token is not None:
        headers["Authorization"] = f"Bearer {world.tokens[bad.token]}"
    request: dict[str, Any] = {"params": bad.params, "headers": headers}
    if bad.body is not NO_BODY:
        request["content"] = json.dumps(bad.body).encode()
    elif bad.raw is not None:
        request["content"] = bad.raw
    if "content" in request:
        if bad.content_type is not None:
            headers["Content-Type"] = bad.content_type
        if bad.chunked:
            whole = request["content"]
            request["content"] = (whole[i : i + 64 * 1024] for i in range(0, len(whole), 64 * 1024))
    path = bad.path.format_map(world.ids)
    return world.client.request(bad.method, path, **request)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("world") / "data"
    if request.param == "sqlite":
        with open_world(world_settings(data_dir, None)) as opened:
            yield opened
        return
    if not POSTGRES_URL:
        pytest.skip("DOCKYARD_TEST_POSTGRES_URL is not set: no PostgreSQL server here")
    with (
        postgres_database(POSTGRES_URL) as url,
        open_world(world_settings(data_dir, url)) as opened,
    ):
        yield opened


def endpoint_of(bad: Bad, served: set[str]) -> str | None:
    for endpoint in served:
        method, template = endpoint.split(" ", 1)
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if method == bad.method and re.fullmatch(pattern, bad.path):
            return endpoint
    return None


def test_the_table_covers_every_endpoint() -> None:
    served = set(served_operations()) - {"GET /health"}
    covered = {endpoint_of(param.values[0], served) for param in TABLE}
    assert sorted(served - covered) == []
    assert len(TABLE) >= 100


@pytest.mark.parametrize("bad", TABLE)
def test_bad_input_gets_the_documented_4xx_and_writes_nothing(world: World, bad: Bad) -> None:
    before = world.fingerprint()
    with capture_logs():  # a 5xx's traceback is in the failure; rendering it would be slow
        response = send(world, bad)
    assert_error(response, bad.status, bad.field)
    assert world.fingerprint() == before, "the request wrote to the database"
