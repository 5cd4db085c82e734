"""The official `northflank` Python SDK, configured only by base URL and token, drives a live
dockyard through a whole build-and-run flow, and every answer parses into the SDK's own types
(tests/conformance/sdk_types.py):

project → build service → PATCH of every section of patch-build-service.md → build of a
branch → manual job from git → new build source (update-job-build-source.md) → build of a sha
with every override of start-job-build.md → run of that build → lists of builds and runs →
range logs and WebSocket tails of builds and runs → abort of a build and of a long run →
a suspended cron job created, PUT, PATCHed and read → deletion of jobs, services and project,
each then 404.
"""

from __future__ import annotations

import base64
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from northflank import ApiCallError, ApiClient, LogLine

from tests.builds.conftest import CONCLUDE_TIMEOUT, LiveDockyard
from tests.conformance.sdk_types import checked, checked_all

pytestmark = pytest.mark.e2e

# Built with every override of start-job-build.md: this file's path and context, a target
# stage that is not the last, a build argument, a build file templated with it and a secret
# mount; a RUN step fails unless the argument and the mount arrived.
OVERRIDES_DOCKERFILE = """FROM local/busybox:1 AS base
ARG GREETING
COPY conf/greeting.txt /greeting.txt
RUN --mount=type=secret,id=sdk-token test "$(cat /run/secrets/sdk-token)" = "mount value"
RUN test "$GREETING" = "hello overrides"
FROM base AS chosen
RUN echo "stage chosen" > /stage.txt
FROM base AS last
RUN echo "stage last" > /stage.txt
"""
SLOW_DOCKERFILE = "FROM local/busybox:1\nRUN sleep 120\n"
FOREVER = "trap 'exit 143' TERM; while true; do sleep 0.2; done"


def secret_file(text: str) -> dict[str, str]:
    return {"data": base64.b64encode(text.encode()).decode(), "encoding": "utf-8"}


OVERRIDES = {
    "buildArguments": {"GREETING": "hello overrides"},
    "buildFiles": {"/conf/greeting.txt": secret_file("greeting ${GREETING}\n")},
    "dockerSecretMounts": {"sdk-token": secret_file("mount value")},
    "docker": {
        "dockerFilePath": "/sdk/Dockerfile",
        "dockerWorkDir": "/sdk",
        "dockerfileTarget": "chosen",
    },
}


def shell(script: str) -> dict[str, str]:
    """`deployment.docker` running `script` with sh."""
    return {
        "configType": "customEntrypointCustomCommand",
        "customEntrypoint": "sh",
        "customCommand": f"-c {shlex.quote(script)}",
    }


def until(read: Callable[[], Any], done: Callable[[Mapping[str, Any]], bool]) -> Any:
    """Poll `read` until `done` says so, failing after CONCLUDE_TIMEOUT."""
    deadline = time.monotonic() + CONCLUDE_TIMEOUT
    while not done(item := read()):
        assert time.monotonic() < deadline, f"still {item} after {CONCLUDE_TIMEOUT} s"
        time.sleep(0.2)
    return item


def concluded(item: Mapping[str, Any]) -> bool:
    return bool(item["concluded"])


def assert_gone(read: Callable[..., Any], **ids: str) -> None:
    with pytest.raises(ApiCallError) as gone:
        read(**ids)
    assert gone.value.status == 404, gone.value


@dataclass
class Flow:
    """The SDK, the live server, and the ids of what the flow has made so far."""

    sdk: ApiClient
    live: LiveDockyard
    project: str = ""
    service: str = ""
    service_build: str = ""
    job: str = ""
    job_build: str = ""
    run: str = ""

    @property
    def repo_url(self) -> str:
        return self.live.sample.repo.url

    def of_service(self, service_id: str | None = None) -> dict[str, str]:
        return {"project_id": self.project, "service_id": service_id or self.service}

    def of_job(self, job_id: str | None = None) -> dict[str, str]:
        return {"project_id": self.project, "job_id": job_id or self.job}

    def tail(self, **target: Any) -> list[LogLine]:
        """The lines of a concluded build or run over the SDK's WebSocket tail, which the
        server closes once it has sent them."""
        tail = self.sdk.logs.tail_logs(project_id=self.project, recv_timeout=30, **target)
        with tail:
            lines = list(tail)
        return lines


