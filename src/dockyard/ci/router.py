"""Git webhooks (`POST /v1/webhooks/{github|gitlab|generic}`, authenticated by their
signature, not a token) and the CI events of jobs and build services."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep, WorkerWakeDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.wire import Envelope, ListEnvelope
from dockyard.builds.auth import JobBuildsRead, ServiceBuildsRead
from dockyard.ci import service
from dockyard.ci.models import CiEvent
from dockyard.ci.schemas import CiEventList, CiEventResponse, WebhookOutcome
from dockyard.ci.webhooks import PROVIDERS
from dockyard.db.repository import Page
from dockyard.engine.git import GitClient
from dockyard.errors import Invalid
from dockyard.jobs import service as jobs
from dockyard.services import service as services

MAX_BODY_BYTES = 5 * 1024 * 1024

webhooks = APIRouter(prefix="/webhooks", tags=["webhooks"])
events = APIRouter(prefix="/projects/{projectId}", tags=["ci"])

ProjectId = Annotated[str, Path(max_length=64)]
TargetId = Annotated[str, Path(max_length=64)]


@webhooks.post("/{provider}")
async def receive_webhook(
    provider: Literal["github", "gitlab", "generic"],
    request: Request,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    wake: WorkerWakeDep,
) -> Envelope[WebhookOutcome]:
    """A push or pull-request event: each job and build service of the repository decides,
    by its build rules, whether to build the head the remote holds. A delivery id seen before
    does nothing. The answer only counts the decisions: the ci-events endpoints show them."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise Invalid("body", f"larger than {MAX_BODY_BYTES} bytes")
    headers = {name.lower(): value for name, value in request.headers.items()}
    delivery = PROVIDERS[provider](body, headers, service.secret_of(settings))
    git = GitClient(settings.git_insteadof, allow=settings.fetch_allow)
    outcome = await service.handle(session, box, git, settings, delivery)
    if outcome.built:
        wake.set()
    return Envelope(
        data=WebhookOutcome(
            delivery_id=outcome.delivery_id,
            duplicate=outcome.duplicate,
            note=outcome.note or None,
            built=outcome.built,
            skipped=outcome.skipped,
        )
    )


def _listed(result: Page[CiEvent]) -> ListEnvelope[CiEventList]:
    listed = [CiEventResponse.model_validate(event, from_attributes=True) for event in result.items]
    return ListEnvelope(data=CiEventList(events=listed), pagination=pagination_of(result))


@events.get("/services/{serviceId}/ci-events")
async def list_service_ci_events(
    projectId: ProjectId,
    serviceId: TargetId,
    session: SessionDep,
    page: PageDep,
    _: ServiceBuildsRead,
) -> ListEnvelope[CiEventList]:
    """What each git event did for this service, newest first, and why."""
    found = await services.get_service(session, projectId, serviceId)
    return _listed(await service.events_of(session, projectId, "service", found.id, page))


@events.get("/jobs/{jobId}/ci-events")
async def list_job_ci_events(
    projectId: ProjectId, jobId: TargetId, session: SessionDep, page: PageDep, _: JobBuildsRead
) -> ListEnvelope[CiEventList]:
    """What each git event did for this job, newest first, and why."""
    job = await jobs.get_job(session, projectId, jobId)
    return _listed(await service.events_of(session, projectId, "job", job.id, page))
