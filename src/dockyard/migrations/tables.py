"""Every domain's tables, imported once so Alembic and tests see the whole schema."""

from dockyard.auth.models import ApiToken
from dockyard.builds.models import Build
from dockyard.ci.models import CiEvent, ProjectWebhookSecret, WebhookDelivery
from dockyard.db.base import Base
from dockyard.jobs.models import Job
from dockyard.logs.models import LogLine
from dockyard.notifications.models import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationIntegration,
    NotificationIntegrationProject,
)
from dockyard.projects.models import Project
from dockyard.registries.models import RegistryCredential
from dockyard.runs.models import JobRun
from dockyard.services.models import Service
from dockyard.usage.models import UsageSample
from dockyard.vcs.models import SelfHostedVcs
from dockyard.vcslinks.models import VcsLink

__all__ = [
    "ApiToken",
    "Base",
    "Build",
    "CiEvent",
    "Job",
    "JobRun",
    "LogLine",
    "NotificationAttempt",
    "NotificationDelivery",
    "NotificationIntegration",
    "NotificationIntegrationProject",
    "Project",
    "ProjectWebhookSecret",
    "RegistryCredential",
    "SelfHostedVcs",
    "Service",
    "UsageSample",
    "VcsLink",
    "WebhookDelivery",
]
