"""Who may do what to notification integrations, as typed dependencies."""

from typing import Annotated

from fastapi import Depends

from dockyard.api.deps import requires
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal

NotificationsCreate = Annotated[Principal, Depends(requires(Permission.NOTIFICATIONS_CREATE))]
NotificationsRead = Annotated[Principal, Depends(requires(Permission.NOTIFICATIONS_READ))]
NotificationsUpdate = Annotated[Principal, Depends(requires(Permission.NOTIFICATIONS_UPDATE))]
NotificationsDelete = Annotated[Principal, Depends(requires(Permission.NOTIFICATIONS_DELETE))]