# ---- project and build service ------------------------------------------------------------


def create_project(flow: Flow) -> None:
    created = checked(flow.sdk.create.project, data={"name": "SDK Flow", "color": "#123456"})
    assert created["name"] == "SDK Flow" and created["lifecycleStatus"] == "created"
    flow.project = created["id"]
    got = checked(flow.sdk.get.project, project_id=flow.project)
    assert got["id"] == flow.project and got["jobs"] == [] and got["services"] == []


def create_build_service(flow: Flow, name: str) -> str:
    body = {
        "name": name,
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": {"projectUrl": flow.repo_url, "projectType": "github"},
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }
    created = checked(flow.sdk.create.service.build, project_id=flow.project, data=body)
    assert created["serviceType"] == "build" and created["name"] == name
    service_id: str = created["id"]
    return service_id


def service_patch(flow: Flow) -> dict[str, Any]:
    """Every section of patch-build-service.md, with values a build of the sample still takes
    (its Dockerfile has one unnamed stage, so no `dockerfileTarget`; no `buildpack`, which
    would switch the engine). `sdk-registry` is configured by the conftest."""
    storage = {"ephemeralStorage": {"storageSize": 32768}}
    return {
        "description": "Patched through the SDK",
        "tags": ["sdk-conformance"],
        "billing": {
            "deploymentPlan": "nf-compute-20",
            "buildPlan": "nf-compute-400-16",
            "gpu": {"enabled": False},
        },
        "disabledCI": True,
        "buildSource": "git",
        "vcsData": {"projectUrl": flow.repo_url, "projectType": "github", "accountLogin": "sdk"},
        "buildSettings": {
            "storage": storage,
            "dockerfile": {
                "buildEngine": "buildkit",
                "dockerFilePath": "/Dockerfile",
                "dockerWorkDir": "/",
                "buildkit": {"useCache": False, "cacheStorageSize": 32768},
            },
        },
        "buildConfiguration": {
            "prRestrictions": ["feature/*"],
            "branchRestrictions": ["main", "feature"],
            "pathIgnoreRules": ["*.md"],
            "isAllowList": False,
            "ciIgnoreFlagsEnabled": True,
            "ciIgnoreFlags": ["[skip sdk]"],
            "dockerCredentials": ["sdk-registry"],
            "includeGitFolder": True,
            "fullGitClone": True,
            "storage": storage,
        },
        "buildArguments": {"SDK_ARGUMENT": "patched"},
        "buildFiles": {"/sdk/patched.txt": secret_file("patched file\n")},
        "dockerSecretMounts": {"sdk-mount": secret_file("patched mount")},
    }


def patch_every_section(flow: Flow) -> None:
    patch = service_patch(flow)
    patched: Any = checked(flow.sdk.patch.service.build, **flow.of_service(), data=patch)
    for section in ("description", "tags", "disabledCI", "buildSource", "buildSettings"):
        assert patched[section] == patch[section], section
    assert patched["billing"]["buildPlan"] == "nf-compute-400-16"
    assert patched["vcsData"]["accountLogin"] == "sdk"
    configuration = patched["buildConfiguration"]
    wanted = patch["buildConfiguration"]
    assert {key: configuration[key] for key in wanted} == wanted
    for secret in ("buildArguments", "buildFiles", "dockerSecretMounts"):
        assert patched[secret] == patch[secret], secret

    got = checked(flow.sdk.get.service, **flow.of_service())
    assert got["serviceType"] == "build" and got["description"] == patch["description"]


def build_a_branch(flow: Flow) -> None:
    ids = flow.of_service()
    started = checked(flow.sdk.start.service.build, **ids, data={"branch": "feature"})
    assert started["branch"] == "feature" and started["concluded"] is False
    flow.service_build = started["id"]
    build = until(
        lambda: checked(flow.sdk.get.service.build, **ids, build_id=flow.service_build), concluded
    )
    assert build["status"] == "SUCCESS" and build["success"] is True, build
    assert build["sha"] == flow.live.sample.feature
    assert build["registry"]["uri"].endswith(f"/{flow.service}:{flow.live.sample.feature}")


# ---- job ----------------------------------------------------------------------------------


