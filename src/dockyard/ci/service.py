"""What a webhook delivery does: recorded once per signer, then for every job and build service
of its repository (of the signing project only, when a project's secret signed it) the build
rules decide, on the repository's own commits, whether to build; each
decision is kept as a CI event. The commit built is the head the remote holds for the event's
branch or pull request, resolved at delivery: a payload only says which ref moved."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import starts
from dockyard.builds.models import BuildTrigger
from dockyard.builds.service import BuildSource
from dockyard.ci import repository
from dockyard.ci.models import CiEvent, WebhookDelivery
from dockyard.ci.rules import BuildRules, CommitFacts, Decision, GitEvent, decide
from dockyard.ci.webhooks import Delivery, normalized_repository
from dockyard.config import Settings
from dockyard.db.repository import Page, PageRequest
from dockyard.engine.git import GitClient, pull_request_ref
from dockyard.errors import DockyardError
from dockyard.jobs import repository as jobs
from dockyard.jobs import service as jobs_service
from dockyard.jobs.models import Job
from dockyard.jobs.schemas import VcsDeployment
from dockyard.secrets.crypto import SecretBox
from dockyard.services import repository as services
from dockyard.services import service as services_service
from dockyard.services.models import Service
from dockyard.vcs.schemas import VcsRepository
from dockyard.vcslinks.service import Fetcher, fetcher_for

_cache_locks: dict[Path, asyncio.Lock] = {}


@dataclass(frozen=True)
class Target:
    kind: str  # "job" | "service"
    project_id: str
    id: str
    project_url: str  # the repository it builds from ("" for none)
    rules: BuildRules
    row: Any
    vcs: VcsRepository | None = None

    @property
    def reader(self) -> tuple[str, str | None, str | None]:
        """The repository and the VCS link (by id, or login) its source names to read it."""
        if self.vcs is None:
            return (self.project_url, None, None)
        return (self.project_url, self.vcs.vcs_link_id, self.vcs.account_login)

    @classmethod
    def of_job(cls, job: Job) -> Target:
        spec = jobs_service.spec_of(job)
        vcs = spec.deployment.vcs if isinstance(spec.deployment, VcsDeployment) else None
        url = vcs.project_url if vcs else ""
        return cls("job", job.project_id, job.id, url, BuildRules.of_job(spec), job, vcs)

    @classmethod
    def of_service(cls, found: Service) -> Target:
        spec = services_service.spec_of(found)
        vcs = spec.vcs_data
        url = vcs.project_url if vcs else ""
        rules = BuildRules.of_service(spec)
        return cls("service", found.project_id, found.id, url, rules, found, vcs)


@dataclass
class Outcome:
    delivery_id: str
    duplicate: bool = False
    note: str = ""
    built: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class Head:
    """An event as one repository URL has it: `event.sha` is the head its remote holds, and
    `facts` the commits read there (or why there are none)."""

    event: GitEvent
    facts: CommitFacts | Decision
    claim: str = ""  # what the payload claimed, when the remote holds another head


async def _targets(session: AsyncSession, delivery: Delivery) -> list[Target]:
    """The jobs and build services of the delivery's repository, of its signer's project only
    if a project signed it (matched on their stored specs; a build opens the secrets of its
    own target only)."""
    wanted = normalized_repository(delivery.repository)
    project = delivery.signer.project_id

    def builds_from_it(target: Target) -> bool:
        if project is not None and target.project_id != project:
            return False
        return bool(target.project_url) and normalized_repository(target.project_url) == wanted

    candidates = [Target.of_job(job) for job in await jobs.everywhere(session)] + [
        Target.of_service(found) for found in await services.everywhere(session)
    ]
    return [target for target in candidates if builds_from_it(target)]


def _head_ref(provider: str, event: GitEvent) -> str:
    """The ref an event moved: a pull request's ref as its provider publishes it (the generic
    form names no provider: its source branch), else the pushed branch."""
    if event.pull_request_id is not None and provider != "generic":
        return pull_request_ref(provider, event.pull_request_id)
    return f"refs/heads/{event.branch}"


async def _reader_head(
    session: AsyncSession,
    box: SecretBox,
    git: GitClient,
    settings: Settings,
    target: Target,
    provider: str,
    event: GitEvent,
) -> Head:
    """The event's head as the target's repository has it, read through the VCS link its
    source names (vcslinks/ chooses), as its builds fetch it."""
    url, vcs_link_id, account_login = target.reader
    try:
        fetcher = await fetcher_for(
            session,
            box,
            git,
            url,
            vcs_link_id=vcs_link_id,
            account_login=account_login,
            self_hosted_vcs_id=target.vcs.server_id if target.vcs else None,
        )
    except DockyardError as exc:
        return Head(event, Decision(False, f"cannot read the repository: {exc.message}"))
    return await _head(git, settings, fetcher, provider, event)


async def _head(
    git: GitClient, settings: Settings, fetcher: Fetcher, provider: str, event: GitEvent
) -> Head:
    try:
        ref = _head_ref(provider, event)
        sha = await git.resolve(fetcher.source, ref, credentials=fetcher.credentials)
    except DockyardError as exc:
        return Head(event, Decision(False, f"cannot resolve the ref: {exc.message}"))
    if sha == event.sha:
        return Head(event, await _facts(git, settings, fetcher, event))
    held = replace(event, sha=sha)
    holder = "the pull request" if event.is_pull_request else "the branch"
    claim = f"the payload named {event.sha}; {holder} holds {sha}"
    return Head(held, await _facts(git, settings, fetcher, held), claim)


async def _facts(
    git: GitClient, settings: Settings, fetcher: Fetcher, event: GitEvent
) -> CommitFacts | Decision:
    """The pushed commits as the repository has them; a Decision not to build if it cannot be
    read. The cache is the repository's as one link (or none) reads it."""
    url, credentials = fetcher.source, fetcher.credentials
    reader = f"{url}\0{fetcher.link.uid}" if fetcher.link else url
    cache = settings.data_dir / "git-cache" / hashlib.sha256(reader.encode()).hexdigest()[:24]
    lock = _cache_locks.setdefault(cache, asyncio.Lock())
    async with lock:
        try:
            files, message = await git.changes(
                url, event.sha, event.before, cache, credentials=credentials
            )
        except DockyardError as first:
            if event.before is None:
                return Decision(False, f"cannot read the pushed commit: {first.message}")
            try:  # the previous head may be gone (a force push): the head commit alone
                files, message = await git.changes(
                    url, event.sha, None, cache, credentials=credentials
                )
            except DockyardError as exc:
                return Decision(False, f"cannot read the pushed commit: {exc.message}")
    return CommitFacts(files, message)


