"""Wire models of projects, after the official clients' project types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from dockyard.wire.fields import Description, Name
from dockyard.wire.models import RequestModel, Timestamp, WireModel

Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]

LifecycleStatus = Literal["created"]


def app_id(team_id: str, project_id: str, resource_id: str) -> str:
    """The `appId` of a job or service: `/<team>/<project>/<id>`."""
    return f"/{team_id}/{project_id}/{resource_id}"


class ProjectNetworking(RequestModel):
    allowed_ingress_projects: list[str] | None = None


class CreateProjectRequest(RequestModel):
    name: Name
    description: Description | None = None
    color: Color | None = None
    region: str | None = Field(default=None, max_length=64, description="accepted, not used")
    cluster_id: str | None = Field(default=None, max_length=64, description="accepted, not used")
    networking: ProjectNetworking | None = Field(default=None, description="accepted, not used")


class Cluster(WireModel):
    id: str
    name: str
    namespace: str


class ProjectResponse(WireModel):
    id: str
    uid: str
    name: str
    description: str | None = None
    color: str | None = None
    lifecycle_status: LifecycleStatus = "created"
    created_at: Timestamp
    updated_at: Timestamp


class ProjectChild(WireModel):
    app_id: str
    id: str
    uid: str
    name: str
    description: str | None = None


class ProjectJob(ProjectChild):
    job_type: Literal["manual", "cron"]


class ProjectService(ProjectChild):
    service_type: Literal["combined", "build", "deployment"]


class ProjectDetail(ProjectResponse):
    cluster: Cluster
    jobs: list[ProjectJob]
    services: list[ProjectService]
    addons: list[ProjectChild]


class ProjectSummary(WireModel):
    id: str
    uid: str
    name: str
    description: str | None = None
    lifecycle_status: LifecycleStatus = "created"


class ProjectList(WireModel):
    projects: list[ProjectSummary]
