"""Notification integrations, on two route sets made by one function over one service: the
team's, under /v1/integrations/notifications as the official clients call them (Account
permissions; a token limited to projects is refused), and each project's, under
/v1/projects/{projectId}/notifications (Project permissions), which are the integrations
restricted to that project. Both: create, list, get, update (POST, as the official clients
do), delete, and dockyard's additions, the deliveries and a test event."""

# No `from __future__ import annotations`: the routes' annotations name the dependencies of
# the route set being made, which FastAPI must see as objects.

from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, Path

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep, WorkerWakeDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import (
    NotificationsCreate,
    NotificationsDelete,
    NotificationsRead,
    NotificationsUpdate,
    TeamNotificationsCreate,
    TeamNotificationsDelete,
    TeamNotificationsRead,
    TeamNotificationsUpdate,
)
from dockyard.auth.service import Principal
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

ProjectId = Annotated[str, Path(max_length=64, description="ID of the project")]
NotificationId = Annotated[
    str, Path(max_length=64, description="ID of the notification integration")
]


class Allowed(NamedTuple):
    """The permission dependency of each kind of call of a route set."""

    create: Any
    read: Any
    update: Any
    delete: Any


def _dependency(permission: Any) -> Any:
    """The dependency inside a permission of api/permissions.py (Annotated[Principal, ...])."""
    return permission.__metadata__[0]


def notification_routes(
    prefix: str, scope: Callable[..., str | None], allowed: Allowed
) -> APIRouter:
    """The routes of integrations under `prefix`; `scope` is the project they are restricted
    to (from the path), or None for the team's."""
    router = APIRouter(prefix=prefix, tags=["notifications"])
    Scope = Annotated[str | None, Depends(scope)]
    Creator = Annotated[Principal, _dependency(allowed.create)]
    Reader = Annotated[Principal, _dependency(allowed.read)]
    Updater = Annotated[Principal, _dependency(allowed.update)]
    Deleter = Annotated[Principal, _dependency(allowed.delete)]

    @router.post("")
    async def create_notification(
        project_id: Scope,
        body: NotificationSpec,
        session: SessionDep,
        box: SecretBoxDep,
        settings: SettingsDep,
        principal: Creator,
    ) -> Envelope[NotificationResponse]:
        """Create an integration; 409 if one with that name's id exists. The reply (only
        this one) shows a RAW_WEBHOOK integration's signing secret, generated when none was
        given, and the webhook URL in full (reads show it redacted). Unrestricted, it hears
        every project, those created later too; restricted, the projects it names
        (`projects` or `restrictions.projects`: 400 naming one that does not exist) and the
        jobs, services and tags of `restrictions`. Its payloads carry the log lines of jobs /
        services only if this token may read them."""
        created = await service.create_integration(
            session, box, principal, settings, project_id, body
        )
        return Envelope(data=created)

    @router.get("")
    async def list_notifications(
        project_id: Scope, session: SessionDep, settings: SettingsDep, page: PageDep, _: Reader
    ) -> ListEnvelope[NotificationList]:
        result = await service.list_integrations(session, project_id, page)
        items = [
            NotificationListItem.model_validate(service.response(found, settings).model_dump())
            for found in result.items
        ]
        return ListEnvelope(
            data=NotificationList(notification_integrations=items),
            pagination=pagination_of(result),
        )

    @router.get("/{notificationId}")
    async def get_notification(
        project_id: Scope,
        notificationId: NotificationId,
        session: SessionDep,
        settings: SettingsDep,
        _: Reader,
    ) -> Envelope[NotificationResponse]:
        found = await service.get_integration(session, project_id, notificationId)
        return Envelope(data=service.response(found, settings))

    @router.post("/{notificationId}")
    async def update_notification(
        project_id: Scope,
        notificationId: NotificationId,
        body: NotificationPatch,
        session: SessionDep,
        box: SecretBoxDep,
        settings: SettingsDep,
        principal: Updater,
    ) -> Envelope[NotificationResponse]:
        """Merge the given fields into the integration (`events` key by key; `projects`
        replace its projects, `restricted: false` lifts the restriction) and re-validate it;
        its payloads carry the logs the updating token may read, no others. The reply shows
        the webhook URL in full only if the body gave it."""
        updated = await service.update_integration(
            session, box, principal, settings, project_id, notificationId, body
        )
        return Envelope(data=updated)

    @router.delete("/{notificationId}")
    async def delete_notification(
        project_id: Scope, notificationId: NotificationId, session: SessionDep, _: Deleter
    ) -> Envelope[dict[str, str]]:
        """Delete the integration with its deliveries (pending ones are never sent)."""
        await service.delete_integration(session, project_id, notificationId)
        return Envelope(data={})

    @router.get("/{notificationId}/deliveries")
    async def list_notification_deliveries(
        project_id: Scope,
        notificationId: NotificationId,
        session: SessionDep,
        page: PageDep,
        _: Reader,
    ) -> ListEnvelope[DeliveryList]:
        """The integration's deliveries, newest first, each with its attempts."""
        result, deliveries = await service.list_deliveries(
            session, project_id, notificationId, page
        )
        return ListEnvelope(
            data=DeliveryList(deliveries=deliveries), pagination=pagination_of(result)
        )

    @router.post("/{notificationId}/test")
    async def test_notification(
        project_id: Scope,
        notificationId: NotificationId,
        session: SessionDep,
        wake: WorkerWakeDep,
        _: Updater,
    ) -> Envelope[DeliveryResponse]:
        """Queue a `trigger:test` delivery to the integration, whatever its filters."""
        delivery = await service.send_test(session, project_id, notificationId)
        wake.set()
        return Envelope(data=delivery)

    return router


def _team() -> None:
    """The team's integrations: no project."""
    return None


def _project(projectId: ProjectId) -> str:
    """The integrations restricted to the path's project."""
    return projectId


router = notification_routes(
    "/integrations/notifications",
    _team,
    Allowed(
        TeamNotificationsCreate,
        TeamNotificationsRead,
        TeamNotificationsUpdate,
        TeamNotificationsDelete,
    ),
)
project_router = notification_routes(
    "/projects/{projectId}/notifications",
    _project,
    Allowed(NotificationsCreate, NotificationsRead, NotificationsUpdate, NotificationsDelete),
)
