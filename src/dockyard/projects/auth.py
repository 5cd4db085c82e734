"""Who may do what to projects, as typed dependencies."""

from typing import Annotated

from fastapi import Depends

from dockyard.api.deps import requires
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal

ProjectsCreate = Annotated[Principal, Depends(requires(Permission.PROJECTS_CREATE))]
ProjectsRead = Annotated[Principal, Depends(requires(Permission.PROJECTS_READ))]
ProjectsUpdate = Annotated[Principal, Depends(requires(Permission.PROJECTS_UPDATE))]
ProjectsDelete = Annotated[Principal, Depends(requires(Permission.PROJECTS_DELETE))]
