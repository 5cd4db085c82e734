"""Who may do what to services, as typed dependencies."""

from typing import Annotated

from fastapi import Depends

from dockyard.api.deps import requires
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal

ServicesCreate = Annotated[Principal, Depends(requires(Permission.SERVICES_CREATE))]
ServicesRead = Annotated[Principal, Depends(requires(Permission.SERVICES_READ))]
ServicesUpdate = Annotated[Principal, Depends(requires(Permission.SERVICES_UPDATE))]
ServicesDelete = Annotated[Principal, Depends(requires(Permission.SERVICES_DELETE))]
