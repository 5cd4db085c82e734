"""What each dashboard page shows, assembled from the domain services (the API's own
functions: the dashboard runs no SQL of its own) under the visitor's permissions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.api.deps import requires_account
from dockyard.api.permissions import TARGET_PERMISSIONS, TargetPermissions
from dockyard.auth import service as tokens
from dockyard.auth.permissions import Permission
from dockyard.auth.schemas import IssuedToken, TokenEntry
from dockyard.auth.service import Principal
from dockyard.builds import service as builds
from dockyard.builds.models import Build
from dockyard.builds.service import BuildTarget
from dockyard.db.base import utcnow
from dockyard.db.repository import PageRequest
from dockyard.errors import NotFound
from dockyard.jobs import service as jobs
from dockyard.jobs.models import Job
from dockyard.jobs.schemas import CronJobSettings, CronJobSpec, ExternalDeployment
from dockyard.projects import service as projects
from dockyard.projects.models import Project
from dockyard.registries import service as registries
from dockyard.registries.models import RegistryCredential
from dockyard.registries.repository import spec_of as registry_spec_of
from dockyard.runs import service as runs
from dockyard.runs.models import JobRun
from dockyard.runs.plans import PLANS
from dockyard.services import service as services
from dockyard.services.models import Service
from dockyard.ui.charts import (
    ChartPoint,
    Outcome,
    PeakPoint,
    Series,
    duration_chart,
    format_bytes,
    peaks_chart,
    series_chart,
    success_rate,
)
from dockyard.usage import service as usage
from dockyard.usage.models import UsageSample
from dockyard.vcs import service as selfhosted_vcs
from dockyard.vcs.models import SelfHostedVcs
from dockyard.vcslinks import service as vcslinks
from dockyard.vcslinks.models import VcsLink
from dockyard.wire.links import build_url, run_url, target_url

LATEST = 50  # builds and runs listed and charted per job or service
MAX_LISTED = 100  # projects, jobs and services per page

# ---- rows ----------------------------------------------------------------------------------


def seconds_between(start: datetime, end: datetime | None) -> float:
    """From `start` to `end` (still going: to now)."""
    return max(0.0, ((end or utcnow()) - start).total_seconds())


@dataclass(frozen=True)
class BuildRow:
    id: str
    url: str
    status: str
    outcome: Outcome
    concluded: bool
    sha: str | None
    branch: str | None
    pull_request_id: int | None
    bundle: str | None  # a bundle build's URL, redacted
    trigger: str
    message: str | None
    image: str | None
    image_digest: str | None
    created_at: datetime
    seconds: float


def build_row(build: Build) -> BuildRow:
    shown = builds.build_response(build)
    outcome = Outcome.of(shown.concluded, bool(shown.success))
    return BuildRow(
        id=build.id,
        url=build_url(build.project_id, build.target_kind, build.target_id, build.id),
        status=shown.status.value,
        outcome=outcome,
        concluded=shown.concluded,
        sha=shown.sha,
        branch=shown.branch,
        pull_request_id=shown.pull_request_id,
        bundle=builds.shown_bundle(build),
        trigger=shown.trigger.value,
        message=shown.message,
        image=shown.registry.uri if shown.registry else None,
        image_digest=shown.registry.digest if shown.registry else None,
        created_at=build.created_at,
        seconds=seconds_between(build.created_at, build.concluded_at),
    )


@dataclass(frozen=True)
class RunRow:
    id: str
    url: str
    name: str
    status: str
    outcome: Outcome
    concluded: bool
    trigger: str
    message: str | None
    attempts: str
    created_at: datetime
    seconds: float


def run_row(run: JobRun) -> RunRow:
    shown = runs.run_response(run)
    outcome = Outcome.of(shown.concluded, shown.status == "SUCCESS")
    return RunRow(
        id=run.id,
        url=run_url(run.project_id, run.job_id, run.id),
        name=shown.run_name,
        status="QUEUED" if shown.status == "RUNNING" and not run.started_at else shown.status,
        outcome=outcome,
        concluded=shown.concluded,
        trigger=shown.trigger.value,
        message=shown.message,
        attempts=f"{shown.succeeded + shown.failed + shown.active} of {shown.backoff_limit + 1}",
        created_at=run.created_at,
        seconds=seconds_between(run.created_at, run.concluded_at),
    )


@dataclass(frozen=True)
class History:
    """The latest builds or runs of a job or service (newest first) and their chart."""

    noun: str
    rows: list[Any]
    chart: str
    success_rate: float | None


def history(rows: Sequence[BuildRow | RunRow], noun: str) -> History:
    points = [ChartPoint(row.id, row.seconds, row.outcome) for row in reversed(rows)]
    return History(noun, list(rows), duration_chart(points, noun), success_rate(points))


# ---- resource usage ------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageCharts:
    """A run's or build's CPU and memory over time (SVG, empty without samples) and its peaks
    in words;
    the page's socket sends them again, as a "usage" frame, when a sample changes them."""

    cpu: str
    memory: str
    summary: str

    def frame(self) -> dict[str, Any]:
        data = {"cpu": self.cpu, "memory": self.memory, "summary": self.summary}
        return {"type": "usage", "data": data}


