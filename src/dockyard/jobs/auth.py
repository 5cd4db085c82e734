"""Who may do what to jobs, as typed dependencies."""

from typing import Annotated

from fastapi import Depends

from dockyard.api.deps import requires
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal

JobsCreate = Annotated[Principal, Depends(requires(Permission.JOBS_CREATE))]
JobsRead = Annotated[Principal, Depends(requires(Permission.JOBS_READ))]
JobsUpdate = Annotated[Principal, Depends(requires(Permission.JOBS_UPDATE))]
JobsDelete = Annotated[Principal, Depends(requires(Permission.JOBS_DELETE))]
