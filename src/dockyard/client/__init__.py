"""A small typed client of dockyard's API (httpx), used by the `dockyard` CLI and importable:

from dockyard.client import DockyardClient, LogSource, Owner, tail
"""

from dockyard.client.api import DockyardClient, LogSource, Owner
from dockyard.client.errors import ApiError
from dockyard.client.models import (
    AttemptUsage,
    Build,
    Job,
    LogLine,
    Project,
    RegistryLogin,
    Run,
    Service,
    VcsLink,
    WebhookSecret,
)
from dockyard.client.tail import tail

__all__ = [
    "ApiError",
    "AttemptUsage",
    "Build",
    "DockyardClient",
    "Job",
    "LogLine",
    "LogSource",
    "Owner",
    "Project",
    "RegistryLogin",
    "Run",
    "Service",
    "VcsLink",
    "WebhookSecret",
    "tail",
]