def usage_charts(samples: Sequence[UsageSample]) -> UsageCharts:
    """The charts of a run's or build's samples (oldest first), one line per attempt's
    container (a build's one: its steps)."""
    peaks = usage.peaks_of(samples)
    if peaks is None:
        return UsageCharts("", "", "No resource samples yet.")
    start = samples[0].ts
    by_container: dict[str, list[UsageSample]] = {}
    for sample in samples:
        by_container.setdefault(sample.container, []).append(sample)

    def series(value: Callable[[UsageSample], float]) -> list[Series]:
        return [
            Series(name, [((row.ts - start).total_seconds(), value(row)) for row in rows])
            for name, rows in by_container.items()
        ]

    limit = peaks.memory_limit_bytes
    cpu = f"peak CPU {peaks.cpu_cores:.2f} cores"
    memory = f"peak memory {format_bytes(peaks.memory_bytes)}"
    if limit:
        memory += f" of its {format_bytes(limit)} limit"
    if peaks.oom_killed:
        memory += ", OOMKilled"
    return UsageCharts(
        cpu=series_chart(series(lambda row: row.cpu_cores), f"CPU in cores over time, {cpu}"),
        memory=series_chart(
            series(lambda row: row.memory_bytes),
            f"Memory in use over time, {memory}",
            limit=limit,
            limit_title=f"Plan limit {format_bytes(limit)}" if limit else "",
        ),
        summary=f"{cpu[0].upper()}{cpu[1:]}; {memory}.",
    )


async def usage_of(session: AsyncSession, owner_kind: str, owner_id: str) -> UsageCharts:
    """The charts of a run (`owner_kind` "run") or build ("build")."""
    return usage_charts(await usage.samples_of(session, owner_kind, owner_id))


@dataclass(frozen=True)
class MemoryPeaks:
    """The memory peaks of a job's latest measured runs against its plan's limit."""

    chart: str
    measured: int
    limit: str | None  # the plan's memory limit, in words
    oom_killed: int


async def memory_peaks(session: AsyncSession, job: Job, rows: Sequence[RunRow]) -> MemoryPeaks:
    """Of `rows` (newest first), those with samples, oldest first (one query for all)."""
    found = await usage.peaks_by_owner(session, "run", [row.id for row in rows])
    points = [
        PeakPoint(row.name, found[row.id].memory_bytes, found[row.id].oom_killed)
        for row in reversed(rows)
        if row.id in found
    ]
    plan = PLANS.get(jobs.spec_of(job).billing.deployment_plan)
    limit = plan.memory_bytes if plan else None
    return MemoryPeaks(
        chart=peaks_chart(points, limit),
        measured=len(points),
        limit=format_bytes(limit) if limit else None,
        oom_killed=sum(point.oom_killed for point in points),
    )


