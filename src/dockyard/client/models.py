"""What the API answers, as typed objects. Only the fields dockyard's own CLI reads are named;
every other field the server sends is kept (`extra="allow"`) and comes back in `raw()`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

BuildStatus = Literal[
    "QUEUED",
    "PENDING",
    "UNSCHEDULABLE",
    "STARTING",
    "CLONING",
    "BUILDING",
    "UPLOADING",
    "ABORTED",
    "FAILURE",
    "SUBMISSION_FAILURE",
    "SUCCESS",
    "CRASHED",
    "IN_PROGRESS",
]
RunStatus = Literal["SUCCESS", "RUNNING", "FAILED"]


class Resource(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def raw(self) -> dict[str, Any]:
        """The object as the server sent it (camelCase wire names)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class Project(Resource):
    id: str
    name: str
    description: str | None = None
    created_at: str | None = None


class Job(Resource):
    id: str
    name: str
    job_type: str | None = None
    description: str | None = None


class Service(Resource):
    id: str
    name: str
    service_type: str | None = None
    description: str | None = None


class WebhookSecret(Resource):
    """A project's webhook secret; `secret` only in the answer to setting it."""

    id: str
    repository: str
    created_at: str | None = None
    secret: str | None = None


class VcsLink(Resource):
    """A VCS link (a login and token, or an ssh deploy key, on a git server); a token or
    private key is never sent, an ssh link's public key is."""

    vcs_link_id: str
    name: str
    login: str
    vcs_service: str
    vcs_type: str | None = None
    vcs_url: str
    id: str | None = None
    kind: str = "token"
    public_key: str | None = None
    host_key: str | None = None
    self_hosted_vcs_id: str | None = None


class SelfHostedVcs(Resource):
    """A self-hosted git server that token links name by `selfHostedVcsId`."""

    id: str
    self_hosted_vcs_id: str
    name: str
    vcs_type: str | None = None
    vcs_url: str
    created_at: str | None = None


class RegistryLogin(Resource):
    """Registry credentials as the server shows them: never their password."""

    id: str
    name: str
    provider: str
    registry_url: str
    created_at: str | None = None


class ApiToken(Resource):
    """An API token as `GET /v1/tokens` lists it; `token`, its secret, only in the answer to
    creating it."""

    id: str
    name: str
    admin: bool = False
    permissions: list[str] = []
    projects: list[str] | None = None
    expires_at: str | None = None
    revoked: bool = False
    created_at: str | None = None
    token: str | None = None


class Build(Resource):
    id: str
    status: BuildStatus
    concluded: bool = False
    success: bool | None = None
    branch: str | None = None
    sha: str | None = None
    pull_request_id: int | str | None = None
    message: str | None = None
    created_at: str | None = None
    build_concluded_at: float | None = None

    @property
    def failed(self) -> bool:
        return self.concluded and self.status != "SUCCESS"


class Run(Resource):
    id: str
    run_name: str | None = None
    status: RunStatus | None = None
    concluded: bool = False
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    backoff_limit: int | None = None
    started_at: str | None = None
    concluded_at: str | None = None

    @property
    def unsuccessful(self) -> bool:
        return self.concluded and self.status != "SUCCESS"


class AttemptUsage(Resource):
    """What one attempt's container of a run used at its last sample (CPU in cores, memory
    in MiB) and at most, from `GET .../jobs/{jobId}/metrics` (queryType single)."""

    run_id: str
    container_name: str
    cpu: float | None = None
    cpu_peak: float | None = None
    memory_mb: float | None = None
    memory_peak_mb: float | None = None
    memory_limit_mb: float | None = None
    oom_killed: bool = False


class LogLine(Resource):
    container_id: str
    log: str
    ts: str
