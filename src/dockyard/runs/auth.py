"""Who may start, read and abort runs of jobs (the official clients' permissions)."""

from typing import Annotated

from fastapi import Depends

from dockyard.api.deps import requires
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal

RunsStart = Annotated[Principal, Depends(requires(Permission.JOBS_RUN))]
RunsRead = Annotated[Principal, Depends(requires(Permission.JOBS_READ))]
RunsAbort = Annotated[Principal, Depends(requires(Permission.JOBS_UPDATE))]