# ---- pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetSummary:
    id: str
    name: str
    url: str
    kind_label: str
    latest_status: str | None


@dataclass(frozen=True)
class ProjectsPage:
    projects: list[Project]
    next_cursor: str | None


async def projects_page(
    session: AsyncSession, principal: Principal, cursor: str | None
) -> ProjectsPage:
    principal.require(Permission.PROJECTS_READ)
    page = await projects.list_projects(
        session, principal, PageRequest(per_page=MAX_LISTED, cursor=cursor)
    )
    return ProjectsPage(list(page.items), page.next_cursor)


@dataclass(frozen=True)
class ProjectPage:
    project: Project
    jobs: list[TargetSummary] | None  # None: the token may not read them
    services: list[TargetSummary] | None


async def _latest_statuses(
    session: AsyncSession, project_id: str, kind: str, ids: list[str]
) -> dict[str, str | None]:
    statuses = await builds.statuses_of(session, project_id, kind, ids)
    return {
        target_id: status.build.status.value if status.build else None
        for target_id, status in statuses.items()
    }


async def _job_summaries(session: AsyncSession, project_id: str) -> list[TargetSummary]:
    found = (await jobs.list_jobs(session, project_id, PageRequest(per_page=MAX_LISTED))).items
    statuses = await _latest_statuses(session, project_id, "job", [job.id for job in found])
    return [
        TargetSummary(
            job.id,
            job.name,
            target_url(project_id, "job", job.id),
            f"{job.job_type} job",
            statuses[job.id],
        )
        for job in found
    ]


async def _service_summaries(session: AsyncSession, project_id: str) -> list[TargetSummary]:
    page = await services.list_services(session, project_id, PageRequest(per_page=MAX_LISTED))
    ids = [found.id for found in page.items]
    statuses = await _latest_statuses(session, project_id, "service", ids)
    return [
        TargetSummary(
            found.id,
            found.name,
            target_url(project_id, "service", found.id),
            "build service",
            statuses[found.id],
        )
        for found in page.items
    ]


async def project_page(session: AsyncSession, principal: Principal, project_id: str) -> ProjectPage:
    principal.require(Permission.PROJECTS_READ, project_id)
    project = await projects.get_project(session, project_id)
    return ProjectPage(
        project=project,
        jobs=await _job_summaries(session, project_id)
        if principal.can(Permission.JOBS_READ)
        else None,
        services=await _service_summaries(session, project_id)
        if principal.can(Permission.SERVICES_READ)
        else None,
    )


@dataclass(frozen=True)
class Actions:
    """Which buttons the visitor's token may use on a page."""

    build: bool = False
    run: bool = False
    abort: bool = False
    logs: bool = False


def job_actions(principal: Principal) -> Actions:
    return Actions(
        build=principal.can(Permission.JOBS_DEPLOY_BUILD),
        run=principal.can(Permission.JOBS_RUN),
        abort=principal.can(Permission.JOBS_DEPLOY_BUILD),
        logs=principal.can(Permission.JOBS_OBSERVE),
    )


def run_actions(principal: Principal) -> Actions:
    return Actions(
        abort=principal.can(Permission.JOBS_UPDATE), logs=principal.can(Permission.JOBS_OBSERVE)
    )


def service_actions(principal: Principal) -> Actions:
    return Actions(
        build=principal.can(Permission.SERVICES_DEPLOY_BUILD),
        abort=principal.can(Permission.SERVICES_DEPLOY_BUILD),
        logs=principal.can(Permission.SERVICES_OBSERVE),
    )


def _present(pairs: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(label, str(value)) for label, value in pairs if value not in (None, "", [], {})]


