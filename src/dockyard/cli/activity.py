"""`dockyard builds|runs list|get|start|abort` and `dockyard logs`: builds of jobs and build
services, runs of jobs, and their logs, optionally followed live (`--follow`)."""

from __future__ import annotations

from typing import Annotated

import typer

from dockyard.cli.follow import follow
from dockyard.cli.output import out, print_json, show_list, show_one
from dockyard.cli.remote import (
    FollowOption,
    JobOption,
    JsonOption,
    ProjectOption,
    ServiceOption,
    complete_jobs,
    remote_of,
)
from dockyard.client import Build, LogSource, Owner, Run

builds = typer.Typer(
    help="Builds of a job (--job) or build service (--service).", no_args_is_help=True
)
runs = typer.Typer(help="Runs of a job.", no_args_is_help=True)

BuildArgument = Annotated[str, typer.Argument(help="build id")]
RunArgument = Annotated[str, typer.Argument(help="run id")]
RequiredJob = Annotated[
    str, typer.Option("--job", "-j", help="job id", autocompletion=complete_jobs)
]
BUILD_COLUMNS = ["id", "status", "branch", "sha", "createdAt"]
RUN_COLUMNS = ["id", "status", "succeeded", "failed", "startedAt", "concludedAt"]


def pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """NAME=VALUE options as a mapping."""
    parsed: dict[str, str] = {}
    for value in values or []:
        name, equals, content = value.partition("=")
        if not equals or not name:
            raise typer.BadParameter(f"{value!r} is not NAME=VALUE", param_hint=option)
        parsed[name] = content
    return parsed


def exit_unless_successful(failed: bool) -> None:
    if failed:
        raise typer.Exit(code=1)


# ---- builds ----------------------------------------------------------------------------------


@builds.command("list")
def list_builds(
    ctx: typer.Context,
    job: JobOption = None,
    service: ServiceOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The builds, newest first."""
    remote = remote_of(ctx)
    show_list(
        remote.client.list_builds(remote.owner(project, job, service)), BUILD_COLUMNS, as_json
    )


@builds.command("get")
def get_build(
    ctx: typer.Context,
    build: BuildArgument,
    job: JobOption = None,
    service: ServiceOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """One build: its status, commit, image and timings."""
    remote = remote_of(ctx)
    show_one(remote.client.get_build(remote.owner(project, job, service), build), as_json)


@builds.command("start")
def start_build(
    ctx: typer.Context,
    job: JobOption = None,
    service: ServiceOption = None,
    sha: Annotated[str | None, typer.Option(help="commit to build (40 hex digits)")] = None,
    branch: Annotated[str | None, typer.Option(help="build the head of this branch")] = None,
    arg: Annotated[
        list[str] | None, typer.Option(help="build argument NAME=VALUE for this build; repeat")
    ] = None,
    follow_logs: FollowOption = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a build; with --follow, stream its logs and exit 1 unless it succeeds."""
    remote = remote_of(ctx)
    owner = remote.owner(project, job, service)
    started = remote.client.start_build(
        owner, sha=sha, branch=branch, build_arguments=pairs(arg, "--arg")
    )
    if not follow_logs:
        show_one(started, as_json)
        return
    final = _follow_build(ctx, owner, started.id, as_json)
    exit_unless_successful(final.failed)


@builds.command("abort")
def abort_build(
    ctx: typer.Context,
    build: BuildArgument,
    job: JobOption = None,
    service: ServiceOption = None,
    project: ProjectOption = None,
) -> None:
    """Abort a build that has not concluded."""
    remote = remote_of(ctx)
    remote.client.abort_build(remote.owner(project, job, service), build)
    out.print(f"aborting build {build}")


def _follow_build(ctx: typer.Context, owner: Owner, build_id: str, as_json: bool) -> Build:
    api = remote_of(ctx).client
    source = LogSource(owner, build_id=build_id)
    final = follow(
        api, source, lambda: api.get_build(owner, build_id), f"build {build_id}", as_json
    )
    if as_json:
        print_json(final.raw())
    return final


# ---- runs ------------------------------------------------------------------------------------


@runs.command("list")
def list_runs(
    ctx: typer.Context, job: RequiredJob, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """The runs of a job, newest first."""
    remote = remote_of(ctx)
    show_list(remote.client.list_runs(remote.project(project), job), RUN_COLUMNS, as_json)


@runs.command("get")
def get_run(
    ctx: typer.Context,
    run: RunArgument,
    job: RequiredJob,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: its status, attempts and timings."""
    remote = remote_of(ctx)
    show_one(remote.client.get_run(remote.project(project), job, run), as_json)


@runs.command("start")
def start_run(
    ctx: typer.Context,
    job: RequiredJob,
    env: Annotated[
        list[str] | None, typer.Option(help="runtime variable NAME=VALUE for this run; repeat")
    ] = None,
    follow_logs: FollowOption = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the job once; with --follow, stream its logs and exit 1 unless it succeeds."""
    remote = remote_of(ctx)
    project_id = remote.project(project)
    started = remote.client.start_run(project_id, job, environment=pairs(env, "--env"))
    if not follow_logs:
        show_one(started, as_json)
        return
    final = _follow_run(ctx, Owner.job(project_id, job), started.id, as_json)
    exit_unless_successful(final.unsuccessful)


@runs.command("abort")
def abort_run(
    ctx: typer.Context, run: RunArgument, job: RequiredJob, project: ProjectOption = None
) -> None:
    """Abort a run that has not concluded (its container is stopped)."""
    remote = remote_of(ctx)
    remote.client.abort_run(remote.project(project), job, run)
    out.print(f"aborting run {run}")


def _follow_run(ctx: typer.Context, owner: Owner, run_id: str, as_json: bool) -> Run:
    api = remote_of(ctx).client
    source = LogSource(owner, run_id=run_id)
    final = follow(
        api, source, lambda: api.get_run(owner.project, owner.id, run_id), f"run {run_id}", as_json
    )
    if as_json:
        print_json(final.raw())
    return final


# ---- logs ------------------------------------------------------------------------------------


def logs(
    ctx: typer.Context,
    job: JobOption = None,
    service: ServiceOption = None,
    build: Annotated[str | None, typer.Option("--build", "-b", help="build id")] = None,
    run: Annotated[str | None, typer.Option("--run", "-r", help="run id (jobs)")] = None,
    follow_logs: FollowOption = False,
    lines: Annotated[int, typer.Option(help="how many stored lines", min=1, max=10_000)] = 1000,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The log of a build (--build) or a run (--run); --follow streams it to the end.

    With --follow the exit code is 1 unless the build or run succeeded."""
    remote = remote_of(ctx)
    owner = remote.owner(project, job, service)
    if (build is None) == (run is None) or (run is not None and owner.kind != "job"):
        raise typer.BadParameter("give --build, or --run with --job")
    if follow_logs:
        failed = (
            _follow_build(ctx, owner, build, as_json).failed
            if build
            else _follow_run(ctx, owner, str(run), as_json).unsuccessful
        )
        exit_unless_successful(failed)
        return
    source = LogSource(owner, build_id=build, run_id=run)
    for line in remote.client.logs(source, line_limit=lines):
        if as_json:
            print_json(line.raw())
        else:
            out.print(line.log, markup=False, soft_wrap=True)
