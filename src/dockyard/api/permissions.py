"""Who may call what: each route's permission as a typed dependency, declared once here so a
route's signature says who may call it (`_: JobsCreate`)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from dockyard.api.deps import get_principal, requires, requires_account
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal

AnyToken = Annotated[Principal, Depends(get_principal)]  # any valid token, no permission asked

ProjectsCreate = Annotated[Principal, Depends(requires(Permission.PROJECTS_CREATE))]
ProjectsRead = Annotated[Principal, Depends(requires(Permission.PROJECTS_READ))]
ProjectsUpdate = Annotated[Principal, Depends(requires(Permission.PROJECTS_UPDATE))]
ProjectsDelete = Annotated[Principal, Depends(requires(Permission.PROJECTS_DELETE))]

JobsCreate = Annotated[Principal, Depends(requires(Permission.JOBS_CREATE))]
JobsRead = Annotated[Principal, Depends(requires(Permission.JOBS_READ))]
JobsUpdate = Annotated[Principal, Depends(requires(Permission.JOBS_UPDATE))]
JobsDelete = Annotated[Principal, Depends(requires(Permission.JOBS_DELETE))]

ServicesCreate = Annotated[Principal, Depends(requires(Permission.SERVICES_CREATE))]
ServicesRead = Annotated[Principal, Depends(requires(Permission.SERVICES_READ))]
ServicesUpdate = Annotated[Principal, Depends(requires(Permission.SERVICES_UPDATE))]
ServicesDelete = Annotated[Principal, Depends(requires(Permission.SERVICES_DELETE))]

JobBuildsDeploy = Annotated[Principal, Depends(requires(Permission.JOBS_DEPLOY_BUILD))]
JobBuildsRead = Annotated[Principal, Depends(requires(Permission.JOBS_READ))]
ServiceBuildsDeploy = Annotated[Principal, Depends(requires(Permission.SERVICES_DEPLOY_BUILD))]
ServiceBuildsRead = Annotated[Principal, Depends(requires(Permission.SERVICES_READ))]

RunsStart = Annotated[Principal, Depends(requires(Permission.JOBS_RUN))]
RunsRead = Annotated[Principal, Depends(requires(Permission.JOBS_READ))]
RunsAbort = Annotated[Principal, Depends(requires(Permission.JOBS_UPDATE))]

NotificationsCreate = Annotated[Principal, Depends(requires(Permission.NOTIFICATIONS_CREATE))]
NotificationsRead = Annotated[Principal, Depends(requires(Permission.NOTIFICATIONS_READ))]
NotificationsUpdate = Annotated[Principal, Depends(requires(Permission.NOTIFICATIONS_UPDATE))]
NotificationsDelete = Annotated[Principal, Depends(requires(Permission.NOTIFICATIONS_DELETE))]

# The team's notification integrations: tokens limited to projects are refused.
TeamNotificationsCreate = Annotated[
    Principal, Depends(requires_account(Permission.TEAM_NOTIFICATIONS_CREATE))
]
TeamNotificationsRead = Annotated[
    Principal, Depends(requires_account(Permission.TEAM_NOTIFICATIONS_READ))
]
TeamNotificationsUpdate = Annotated[
    Principal, Depends(requires_account(Permission.TEAM_NOTIFICATIONS_UPDATE))
]
TeamNotificationsDelete = Annotated[
    Principal, Depends(requires_account(Permission.TEAM_NOTIFICATIONS_DELETE))
]

# Registry credentials are the account's: tokens limited to projects are refused.
RegistriesCreate = Annotated[Principal, Depends(requires_account(Permission.REGISTRIES_CREATE))]
RegistriesRead = Annotated[Principal, Depends(requires_account(Permission.REGISTRIES_READ))]
RegistriesUpdate = Annotated[Principal, Depends(requires_account(Permission.REGISTRIES_UPDATE))]
RegistriesDelete = Annotated[Principal, Depends(requires_account(Permission.REGISTRIES_DELETE))]

# The metrics are the installation's: tokens limited to projects are refused.
MetricsRead = Annotated[Principal, Depends(requires_account(Permission.METRICS_READ))]

# VCS links are the account's too.
VcsRead = Annotated[Principal, Depends(requires_account(Permission.VCS_READ))]
VcsCreate = Annotated[Principal, Depends(requires_account(Permission.VCS_CREATE))]
VcsUpdate = Annotated[Principal, Depends(requires_account(Permission.VCS_UPDATE))]
VcsDelete = Annotated[Principal, Depends(requires_account(Permission.VCS_DELETE))]

# API tokens are the account's: a token limited to projects neither lists nor makes them.
TokensRead = Annotated[Principal, Depends(requires_account(Permission.TOKENS_READ))]
TokensCreate = Annotated[Principal, Depends(requires_account(Permission.TOKENS_CREATE))]
TokensUpdate = Annotated[Principal, Depends(requires_account(Permission.TOKENS_UPDATE))]


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
