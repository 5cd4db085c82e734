"""Who may sign a repository's webhooks: the operator (DOCKYARD_WEBHOOK_SECRETS for the
repository, else DOCKYARD_WEBHOOK_SECRET) and each project holding a webhook secret for it.

A project's secret is set per repository (setting it again replaces it: a rotation, the old
one stops verifying at once), sealed at rest, and shown only in the reply that set it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.ci import repository
from dockyard.ci.models import ProjectWebhookSecret, webhook_secret_context
from dockyard.ci.schemas import WebhookSecretRequest, WebhookSecretResponse
from dockyard.ci.webhooks import Delivery, Incoming, Signer, normalized_repository
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.repository import Page, PageRequest
from dockyard.errors import Invalid, NotFound
from dockyard.projects.service import get_project, new_uid
from dockyard.secrets.crypto import SecretBox

GENERATED_SECRET_BYTES = 32


@dataclass(frozen=True)
class StoredSecret:
    """A secret just set, with its value for the one reply that shows it."""

    row: ProjectWebhookSecret
    secret: str


def response(row: ProjectWebhookSecret, secret: str | None = None) -> WebhookSecretResponse:
    return WebhookSecretResponse(
        id=row.id, repository=row.repository, created_at=row.created_at, secret=secret
    )


def _repository_of(url: str) -> str:
    normal = normalized_repository(url)
    host, _, path = normal.partition("/")
    if not host or not path:
        raise Invalid("repository", "must be a repository URL (host and path)")
    return normal


# ---- the API's side ------------------------------------------------------------------------


async def set_secret(
    session: AsyncSession, box: SecretBox, project_id: str, request: WebhookSecretRequest
) -> StoredSecret:
    """The project's secret for the repository: new, or replacing the one it had (same id)."""
    await get_project(session, project_id)
    normal = _repository_of(request.repository)
    secret = request.secret or secrets.token_urlsafe(GENERATED_SECRET_BYTES)
    row = await repository.of_project_repository(session, project_id, normal)
    if row is None:
        row = ProjectWebhookSecret(id=new_uid(), project_id=project_id, repository=normal)
        session.add(row)
    row.sealed_secret = box.seal(secret.encode(), context=webhook_secret_context(row.id))
    row.created_at = utcnow()
    try:
        await session.commit()
    except IntegrityError:  # set at the same time by another request: replace that one
        await session.rollback()
        return await set_secret(session, box, project_id, request)
    return StoredSecret(row, secret)


async def list_secrets(
    session: AsyncSession, project_id: str, request: PageRequest
) -> Page[ProjectWebhookSecret]:
    await get_project(session, project_id)
    return await repository.page(session, project_id, request)


async def delete_secret(session: AsyncSession, project_id: str, secret_id: str) -> None:
    row = await repository.get(session, project_id, secret_id)
    if row is None:
        await get_project(session, project_id)  # a missing project is the 404 to report
        raise NotFound(f"Webhook secret {secret_id!r} not found", {"id": secret_id})
    await repository.remove(session, row)
    await session.commit()


# ---- the webhook's side --------------------------------------------------------------------


def _operator_secret(settings: Settings, normal: str) -> str | None:
    per_repository = {normalized_repository(k): v for k, v in settings.webhook_secrets.items()}
    return per_repository.get(normal) or settings.webhook_secret


async def signers_of(
    session: AsyncSession, box: SecretBox, settings: Settings, url: str
) -> list[Signer]:
    """The candidate signers of the repository at `url`: the operator first, then each
    project holding a secret for it."""
    normal = normalized_repository(url)
    operator = _operator_secret(settings, normal)
    return ([Signer.operator(operator)] if operator else []) + [
        Signer.project(
            row.project_id,
            box.open(row.sealed_secret, context=webhook_secret_context(row.id)).decode(),
        )
        for row in await repository.of_repository(session, normal)
    ]


async def verified(
    session: AsyncSession, box: SecretBox, settings: Settings, incoming: Incoming
) -> Delivery:
    """The delivery, signed by one of its repository's signers (else 401)."""
    candidates = await signers_of(session, box, settings, incoming.repository)
    return incoming.delivery(incoming.signer(candidates))