def create_git_job(flow: Flow) -> None:
    body = {
        "name": "sdk job",
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "vcs": {"projectUrl": flow.repo_url, "projectType": "github", "projectBranch": "main"},
            "docker": shell("cat /stage.txt /greeting.txt"),
        },
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }
    created = checked(flow.sdk.create.job.manual, project_id=flow.project, data=body)
    assert created["jobType"] == "manual" and created["backoffLimit"] == 0
    flow.job = created["id"]


def update_build_source(flow: Flow) -> None:
    source = {
        "projectUrl": flow.repo_url,
        "projectType": "github",
        "projectBranch": "sdk",
        "accountLogin": "sdk",
    }
    assert checked(flow.sdk.update.job.build_source, **flow.of_job(), data=source) == {}
    got: Any = checked(flow.sdk.get.job, **flow.of_job())
    assert got["vcsData"]["projectBranch"] == "sdk"


def build_a_sha_with_overrides(flow: Flow, sha: str) -> None:
    ids = flow.of_job()
    request = {"sha": sha, "overrides": OVERRIDES}
    started = checked(flow.sdk.start.job.build, **ids, data=request)
    assert started["sha"] == sha and started["concluded"] is False
    flow.job_build = started["id"]
    build = until(
        lambda: checked(flow.sdk.get.job.build, **ids, build_id=flow.job_build), concluded
    )
    assert build["status"] == "SUCCESS" and build["success"] is True, build


def run_the_build(flow: Flow) -> None:
    ids = flow.of_job()
    started = checked(flow.sdk.start.job.run, **ids, data={})
    assert started["runName"].startswith(f"{flow.job}-")
    flow.run = started["id"]
    run = until(lambda: checked(flow.sdk.get.job.run, **ids, run_id=flow.run), concluded)
    assert run["status"] == "SUCCESS" and run["succeeded"] == 1, run


# ---- lists and logs -----------------------------------------------------------------------


def list_builds_and_runs(flow: Flow) -> None:
    service_builds = checked(flow.sdk.get.service.builds, **flow.of_service())["builds"]
    assert [build["id"] for build in service_builds] == [flow.service_build]
    job_builds = checked_all(flow.sdk.get.job.builds, **flow.of_job())["builds"]
    assert [build["id"] for build in job_builds] == [flow.job_build]
    for list_runs in (checked, checked_all):
        runs = list_runs(flow.sdk.get.job.runs, **flow.of_job())["runs"]
        assert [run["id"] for run in runs] == [flow.run]


def read_build_logs(flow: Flow) -> None:
    """The SDK's one range helper reads a service's logs; `log_type="build"` its builds'."""
    ranged = flow.sdk.logs.fetch_service_logs(
        project_id=flow.project, service_id=flow.service, log_type="build", direction="forward"
    )
    assert ranged and ranged[-1].log.startswith("Pushed "), ranged
    runtime = flow.sdk.logs.fetch_service_logs(project_id=flow.project, service_id=flow.service)
    assert runtime == []  # a build service runs no containers
    tailed = flow.tail(
        resource_id=flow.service,
        resource_type="service",
        build_id=flow.service_build,
        is_build=True,
    )
    assert [line.log for line in tailed] == [line.log for line in ranged]

    job_build = flow.tail(
        resource_id=flow.job, resource_type="job", build_id=flow.job_build, is_build=True
    )
    text = "\n".join(line.log for line in job_build)
    assert "Pushed " in text and "hello overrides" not in text and "mount value" not in text
    for line in [*ranged, *job_build]:
        assert line.ts and line.container_id, line


def read_run_logs(flow: Flow) -> None:
    """The SDK has no range helper for a job's logs: the tail of the concluded run gives them
    from its first line and ends."""
    lines = flow.tail(resource_id=flow.job, resource_type="job", run_id=flow.run)
    text = [line.log for line in lines]
    output = text.index("stage chosen")
    assert text[output : output + 2] == ["stage chosen", "greeting hello overrides"], text
    assert all(line.ts and line.container_id for line in lines), lines


# ---- aborts -------------------------------------------------------------------------------


def abort_a_build(flow: Flow, service_id: str) -> None:
    ids = flow.of_service(service_id)
    started = checked(flow.sdk.start.service.build, **ids, data={"branch": "slow"})
    checked(flow.sdk.abort.service.build, **ids, build_id=started["id"])
    build = until(
        lambda: checked(flow.sdk.get.service.build, **ids, build_id=started["id"]), concluded
    )
    assert build["status"] == "ABORTED" and build["success"] is False, build


