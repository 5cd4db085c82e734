"""Git webhooks (`POST /v1/webhooks/{github|gitlab|generic}`, authenticated by their
signature, not a token), the CI events of jobs and build services, and projects' webhook
secrets (`/v1/projects/{projectId}/webhook-secrets`, a dockyard extension)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep, WorkerWakeDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import JobBuildsRead, ProjectsRead, ProjectsUpdate, ServiceBuildsRead
from dockyard.ci import service, signers
from dockyard.ci.models import CiEvent
from dockyard.ci.schemas import (
    CiEventList,
    CiEventResponse,
    WebhookOutcome,
    WebhookSecretList,
    WebhookSecretRequest,
    WebhookSecretResponse,
)
from dockyard.ci.webhooks import incoming
from dockyard.db.repository import Page
from dockyard.engine.git import GitClient
from dockyard.errors import Invalid
from dockyard.jobs import service as jobs
from dockyard.services import service as services
from dockyard.wire.models import Envelope, ListEnvelope

MAX_BODY_BYTES = 5 * 1024 * 1024

webhooks = APIRouter(prefix="/webhooks", tags=["webhooks"])
events = APIRouter(prefix="/projects/{projectId}", tags=["ci"])
webhook_secrets = APIRouter(prefix="/projects/{projectId}/webhook-secrets", tags=["ci"])

ProjectId = Annotated[str, Path(max_length=64)]
TargetId = Annotated[str, Path(max_length=64)]
WebhookSecretId = Annotated[str, Path(max_length=64, description="ID of the webhook secret")]


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
    by its build rules, whether to build the head the remote holds. Signed by a project's
    secret, only that project's jobs and build services. A delivery id seen before (from the
    same signer) does nothing. The answer only counts the decisions: the ci-events endpoints
    show them."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise Invalid("body", f"larger than {MAX_BODY_BYTES} bytes")
    headers = {name.lower(): value for name, value in request.headers.items()}
    delivery = await signers.verified(session, box, settings, incoming(provider, body, headers))
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


@webhook_secrets.post("")
async def set_webhook_secret(
    projectId: ProjectId,
    body: WebhookSecretRequest,
    session: SessionDep,
    box: SecretBoxDep,
    _: ProjectsUpdate,
) -> Envelope[WebhookSecretResponse]:
    """The project's secret for a repository's webhooks, made by the server when none is
    given; one the repository had is replaced (and stops verifying). Only this reply shows
    the secret. A delivery it signs builds this project's jobs and build services only."""
    stored = await signers.set_secret(session, box, projectId, body)
    return Envelope(data=signers.response(stored.row, stored.secret))


@webhook_secrets.get("")
async def list_webhook_secrets(
    projectId: ProjectId, session: SessionDep, page: PageDep, _: ProjectsRead
) -> ListEnvelope[WebhookSecretList]:
    """The project's webhook secrets, without their values."""
    result = await signers.list_secrets(session, projectId, page)
    listed = [signers.response(row) for row in result.items]
    return ListEnvelope(
        data=WebhookSecretList(webhook_secrets=listed), pagination=pagination_of(result)
    )


@webhook_secrets.delete("/{webhookSecretId}")
async def delete_webhook_secret(
    projectId: ProjectId, webhookSecretId: WebhookSecretId, session: SessionDep, _: ProjectsUpdate
) -> Envelope[dict[str, str]]:
    """Delete the secret: deliveries it signs are refused from now on."""
    await signers.delete_secret(session, projectId, webhookSecretId)
    return Envelope(data={})
