"""Notification integrations under /v1/projects/{projectId}/notifications: create, list, get,
update (POST, as the official clients do), delete, their deliveries, and a test event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep, WorkerWakeDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import (
    NotificationsCreate,
    NotificationsDelete,
    NotificationsRead,
    NotificationsUpdate,
)
from dockyard.notifications import service
from dockyard.notifications.schemas import (
    DeliveryList,
    DeliveryResponse,
    NotificationList,
    NotificationListItem,
    NotificationPatch,
    NotificationResponse,
    NotificationSpec,
)
from dockyard.wire.models import Envelope, ListEnvelope

router = APIRouter(prefix="/projects/{projectId}/notifications", tags=["notifications"])

ProjectId = Annotated[str, Path(max_length=64, description="ID of the project")]
NotificationId = Annotated[
    str, Path(max_length=64, description="ID of the notification integration")
]


@router.post("")
async def create_notification(
    projectId: ProjectId,
    body: NotificationSpec,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: NotificationsCreate,
) -> Envelope[NotificationResponse]:
    """Create an integration; 409 if one with that name's id exists. The reply (only this
    one) shows a RAW_WEBHOOK integration's signing secret, generated when none was given,
    and the webhook URL in full (reads show it redacted).
    Its payloads carry the log lines of jobs / services only if this token may read them."""
    stored = await service.create_integration(session, box, principal, settings, projectId, body)
    return Envelope(
        data=service.response(stored.integration, settings, stored.secret, stored.webhook)
    )


@router.get("")
async def list_notifications(
    projectId: ProjectId,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    _: NotificationsRead,
) -> ListEnvelope[NotificationList]:
    result = await service.list_integrations(session, projectId, page)
    items = [
        NotificationListItem.model_validate(service.response(integration, settings).model_dump())
        for integration in result.items
    ]
    return ListEnvelope(
        data=NotificationList(notification_integrations=items), pagination=pagination_of(result)
    )


@router.get("/{notificationId}")
async def get_notification(
    projectId: ProjectId,
    notificationId: NotificationId,
    session: SessionDep,
    settings: SettingsDep,
    _: NotificationsRead,
) -> Envelope[NotificationResponse]:
    integration = await service.get_integration(session, projectId, notificationId)
    return Envelope(data=service.response(integration, settings))


@router.post("/{notificationId}")
async def update_notification(
    projectId: ProjectId,
    notificationId: NotificationId,
    body: NotificationPatch,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: NotificationsUpdate,
) -> Envelope[NotificationResponse]:
    """Merge the given fields into the integration (`events` key by key) and re-validate it;
    its payloads carry the logs the updating token may read, no others. The reply shows the
    webhook URL in full only if the body gave it."""
    stored = await service.update_integration(
        session, box, principal, settings, projectId, notificationId, body
    )
    return Envelope(data=service.response(stored.integration, settings, webhook=stored.webhook))


@router.delete("/{notificationId}")
async def delete_notification(
    projectId: ProjectId,
    notificationId: NotificationId,
    session: SessionDep,
    _: NotificationsDelete,
) -> Envelope[dict[str, str]]:
    """Delete the integration with its deliveries (pending ones are never sent)."""
    await service.delete_integration(session, projectId, notificationId)
    return Envelope(data={})


@router.get("/{notificationId}/deliveries")
async def list_notification_deliveries(
    projectId: ProjectId,
    notificationId: NotificationId,
    session: SessionDep,
    page: PageDep,
    _: NotificationsRead,
) -> ListEnvelope[DeliveryList]:
    """The integration's deliveries, newest first, each with its attempts."""
    result, deliveries = await service.list_deliveries(session, projectId, notificationId, page)
    return ListEnvelope(data=DeliveryList(deliveries=deliveries), pagination=pagination_of(result))


@router.post("/{notificationId}/test")
async def test_notification(
    projectId: ProjectId,
    notificationId: NotificationId,
    session: SessionDep,
    wake: WorkerWakeDep,
    _: NotificationsUpdate,
) -> Envelope[DeliveryResponse]:
    """Queue a `trigger:test` delivery to the integration, whatever its filters."""
    delivery = await service.send_test(session, projectId, notificationId)
    wake.set()
    return Envelope(data=delivery)