def job_settings(job: Job) -> list[tuple[str, str]]:
    """What the job page lists of the job's settings (never a secret)."""
    spec = jobs.spec_of(job)
    vcs = jobs.vcs_data(spec)
    settings = jobs.job_settings(spec)
    cron = settings.cron if isinstance(settings, CronJobSettings) else None
    deployment = spec.deployment
    external = deployment.external if isinstance(deployment, ExternalDeployment) else None
    return _present(
        [
            ("Type", job.job_type),
            ("Description", spec.description),
            ("Repository", vcs and vcs.project_url),
            ("Branch", vcs and vcs.project_branch),
            ("Dockerfile", vcs and vcs.docker_file_path),
            ("Image", external and external.image_path),
            ("Schedule", cron and cron.schedule),
            ("Concurrency", cron and cron.concurrency_policy),
            ("Retries (backoffLimit)", settings.backoff_limit),
            ("Deadline (activeDeadlineSeconds)", settings.active_deadline_seconds),
            ("Run on source change", spec.run_on_source_change),
            ("CI disabled", spec.disabled_ci or None),
            ("Suspended", (isinstance(spec, CronJobSpec) and spec.suspended) or None),
        ]
    )


def service_settings(found: Service) -> list[tuple[str, str]]:
    spec = services.spec_of(found)
    vcs = services.vcs_data(spec)
    return _present(
        [
            ("Description", spec.description),
            ("Repository", vcs and vcs.project_url),
            ("Dockerfile", vcs and vcs.docker_file_path),
            ("Work dir", vcs and vcs.docker_work_dir),
            ("CI disabled", spec.disabled_ci or None),
        ]
    )


@dataclass(frozen=True)
class TargetPage:
    """A job's or build service's page."""

    project: Project
    kind: str
    id: str
    name: str
    url: str
    settings: list[tuple[str, str]]
    actions: Actions
    builds: History
    runs: History | None = None
    default_branch: str = ""
    peaks: MemoryPeaks | None = None  # a job's, for a token that may observe it


async def _latest_builds(session: AsyncSession, target: BuildTarget) -> list[BuildRow]:
    page = await builds.list_builds(session, target, PageRequest(per_page=LATEST))
    return [build_row(build) for build in page.items]


async def job_page(
    session: AsyncSession, principal: Principal, project_id: str, job_id: str
) -> TargetPage:
    principal.require(Permission.JOBS_READ, project_id)
    project = await projects.get_project(session, project_id)
    job = await jobs.get_job(session, project_id, job_id)
    latest_runs = await runs.list_runs(session, project_id, job.id, PageRequest(per_page=LATEST))
    build_history = history(
        await _latest_builds(session, BuildTarget(project_id, "job", job.id)), "build"
    )
    run_rows = [run_row(run) for run in latest_runs.items]
    observer = principal.can(Permission.JOBS_OBSERVE)
    return TargetPage(
        project=project,
        kind="job",
        id=job.id,
        name=job.name,
        url=target_url(project_id, "job", job.id),
        settings=job_settings(job),
        actions=job_actions(principal),
        builds=build_history,
        runs=history(run_rows, "run"),
        peaks=await memory_peaks(session, job, run_rows) if observer else None,
    )


async def service_page(
    session: AsyncSession, principal: Principal, project_id: str, service_id: str
) -> TargetPage:
    principal.require(Permission.SERVICES_READ, project_id)
    project = await projects.get_project(session, project_id)
    found = await services.get_service(session, project_id, service_id)
    rows = await _latest_builds(session, BuildTarget(project_id, "service", found.id))
    build_history = history(rows, "build")
    return TargetPage(
        project=project,
        kind="service",
        id=found.id,
        name=found.name,
        url=target_url(project_id, "service", found.id),
        settings=service_settings(found),
        actions=service_actions(principal),
        builds=build_history,
        default_branch=next((row.branch for row in rows if row.branch), ""),
    )


