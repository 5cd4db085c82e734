"""Notification integration rules: integrations are the team's, ids are slugs of names, unique
in the team; an integration hears every project, or those it is restricted to
(`restrictions.projects` in its spec, mirrored in rows the outbox queries), which must exist
when named; deleting a project deletes the integrations restricted to it alone. The stored
spec is always a valid create body but for its webhook URL, which is sealed at rest (it is a
credential) and kept redacted in the spec: a reply shows the URL only to the write that gave
it, reads the redacted form. The RAW_WEBHOOK secret is sealed at rest and shown only in the
reply to the creation; webhook URLs obey the server-side fetch rules (DOCKYARD_FETCH_ALLOW).

And the outbox's state on the worker side: claiming due deliveries and recording attempts."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.repository import Page, PageRequest
from dockyard.engine.fetches import RefusedTarget, check_fetchable
from dockyard.engine.urls import redact_url
from dockyard.errors import Conflict, Invalid, NotFound
from dockyard.notifications import repository
from dockyard.notifications.events import SUBSCRIBABLE, Event
from dockyard.notifications.models import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationIntegration,
)
from dockyard.notifications.outbox import enqueue
from dockyard.notifications.payloads import (
    EventPayload,
    slack_body,
    test_event_payload,
    webhook_body,
)
from dockyard.notifications.repository import spec_of
from dockyard.notifications.schemas import (
    AttemptResponse,
    DeliveryResponse,
    NotificationPatch,
    NotificationResponse,
    NotificationSpec,
    NotificationStatus,
)
from dockyard.pacing import doubling
from dockyard.projects.service import existing_project_ids, get_project, new_uid, slugify
from dockyard.secrets.crypto import SecretBox
from dockyard.wire.bodies import changes_of, merged, validated, wire_body

MERGED_OBJECTS = frozenset({"events"})
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 600.0
MAX_ERROR_CHARS = 500


def secret_context(uid: str) -> str:
    return f"notification:{uid}:secret"


def webhook_context(uid: str) -> str:
    return f"notification:{uid}:webhook"


def shown_webhook(url: str) -> str:
    """A webhook URL as reads show it: scheme, host and path but its last segment (where
    hooks such as Slack's keep their token); no userinfo, query or fragment."""
    return redact_url(url, secret_path=True)


def opened_webhook(box: SecretBox, integration: NotificationIntegration) -> str:
    sealed = integration.sealed_webhook
    return box.open(sealed, context=webhook_context(integration.uid)).decode()


# ---- reads ---------------------------------------------------------------------------------
#
# `project_id`, where a function takes one, is the scope of the per-project routes
# (/v1/projects/{projectId}/notifications): there an integration is one restricted to that
# project, and none other is found; None is the team's routes (/v1/integrations/notifications).


def projects_of(integration: NotificationIntegration) -> list[str]:
    """The projects the integration is restricted to (none: it hears every project)."""
    restrictions = spec_of(integration).restrictions
    return list(restrictions.projects or ()) if restrictions else []


async def get_integration(
    session: AsyncSession, project_id: str | None, integration_id: str
) -> NotificationIntegration:
    integration = await repository.get(session, integration_id)
    if integration is None or (
        project_id is not None and project_id not in projects_of(integration)
    ):
        if project_id is not None:
            await get_project(session, project_id)  # a missing project is the 404 to report
        raise NotFound(
            f"Notification integration {integration_id!r} not found",
            {"notificationId": integration_id},
        )
    return integration


async def list_integrations(
    session: AsyncSession, project_id: str | None, request: PageRequest
) -> Page[NotificationIntegration]:
    if project_id is not None:
        await get_project(session, project_id)
    return await repository.page(session, project_id, request)


def status_of(integration: NotificationIntegration, settings: Settings) -> NotificationStatus:
    return NotificationStatus(
        failing=integration.failed_attempts >= settings.notification_failing_after,
        number_of_failed_requests=integration.failed_attempts,
        time_of_first_failed_request=integration.first_failed_at,
        last_error=integration.last_error,
    )


def response(
    integration: NotificationIntegration,
    settings: Settings,
    secret: str | None = None,
    webhook: str | None = None,
) -> NotificationResponse:
    """The integration as replies show it: its webhook redacted unless `webhook` is given."""
    spec = spec_of(integration)
    return NotificationResponse(
        id=integration.id,
        name=spec.name,
        type=spec.type,
        webhook=webhook or spec.webhook,
        events={event.value: spec.enables(event.value) for event in SUBSCRIBABLE},
        restricted=bool(spec.restricted),
        restrictions=wire_body(spec.restrictions) if spec.restrictions else {},
        projects=projects_of(integration),
        status=status_of(integration, settings),
        secret=secret,
        created_at=integration.created_at,
        updated_at=integration.updated_at,
    )


async def list_deliveries(
    session: AsyncSession, project_id: str | None, integration_id: str, request: PageRequest
) -> tuple[Page[NotificationDelivery], list[DeliveryResponse]]:
    """The integration's deliveries, newest first, each with its attempts."""
    integration = await get_integration(session, project_id, integration_id)
    page = await repository.deliveries_page(session, integration.pk, request)
    attempts = await repository.attempts_of(session, [d.pk for d in page.items])
    return page, [delivery_response(d, attempts[d.pk]) for d in page.items]


def delivery_response(
    delivery: NotificationDelivery, attempts: list[NotificationAttempt]
) -> DeliveryResponse:
    payload = EventPayload.model_validate(delivery.payload)
    pending = delivery.status == repository.PENDING
    return DeliveryResponse(
        id=delivery.id,
        event=delivery.event,
        status=delivery.status,
        resource={"kind": payload.resource.kind, "id": payload.resource.id},
        build_id=payload.build_id,
        run_id=payload.run_id,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at if pending else None,
        concluded_at=delivery.concluded_at,
        attempts=[
            AttemptResponse(
                number=attempt.number,
                attempted_at=attempt.attempted_at,
                status_code=attempt.status_code,
                latency_ms=attempt.latency_ms,
                error=attempt.error,
            )
            for attempt in attempts
        ],
    )


# ---- writes --------------------------------------------------------------------------------


async def _check_webhook(url: str, settings: Settings) -> None:
    """400 for a URL the server may not fetch; the worker checks again at every attempt."""
    try:
        await asyncio.to_thread(check_fetchable, url, settings.fetch_allow)
    except RefusedTarget as exc:
        raise Invalid("webhook", exc.message) from None


async def _projects_after(
    session: AsyncSession, body: NotificationPatch, current: list[str], project_id: str | None
) -> list[str]:
    """The projects the integration is restricted to once `body` is applied: those it names
    (each must exist: 400 naming it), none if it lifts the restriction, else the current
    ones. Under a project, that project: a body there names none."""
    given = [("projects", body.projects)]
    if body.restrictions is not None:
        given.append(("restrictions.projects", body.restrictions.projects))
    for field, named in given:
        if named is not None and project_id is not None:
            raise Invalid(
                field,
                f"an integration of project {project_id!r} hears that project only: "
                "restrict it to others under /v1/integrations/notifications",
            )
        existing = await existing_project_ids(session, set(named or ()))
        for index, named_id in enumerate(named or ()):
            if named_id not in existing:
                raise Invalid(f"{field}[{index}]", f"project {named_id!r} not found")
    if project_id is not None:
        return current or [project_id]
    named_projects = body.named_projects()
    if named_projects is not None:
        return named_projects
    return [] if body.restricted is False else current


def _whole(
    body: dict[str, Any], projects: list[str], project_id: str | None, given: NotificationPatch
) -> NotificationSpec:
    """The integration's whole spec from a merged body: its projects in
    `restrictions.projects` (none at the top level), restricted when it has some and the
    request (`given`) did not say otherwise (under a project, always)."""
    whole = {key: value for key, value in body.items() if key != "projects"}
    restrictions = dict(whole.pop("restrictions", None) or {})
    restrictions.pop("projects", None)
    if projects:
        restrictions["projects"] = projects
        if project_id is not None or given.restricted is None:
            whole["restricted"] = True
    if restrictions:
        whole["restrictions"] = restrictions
    return validated(NotificationSpec, whole)


async def _store(
    session: AsyncSession,
    box: SecretBox,
    principal: Principal,
    integration: NotificationIntegration,
    spec: NotificationSpec,
) -> None:
    """Write `spec` into the integration (and which projects it hears), with which logs its
    payloads may carry: those the writing token may read (a Notifications token alone must
    not become a log reader)."""
    integration.job_logs = principal.can(Permission.JOBS_OBSERVE)
    integration.service_logs = principal.can(Permission.SERVICES_OBSERVE)
    body = wire_body(spec)
    secret = body.pop("secret", None)
    integration.spec = body | {"webhook": shown_webhook(spec.webhook)}
    integration.sealed_webhook = box.seal(
        spec.webhook.encode(), context=webhook_context(integration.uid)
    )
    if secret is not None:
        context = secret_context(integration.uid)
        integration.sealed_secret = box.seal(secret.encode(), context=context)
    projects = projects_of(integration)
    integration.all_projects = not projects
    await session.flush()
    await repository.restrict(session, integration, projects)


def _clash(integration_id: str, name: str) -> Conflict:
    return Conflict(
        f"A notification integration with id {integration_id!r} already exists",
        {"name": [name]},
    )


async def create_integration(
    session: AsyncSession,
    box: SecretBox,
    principal: Principal,
    settings: Settings,
    project_id: str | None,
    body: NotificationSpec,
) -> NotificationResponse:
    """A RAW_WEBHOOK integration without a secret gets a generated one (shown once, in this
    reply, with the webhook URL in full)."""
    if project_id is not None:
        await get_project(session, project_id)
    integration_id = slugify(body.name)
    if await repository.get(session, integration_id) is not None:
        raise _clash(integration_id, body.name)
    projects = await _projects_after(session, body, [], project_id)
    spec = _whole(changes_of(body), projects, project_id, body)
    await _check_webhook(spec.webhook, settings)
    if spec.type == "RAW_WEBHOOK" and spec.secret is None:
        spec = spec.model_copy(update={"secret": secrets.token_urlsafe(32)})
    integration = NotificationIntegration(id=integration_id, uid=new_uid())
    session.add(integration)
    try:
        await _store(session, box, principal, integration, spec)
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise _clash(integration_id, body.name) from exc
    return response(integration, settings, spec.secret, spec.webhook)


async def update_integration(
    session: AsyncSession,
    box: SecretBox,
    principal: Principal,
    settings: Settings,
    project_id: str | None,
    integration_id: str,
    patch: NotificationPatch,
) -> NotificationResponse:
    """Merge `patch` into the integration (its webhook URL opened) and re-validate the whole;
    its id stays. The redacted URL a read showed, sent back, leaves the URL as it is."""
    integration = await get_integration(session, project_id, integration_id)
    changes = changes_of(patch)
    if changes.get("webhook") == spec_of(integration).webhook:
        del changes["webhook"]
    projects = await _projects_after(session, patch, projects_of(integration), project_id)
    current = integration.spec | {"webhook": opened_webhook(box, integration)}
    spec = _whole(merged(current, changes, MERGED_OBJECTS), projects, project_id, patch)
    if "webhook" in changes:
        await _check_webhook(spec.webhook, settings)
    await _store(session, box, principal, integration, spec)
    await session.commit()
    return response(integration, settings, webhook=changes.get("webhook"))


async def delete_integration(
    session: AsyncSession, project_id: str | None, integration_id: str
) -> None:
    """The integration goes with its deliveries, pending ones too."""
    integration = await get_integration(session, project_id, integration_id)
    await repository.remove(session, integration)
    await session.commit()


async def forget_project(session: AsyncSession, project_id: str) -> None:
    """The project is being deleted: the integrations restricted to it alone go (with their
    deliveries), the others restricted to it no longer name it."""
    for integration in await repository.only_of(session, project_id):
        await repository.remove(session, integration)
    for integration in await repository.restricted_to(session, project_id):
        kept = [p for p in projects_of(integration) if p != project_id]
        restrictions = integration.spec["restrictions"] | {"projects": kept}
        integration.spec = integration.spec | {"restrictions": restrictions}
        await repository.restrict(session, integration, kept)


async def send_test(
    session: AsyncSession, project_id: str | None, integration_id: str
) -> DeliveryResponse:
    """Queue a `trigger:test` delivery to the integration, whatever its filters."""
    integration = await get_integration(session, project_id, integration_id)
    payload = test_event_payload(project_id, integration.id, spec_of(integration).name, utcnow())
    [delivery] = enqueue(session, [integration], Event.TEST, payload)
    await session.commit()
    return delivery_response(delivery, [])


# ---- the worker side -----------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds: what to send where."""

    pk: int
    id: str
    event: str
    integration_pk: int
    url: str
    body: str
    secret: str | None
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the status code (none without an answer), its latency, and
    `error` unless it was a 2xx."""

    status_code: int | None
    latency_ms: int
    error: str | None


def backoff_seconds(attempts: int, scale: float, jitter: float) -> float:
    """The wait after `attempts` failed attempts: 5 s doubled each time, at most 10 min, times
    `scale` (DOCKYARD_NOTIFICATION_BACKOFF_SCALE) and `jitter` (drawn around 1, so that the
    deliveries of one outage do not all come back at once)."""
    return doubling(attempts, BACKOFF_BASE_SECONDS, BACKOFF_MAX_SECONDS) * scale * jitter


def render_body(
    integration: NotificationIntegration, delivery: NotificationDelivery, base_url: str
) -> str:
    if spec_of(integration).type == "SLACK":
        return slack_body(delivery.payload, base_url)
    return webhook_body(delivery.payload, delivery.id, base_url)


def _claimed(
    box: SecretBox, delivery: NotificationDelivery, integration: NotificationIntegration, body: str
) -> Claimed:
    sealed = integration.sealed_secret
    return Claimed(
        pk=delivery.pk,
        id=delivery.id,
        event=delivery.event,
        integration_pk=integration.pk,
        url=opened_webhook(box, integration),
        body=body,
        secret=box.open(sealed, context=secret_context(integration.uid)).decode()
        if sealed
        else None,
        attempts=delivery.attempts,
        created_at=delivery.created_at,
    )


async def claim_due(
    session: AsyncSession,
    box: SecretBox,
    settings: Settings,
    worker_id: str,
    count: int,
    busy: set[int],
) -> list[Claimed]:
    """Up to `count` due deliveries, at most one per integration and none of the integrations
    in `busy` (one being sent already: a slow target holds one slot, not all), held by this
    worker until its lease ends. A delivery's body is rendered and stored at its first claim,
    so that every retry sends the same bytes."""
    now = utcnow()
    lease = timedelta(seconds=settings.notification_timeout_seconds + settings.worker_lease_seconds)
    taken: list[Claimed] = []
    taken_integrations = set(busy)
    for delivery, integration in await repository.due(session, now, count * 4):
        if len(taken) >= count or integration.pk in taken_integrations:
            continue
        body = delivery.body or render_body(integration, delivery, settings.base_url)
        claim = {"claimed_by": worker_id, "claimed_until": now + lease, "body": body}
        if await repository.claim(session, delivery, claim):
            taken_integrations.add(integration.pk)
            taken.append(_claimed(box, delivery, integration, body))
    return taken


def _outcome_changes(
    claimed: Claimed, outcome: Outcome, settings: Settings, jitter: float, now: datetime
) -> dict[str, Any]:
    """The delivery's row after an attempt: succeeded, failed once the retry time is up,
    else pending until its back-off has passed."""
    attempts = claimed.attempts + 1
    released: dict[str, Any] = {"attempts": attempts, "claimed_by": None, "claimed_until": None}
    if outcome.error is None:
        return released | {"status": "succeeded", "concluded_at": now}
    wait = backoff_seconds(attempts, settings.notification_backoff_scale, jitter)
    retry_at = now + timedelta(seconds=wait)
    give_up_at = claimed.created_at + timedelta(seconds=settings.notification_retry_seconds)
    if retry_at > give_up_at:
        return released | {"status": "failed", "concluded_at": now}
    return released | {"next_attempt_at": retry_at}


async def record_attempt(
    session: AsyncSession,
    settings: Settings,
    worker_id: str,
    claimed: Claimed,
    outcome: Outcome,
    jitter: float,
) -> bool:
    """Store the attempt (whatever became of the claim: it was made) and, while this worker
    still holds the delivery, its new state; count the integration's failures in a row.
    Whether the delivery's state was written."""
    now = utcnow()
    session.add(
        NotificationAttempt(
            delivery_pk=claimed.pk,
            number=claimed.attempts + 1,
            attempted_at=now,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
        )
    )
    if outcome.error is None:
        await repository.clear_failures(session, claimed.integration_pk)
    else:
        await repository.count_failure(session, claimed.integration_pk, outcome.error, now)
    changes = _outcome_changes(claimed, outcome, settings, jitter, now)
    return await repository.settle(session, claimed.pk, worker_id, changes)


async def release(session: AsyncSession, delivery_pks: list[int], worker_id: str) -> None:
    await repository.release(session, delivery_pks, worker_id)
