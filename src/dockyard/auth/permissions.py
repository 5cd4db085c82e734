"""The permission strings tokens carry, exactly as the Northflank API pages name them."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    PROJECTS_CREATE = "Project > Projects > Manage > Create"
    PROJECTS_READ = "Project > Projects > Manage > Read"
    PROJECTS_UPDATE = "Project > Projects > Manage > Update"
    PROJECTS_DELETE = "Project > Projects > Manage > Delete"
    JOBS_CREATE = "Project > Jobs > General > Create"
    JOBS_READ = "Project > Jobs > General > Read"
    JOBS_UPDATE = "Project > Jobs > General > Update"
    JOBS_DELETE = "Project > Jobs > General > Delete"
    JOBS_RUN = "Project > Jobs > General > Run Job"
    JOBS_DEPLOY_BUILD = "Project > Jobs > Deployment > Deploy Build"
    JOBS_OBSERVE = "Project > Jobs > Deployment > View Observability"
    SERVICES_CREATE = "Project > Services > General > Create"
    SERVICES_READ = "Project > Services > General > Read"
    SERVICES_UPDATE = "Project > Services > General > Update"
    SERVICES_DELETE = "Project > Services > General > Delete"
    SERVICES_DEPLOY_BUILD = "Project > Services > Deployment > Deploy Build"
    SERVICES_OBSERVE = "Project > Services > Deployment > View Observability"
    JOB_SECRETS_READ = "Project > Secrets > Jobs > Read"
    JOB_SECRETS_UPDATE = "Project > Secrets > Jobs > Update"
    SERVICE_SECRETS_READ = "Project > Secrets > Services > Read"
    SERVICE_SECRETS_UPDATE = "Project > Secrets > Services > Update"
    NOTIFICATIONS_CREATE = "Project > Notifications > General > Create"
    NOTIFICATIONS_READ = "Project > Notifications > General > Read"
    NOTIFICATIONS_UPDATE = "Project > Notifications > General > Update"
    NOTIFICATIONS_DELETE = "Project > Notifications > General > Delete"
    # Team level: notification integrations (/v1/integrations/notifications).
    TEAM_NOTIFICATIONS_CREATE = "Account > Observability > Notifications > Create"
    TEAM_NOTIFICATIONS_READ = "Account > Observability > Notifications > Read"
    TEAM_NOTIFICATIONS_UPDATE = "Account > Observability > Notifications > Update"
    TEAM_NOTIFICATIONS_DELETE = "Account > Observability > Notifications > Delete"
    # Team level: dockyard's Prometheus metrics (GET /metrics); named after the pages' own.
    METRICS_READ = "Account > Observability > Metrics > Read"
    REGISTRIES_CREATE = "Account > Cloud > Registries > Create"
    REGISTRIES_READ = "Account > Cloud > Registries > Read"
    REGISTRIES_UPDATE = "Account > Cloud > Registries > Update"
    REGISTRIES_DELETE = "Account > Cloud > Registries > Delete"
    # Team level: VCS links. Read is the pages' string; the others name dockyard's routes.
    VCS_READ = "Account > Git > General > Read"
    VCS_CREATE = "Account > Git > General > Create"
    VCS_UPDATE = "Account > Git > General > Update"
    VCS_DELETE = "Account > Git > General > Delete"
    # Team level: API tokens. Read and Update are the official clients' strings.
    TOKENS_READ = "Account > Admin > ApiTokens > Read"
    TOKENS_CREATE = "Account > Admin > ApiTokens > Create"
    TOKENS_UPDATE = "Account > Admin > ApiTokens > Update"


def parse_permissions(values: list[str]) -> frozenset[Permission]:
    """Each value must name a permission exactly; raises ValueError naming the first unknown."""
    known = {permission.value: permission for permission in Permission}
    unknown = [value for value in values if value not in known]
    if unknown:
        raise ValueError(f"unknown permission {unknown[0]!r}")
    return frozenset(known[value] for value in values)