async def _already_built(session: AsyncSession, target: Target, event: GitEvent) -> str | None:
    """The build an earlier event of the target started on the same commit, if one did."""
    return await repository.built_at(
        session, target.project_id, target.kind, target.id, event.sha, event.pull_request_id
    )


async def _build(session: AsyncSession, box: SecretBox, target: Target, event: GitEvent) -> str:
    if target.kind == "job":
        build = await starts.start_job_build(
            session, box, target.row, event.sha, trigger=BuildTrigger.WEBHOOK
        )
    else:
        source = BuildSource(
            branch=None if event.is_pull_request else event.branch,
            sha=event.sha,
            pull_request_id=event.pull_request_id,
        )
        build = await starts.start_service_build(
            session, box, target.row, source, trigger=BuildTrigger.WEBHOOK
        )
    return build.id


async def handle(
    session: AsyncSession,
    box: SecretBox,
    git: GitClient,
    settings: Settings,
    delivery: Delivery,
) -> Outcome:
    outcome = Outcome(delivery.delivery_id, note=delivery.note)
    record = WebhookDelivery(
        provider=delivery.provider,
        signer=delivery.signer.name,
        delivery_id=delivery.delivery_id,
        repository=delivery.repository,
        note=delivery.note or None,
    )
    session.add(record)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return Outcome(delivery.delivery_id, duplicate=True, note="delivered before: ignored")
    event = delivery.event
    if event is None:
        return outcome
    heads: dict[tuple[str, str | None, str | None], Head] = {}
    for target in await _targets(session, delivery):
        reader = target.reader
        if reader not in heads:
            heads[reader] = await _reader_head(
                session, box, git, settings, target, delivery.provider, event
            )
        if await _decide_and_build(session, box, record.pk, target, heads[reader]):
            outcome.built += 1
        else:
            outcome.skipped += 1
    return outcome


async def _decide_and_build(
    session: AsyncSession,
    box: SecretBox,
    delivery_pk: int,
    target: Target,
    head: Head,
) -> bool:
    """Whether `target` built on `head`; the decision is kept as a CI event."""
    event, facts = head.event, head.facts
    decision = (
        facts if isinstance(facts, Decision) else decide(target.kind, target.rules, event, facts)
    )
    build_id = None
    if decision.build and (earlier := await _already_built(session, target, event)):
        decision = Decision(False, f"this commit was already built by this rule ({earlier})")
    if decision.build:
        try:
            build_id = await _build(session, box, target, event)
        except DockyardError as exc:
            decision = Decision(False, f"the build could not start: {exc.message}")
    session.add(
        CiEvent(
            project_id=target.project_id,
            target_kind=target.kind,
            target_id=target.id,
            delivery_pk=delivery_pk,
            branch=event.branch,
            sha=event.sha,
            pull_request_id=event.pull_request_id,
            commit_message=None if isinstance(facts, Decision) else facts.message[:4000],
            built=build_id is not None,
            reason="; ".join(filter(None, (decision.reason, head.claim))),
            build_id=build_id,
        )
    )
    await session.commit()
    return build_id is not None


async def events_of(
    session: AsyncSession, project_id: str, kind: str, target_id: str, page: PageRequest
) -> Page[CiEvent]:
    return await repository.events_page(session, project_id, kind, target_id, page)


async def forget_events_of(
    session: AsyncSession, project_id: str, kind: str, target_id: str
) -> None:
    """The CI events of a job or service being deleted. The caller commits."""
    await repository.delete_events_of(session, project_id, kind, target_id)