def abort_a_run(flow: Flow) -> str:
    body = {
        "name": "sdk forever",
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {"external": {"imagePath": "local/busybox:1"}, "docker": shell(FOREVER)},
    }
    job_id: str = checked(flow.sdk.create.job.manual, project_id=flow.project, data=body)["id"]
    ids = flow.of_job(job_id)
    started = checked(flow.sdk.start.job.run, **ids, data={})

    def read() -> Any:
        return checked(flow.sdk.get.job.run, **ids, run_id=started["id"])

    until(read, lambda run: run["active"] == 1)
    checked(flow.sdk.abort.job.run, **ids, run_id=started["id"])
    run = until(read, concluded)
    assert run["status"] == "FAILED" and run["active"] == 0 and run["concludedAt"], run
    return job_id


# ---- cron job ----------------------------------------------------------------------------


def cron_job_calls(flow: Flow) -> str:
    """Every cron call of the SDK; the job stays suspended, so its schedule starts nothing."""
    body = {
        "name": "sdk cron",
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {"external": {"imagePath": "local/busybox:1"}},
        "schedule": "30 8 * * *",
        "suspended": True,
    }
    created = checked(flow.sdk.create.job.cron, project_id=flow.project, data=body)
    assert created["jobType"] == "cron" and created.get("concurrencyPolicy") == "allow"
    job_id: str = created["id"]
    put = checked(
        flow.sdk.put.job.cron,
        project_id=flow.project,
        data=body | {"schedule": "@hourly", "concurrencyPolicy": "forbid"},
    )
    assert put["id"] == job_id and put.get("schedule") == "@hourly"
    patched = checked(
        flow.sdk.patch.job.cron, **flow.of_job(job_id), data={"concurrencyPolicy": "replace"}
    )
    assert patched.get("suspended") is True
    got = checked(flow.sdk.get.job, **flow.of_job(job_id))
    assert got["jobType"] == "cron" and got.get("suspended") is True
    checked(flow.sdk.suspend.job, **flow.of_job(job_id), data={"suspended": False})
    assert checked(flow.sdk.get.job, **flow.of_job(job_id)).get("suspended") is False
    checked(flow.sdk.suspend.job, **flow.of_job(job_id), data={"suspended": True})
    assert got["settings"].get("cron") == {"schedule": "@hourly", "concurrencyPolicy": "Replace"}
    listed = checked_all(flow.sdk.list.jobs, project_id=flow.project)["jobs"]
    assert {job["id"]: job["jobType"] for job in listed}[job_id] == "cron"
    return job_id


# ---- deletion -----------------------------------------------------------------------------


def delete_everything(flow: Flow, jobs: list[str], services: list[str]) -> None:
    for job_id in jobs:
        checked(flow.sdk.delete.job, **flow.of_job(job_id))
        assert_gone(flow.sdk.get.job, **flow.of_job(job_id))
    for service_id in services:
        checked(flow.sdk.delete.service, **flow.of_service(service_id))
        assert_gone(flow.sdk.get.service, **flow.of_service(service_id))
    checked(flow.sdk.delete.project, project_id=flow.project)
    assert_gone(flow.sdk.get.project, project_id=flow.project)


def test_the_whole_flow(sdk: ApiClient, live: LiveDockyard) -> None:
    repo = live.sample.repo
    sha = repo.commit({"sdk/Dockerfile": OVERRIDES_DOCKERFILE}, "sdk overrides", branch="sdk")
    repo.commit({"Dockerfile": SLOW_DOCKERFILE}, "slow", branch="slow")
    flow = Flow(sdk, live)

    create_project(flow)
    flow.service = create_build_service(flow, "sdk service")
    patch_every_section(flow)
    build_a_branch(flow)

    create_git_job(flow)
    update_build_source(flow)
    build_a_sha_with_overrides(flow, sha)
    run_the_build(flow)

    list_builds_and_runs(flow)
    read_build_logs(flow)
    read_run_logs(flow)

    slow_service = create_build_service(flow, "sdk slow")
    abort_a_build(flow, slow_service)
    forever = abort_a_run(flow)
    cron = cron_job_calls(flow)

    delete_everything(flow, [flow.job, forever, cron], [flow.service, slow_service])