@dataclass(frozen=True)
class ItemPage:
    """A build's or run's page: where it belongs, what it is, what the visitor may do."""

    project: Project
    noun: str  # "build" or "run"
    kind: str  # of its owner: "job" or "service"
    target_id: str
    target_name: str
    target_url: str
    item: BuildRow | RunRow
    actions: Actions
    usage: UsageCharts | None = None  # for a token that may observe it


def _permissions(kind: str) -> TargetPermissions:
    if kind not in TARGET_PERMISSIONS:
        raise NotFound(f"There are no {kind}s", {"kind": kind})
    return TARGET_PERMISSIONS[kind]


def observe_permission(kind: str) -> Permission:
    return _permissions(kind).observe


def deploy_permission(kind: str) -> Permission:
    return _permissions(kind).deploy


async def target_of(
    session: AsyncSession, project_id: str, kind: str, target_id: str
) -> Job | Service:
    """The job or the build service (`kind`)."""
    _permissions(kind)
    if kind == "job":
        return await jobs.get_job(session, project_id, target_id)
    return await services.get_service(session, project_id, target_id)


async def build_page(
    session: AsyncSession,
    principal: Principal,
    project_id: str,
    kind: str,
    target_id: str,
    build_id: str,
) -> ItemPage:
    principal.require(_permissions(kind).read, project_id)
    found = await target_of(session, project_id, kind, target_id)
    build = await builds.get_build(session, BuildTarget(project_id, kind, found.id), build_id)
    actions = job_actions(principal) if kind == "job" else service_actions(principal)
    return ItemPage(
        project=await projects.get_project(session, project_id),
        noun="build",
        kind=kind,
        target_id=found.id,
        target_name=found.name,
        target_url=target_url(project_id, kind, found.id),
        item=build_row(build),
        actions=actions,
        usage=await usage_of(session, "build", build.id) if actions.logs else None,
    )


async def run_page(
    session: AsyncSession, principal: Principal, project_id: str, job_id: str, run_id: str
) -> ItemPage:
    principal.require(Permission.JOBS_READ, project_id)
    job = await jobs.get_job(session, project_id, job_id)
    run = await runs.get_run(session, project_id, job.id, run_id)
    actions = run_actions(principal)
    return ItemPage(
        project=await projects.get_project(session, project_id),
        noun="run",
        kind="job",
        target_id=job.id,
        target_name=job.name,
        target_url=target_url(project_id, "job", job.id),
        item=run_row(run),
        actions=actions,
        usage=await usage_of(session, "run", run.id) if actions.logs else None,
    )


# ---- integrations: VCS links and registry credentials --------------------------------------


def account_can(principal: Principal, permission: Permission) -> bool:
    """Whether the token holds `permission` for the whole account (as the integrations' API
    routes require: a token limited to projects manages none of the account's)."""
    return principal.can(permission) and principal.project_ids is None


async def require_account(principal: Principal, permission: Permission) -> None:
    """The integrations' API rule (api/deps.requires_account), its message included."""
    await requires_account(permission)(principal)


@dataclass(frozen=True)
class IntegrationRow:
    """A VCS link or registry credentials as the page lists them: never the secret."""

    id: str
    name: str
    kind: str  # the VCS service or the registry provider
    url: str
    login: str
    created_at: datetime
    # A VCS link's: "token" or "ssh"; an ssh link's public key and pinned host key; the
    # self-hosted VCS record a token link names.
    link_kind: str | None = None
    public_key: str | None = None
    host_key: str | None = None
    server: str | None = None


@dataclass(frozen=True)
class ServerRow:
    """A self-hosted VCS record as the page lists it."""

    id: str
    uid: str
    name: str
    vcs_type: str | None
    url: str
    created_at: datetime


@dataclass(frozen=True)
class IntegrationActions:
    create: bool
    update: bool
    delete: bool

    @classmethod
    def of(
        cls, principal: Principal, create: Permission, update: Permission, delete: Permission
    ) -> IntegrationActions:
        return cls(
            account_can(principal, create),
            account_can(principal, update),
            account_can(principal, delete),
        )


