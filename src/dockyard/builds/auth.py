"""Who may start, read and abort builds of jobs and build services."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from dockyard.api.deps import requires
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal

JobBuildsDeploy = Annotated[Principal, Depends(requires(Permission.JOBS_DEPLOY_BUILD))]
JobBuildsRead = Annotated[Principal, Depends(requires(Permission.JOBS_READ))]
ServiceBuildsDeploy = Annotated[Principal, Depends(requires(Permission.SERVICES_DEPLOY_BUILD))]
ServiceBuildsRead = Annotated[Principal, Depends(requires(Permission.SERVICES_READ))]


@dataclass(frozen=True)
class TargetPermissions:
    """What the API asks of a token for the builds of a job or of a build service."""

    read: Permission
    observe: Permission  # their logs
    deploy: Permission  # start and abort them


TARGET_PERMISSIONS = {
    "job": TargetPermissions(
        Permission.JOBS_READ, Permission.JOBS_OBSERVE, Permission.JOBS_DEPLOY_BUILD
    ),
    "service": TargetPermissions(
        Permission.SERVICES_READ, Permission.SERVICES_OBSERVE, Permission.SERVICES_DEPLOY_BUILD
    ),
}
