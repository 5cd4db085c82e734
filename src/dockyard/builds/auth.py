"""Who may start, read and abort builds of jobs and build services."""

from typing import Annotated

from fastapi import Depends

from dockyard.api.deps import requires
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal

JobBuildsDeploy = Annotated[Principal, Depends(requires(Permission.JOBS_DEPLOY_BUILD))]
JobBuildsRead = Annotated[Principal, Depends(requires(Permission.JOBS_READ))]
ServiceBuildsDeploy = Annotated[Principal, Depends(requires(Permission.SERVICES_DEPLOY_BUILD))]
ServiceBuildsRead = Annotated[Principal, Depends(requires(Permission.SERVICES_READ))]