@dataclass(frozen=True)
class IntegrationsPage:
    vcs_links: list[IntegrationRow] | None  # None: the token may not read them
    vcs_actions: IntegrationActions
    servers: list[ServerRow] | None  # the self-hosted VCS records, read as the links are
    registries: list[IntegrationRow] | None
    registry_actions: IntegrationActions
    message: str | None = None


def _link_row(link: VcsLink) -> IntegrationRow:
    return IntegrationRow(
        link.id,
        link.name,
        link.vcs_service,
        link.vcs_url,
        link.login,
        link.created_at,
        link_kind=link.kind,
        public_key=link.public_key,
        host_key=link.host_key,
        server=link.self_hosted_vcs_id,
    )


def _server_row(record: SelfHostedVcs) -> ServerRow:
    return ServerRow(
        record.id, record.uid, record.name, record.vcs_type, record.vcs_url, record.created_at
    )


def _registry_row(row: RegistryCredential) -> IntegrationRow:
    shown = registries.response(row)
    username = registry_spec_of(row).credentials.username
    return IntegrationRow(
        row.id, shown.name, shown.provider, shown.registry_url, username, row.created_at
    )


async def integrations_page(
    session: AsyncSession, principal: Principal, message: str | None = None
) -> IntegrationsPage:
    """The account's VCS links and registry credentials, each list as far as the token may
    read it; 403 when it may read neither."""
    can_vcs = account_can(principal, Permission.VCS_READ)
    can_registries = account_can(principal, Permission.REGISTRIES_READ)
    if not can_vcs and not can_registries:
        await require_account(principal, Permission.VCS_READ)
    links = [_link_row(link) for link in await vcslinks.list_links(session)] if can_vcs else None
    servers = None
    if can_vcs:
        records = await selfhosted_vcs.list_records(session, PageRequest(per_page=MAX_LISTED))
        servers = [_server_row(record) for record in records.items]
    stored = None
    if can_registries:
        page = await registries.list_credentials(session, PageRequest(per_page=MAX_LISTED))
        stored = [_registry_row(row) for row in page.items]
    return IntegrationsPage(
        vcs_links=links,
        servers=servers,
        vcs_actions=IntegrationActions.of(
            principal, Permission.VCS_CREATE, Permission.VCS_UPDATE, Permission.VCS_DELETE
        ),
        registries=stored,
        registry_actions=IntegrationActions.of(
            principal,
            Permission.REGISTRIES_CREATE,
            Permission.REGISTRIES_UPDATE,
            Permission.REGISTRIES_DELETE,
        ),
        message=message,
    )


# ---- API tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokensPage:
    """The account's tokens (never their secrets) and what the visitor may do with them."""

    tokens: list[TokenEntry]
    next_cursor: str | None
    can_create: bool
    can_revoke: bool
    grantable: list[str]  # the permissions the visitor's token may hand on
    can_grant_admin: bool
    issued: IssuedToken | None = None  # a token just made: its secret, shown this once
    message: str | None = None


async def tokens_page(
    session: AsyncSession,
    principal: Principal,
    cursor: str | None = None,
    *,
    issued: IssuedToken | None = None,
    message: str | None = None,
) -> TokensPage:
    """Every token, revoked and expired ones too, oldest first; 403 as `GET /v1/tokens`."""
    await require_account(principal, Permission.TOKENS_READ)
    request = PageRequest(per_page=MAX_LISTED, cursor=cursor)
    page = await tokens.page_tokens(session, request, include_inactive=True)
    return TokensPage(
        tokens=[tokens.entry(token) for token in page.items],
        next_cursor=page.next_cursor,
        can_create=account_can(principal, Permission.TOKENS_CREATE),
        can_revoke=account_can(principal, Permission.TOKENS_UPDATE),
        grantable=[permission.value for permission in Permission if principal.can(permission)],
        can_grant_admin=principal.is_admin,
        issued=issued,
        message=message,
    )
