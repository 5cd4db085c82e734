"""`dockyard builds|runs list|get|start|abort`, `dockyard runs top` and `dockyard logs`:
builds of jobs and build services, runs of jobs (their CPU and memory), and their logs,
optionally followed live (`--follow`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table

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
from dockyard.client import AttemptUsage, Build, DockyardClient, LogSource, Owner, Run

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
    """One run: its status, attempts and timings, and the most CPU and memory its attempts
    used."""
    remote = remote_of(ctx)
    project_id = remote.project(project)
    found = remote.client.get_run(project_id, job, run)
    usage = remote.client.usage(project_id, job, run)
    if as_json:
        print_json(found.raw() | {"usage": [attempt.raw() for attempt in usage]})
        return
    show_one(found, as_json)
    for attempt in usage:
        peaks = f"{_cpu(attempt.cpu_peak)} CPU, {_memory(attempt.memory_peak_mb, attempt)}"
        out.print(f"{attempt.container_name} peaks: {peaks}")


@runs.command("top")
def top_runs(
    ctx: typer.Context,
    job: RequiredJob,
    run: Annotated[str | None, typer.Option("--run", "-r", help="only this run")] = None,
    once: Annotated[bool, typer.Option(help="print the table once, then exit")] = False,
    every: Annotated[float, typer.Option(help="seconds between refreshes", min=0.5)] = 2.0,
    project: ProjectOption = None,
) -> None:
    """Live CPU and memory of the job's running attempts (Ctrl-C ends it)."""
    remote = remote_of(ctx)
    project_id = remote.project(project)
    if once:
        out.print(_top_table(remote.client, project_id, job, run))
        return
    with Live(_top_table(remote.client, project_id, job, run), console=out) as live:
        while True:
            time.sleep(every)
            live.update(_top_table(remote.client, project_id, job, run))


def _top_table(api: DockyardClient, project: str, job: str, run: str | None) -> Table:
    running = {r.id for r in api.list_runs(project, job) if not r.concluded}
    attempts = [a for a in api.usage(project, job, run) if a.run_id in running]
    return _usage_table(attempts)


def _usage_table(attempts: Sequence[AttemptUsage]) -> Table:
    table = Table("run", "container", "CPU", "memory", "peak", box=None, header_style="bold")
    for attempt in attempts:
        memory = _memory(attempt.memory_mb, attempt)
        peak = _memory(attempt.memory_peak_mb, attempt)
        table.add_row(attempt.run_id, attempt.container_name, _cpu(attempt.cpu), memory, peak)
    return table


def _cpu(cores: float | None) -> str:
    return "-" if cores is None else f"{cores:.2f}"


def _memory(mb: float | None, attempt: AttemptUsage) -> str:
    """`mb / limit MiB`, OOMKilled when the attempt was."""
    used = "-" if mb is None else f"{mb:.1f}"
    limit = "" if attempt.memory_limit_mb is None else f" / {attempt.memory_limit_mb:.0f}"
    killed = " OOMKilled" if attempt.oom_killed else ""
    return f"{used}{limit} MiB{killed}"


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
