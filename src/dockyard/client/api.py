"""`DockyardClient`: dockyard's API over httpx, one method per call, answers as typed objects.

with DockyardClient("http://127.0.0.1:8088", token) as api:
    build = api.start_build(Owner.job("my-project", "my-job"), sha="…")
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx

from dockyard.client.errors import ApiError
from dockyard.client.models import (
    ApiToken,
    AttemptUsage,
    Build,
    Job,
    LogLine,
    Project,
    RegistryLogin,
    Resource,
    Run,
    SelfHostedVcs,
    Service,
    VcsLink,
    WebhookSecret,
)

R = TypeVar("R", bound=Resource)
PAGE_SIZE = 100
SELF_HOSTED = "/v1/integrations/vcs/self-hosted"


@dataclass(frozen=True)
class Owner:
    """What builds belong to: a job or a build service of a project."""

    project: str
    kind: Literal["job", "service"]
    id: str

    @classmethod
    def job(cls, project: str, job_id: str) -> Owner:
        return cls(project, "job", job_id)

    @classmethod
    def service(cls, project: str, service_id: str) -> Owner:
        return cls(project, "service", service_id)

    @property
    def path(self) -> str:
        return f"/v1/projects/{self.project}/{self.kind}s/{self.id}"


class DockyardClient:
    """A token's view of one dockyard server. Errors raise `ApiError`; network failures raise
    httpx's own `httpx.TransportError`."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def __enter__(self) -> DockyardClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---- transport --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """The `data` of the answer to one call."""
        response = self._http.request(method, path, json=json, params=params)
        if response.is_error:
            raise ApiError.of(response)
        if not response.content:
            return None
        return response.json().get("data")

    def pages(
        self, path: str, key: str, query: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (`query` added to each call), following the server's
        cursor."""
        params: dict[str, Any] = {"per_page": PAGE_SIZE, **(query or {})}
        while True:
            response = self._http.get(path, params=params)
            if response.is_error:
                raise ApiError.of(response)
            body = response.json()
            yield from body["data"][key]
            pagination = body.get("pagination") or {}
            if not pagination.get("hasNextPage") or not pagination.get("cursor"):
                return
            params = {"per_page": PAGE_SIZE, **(query or {}), "cursor": pagination["cursor"]}

    def _one(self, model: type[R], method: str, path: str, body: Any = None) -> R:
        return model.model_validate(self.request(method, path, json=body))

    def _all(
        self, model: type[R], path: str, key: str, query: dict[str, Any] | None = None
    ) -> list[R]:
        return [model.model_validate(item) for item in self.pages(path, key, query)]

    # ---- projects ---------------------------------------------------------------------------

    def list_projects(self) -> list[Project]:
        return self._all(Project, "/v1/projects", "projects")

    def get_project(self, project: str) -> Project:
        return self._one(Project, "GET", f"/v1/projects/{project}")

    def create_project(self, name: str, description: str | None = None) -> Project:
        body = {"name": name} | ({"description": description} if description else {})
        return self._one(Project, "POST", "/v1/projects", body)

    def delete_project(self, project: str) -> None:
        self.request("DELETE", f"/v1/projects/{project}", params={"delete_child_objects": "true"})

    # ---- webhook secrets --------------------------------------------------------------------

    def set_webhook_secret(
        self, project: str, repository: str, secret: str | None = None
    ) -> WebhookSecret:
        """The project's secret for the repository's webhooks (made by the server if none is
        given), replacing the one it had; the answer is the only one to show it."""
        body = _without_none({"repository": repository, "secret": secret})
        return self._one(WebhookSecret, "POST", f"/v1/projects/{project}/webhook-secrets", body)

    def list_webhook_secrets(self, project: str) -> list[WebhookSecret]:
        path = f"/v1/projects/{project}/webhook-secrets"
        return self._all(WebhookSecret, path, "webhookSecrets")

    def delete_webhook_secret(self, project: str, secret_id: str) -> None:
        self.request("DELETE", f"/v1/projects/{project}/webhook-secrets/{secret_id}")

    # ---- integrations: VCS links and registry credentials ----------------------------------

    def list_vcs_links(self) -> list[VcsLink]:
        """Every link, whole: its kind, an ssh link's public and host keys."""
        return self._all(VcsLink, "/v1/integrations/vcs/links", "links")

    def create_vcs_link(self, body: dict[str, Any]) -> VcsLink:
        """A link from the body of POST /v1/integrations/vcs/links: a token link (`token` in
        it) or an ssh link (`"kind": "ssh"`; the answer shows the new `publicKey`)."""
        return self._one(VcsLink, "POST", "/v1/integrations/vcs/links", body)

    def rotate_vcs_link_key(self, link_id: str) -> VcsLink:
        """The ssh link with a new deploy key; the answer shows its public key."""
        return self._one(VcsLink, "POST", f"/v1/integrations/vcs/links/{link_id}/rotate-key")

    def pin_vcs_link_host_key(self, link_id: str, host_key: str | None) -> VcsLink:
        """The ssh link with `host_key` pinned (None: the next fetch records the server's)."""
        path = f"/v1/integrations/vcs/links/{link_id}/host-key"
        return self._one(VcsLink, "PUT", path, {"hostKey": host_key})

    def rotate_vcs_link(self, link_id: str, token: str, login: str | None = None) -> VcsLink:
        """The link (its id or vcsLinkId) with a new token (and login, when given)."""
        body = _without_none({"token": token, "login": login})
        return self._one(VcsLink, "PATCH", f"/v1/integrations/vcs/links/{link_id}", body)

    def delete_vcs_link(self, link_id: str) -> None:
        self.request("DELETE", f"/v1/integrations/vcs/links/{link_id}")

    def list_self_hosted_vcs(self) -> list[SelfHostedVcs]:
        return self._all(SelfHostedVcs, SELF_HOSTED, "selfHostedVcs")

    def add_self_hosted_vcs(
        self, name: str, vcs_url: str, vcs_type: str | None = None
    ) -> SelfHostedVcs:
        body = _without_none({"name": name, "vcsUrl": vcs_url, "vcsType": vcs_type})
        return self._one(SelfHostedVcs, "POST", SELF_HOSTED, body)

    def delete_self_hosted_vcs(self, record_id: str) -> None:
        self.request("DELETE", f"{SELF_HOSTED}/{record_id}")

    def list_registry_credentials(self) -> list[RegistryLogin]:
        return self._all(RegistryLogin, "/v1/integrations/registries", "credentials")

    def add_registry_credentials(self, body: dict[str, Any]) -> RegistryLogin:
        return self._one(RegistryLogin, "POST", "/v1/integrations/registries", body)

    def update_registry_credentials(
        self, credentials_id: str, body: dict[str, Any]
    ) -> RegistryLogin:
        path = f"/v1/integrations/registries/{credentials_id}"
        return self._one(RegistryLogin, "PATCH", path, body)

    def delete_registry_credentials(self, credentials_id: str) -> None:
        self.request("DELETE", f"/v1/integrations/registries/{credentials_id}")

    # ---- API tokens -------------------------------------------------------------------------

    def list_tokens(self, *, include_inactive: bool = False) -> list[ApiToken]:
        query = {"all": "true"} if include_inactive else None
        return self._all(ApiToken, "/v1/tokens", "tokens", query)

    def create_token(self, body: dict[str, Any]) -> ApiToken:
        """A new token; its secret is in `token` of this answer only."""
        return self._one(ApiToken, "POST", "/v1/tokens", body)

    def revoke_token(self, token_id: str) -> ApiToken:
        return self._one(ApiToken, "DELETE", f"/v1/tokens/{token_id}")

    # ---- jobs and build services ------------------------------------------------------------

    def list_jobs(self, project: str) -> list[Job]:
        return self._all(Job, f"/v1/projects/{project}/jobs", "jobs")

    def get_job(self, project: str, job_id: str) -> Job:
        return self._one(Job, "GET", Owner.job(project, job_id).path)

    def create_manual_job(self, project: str, spec: dict[str, Any]) -> Job:
        """A manual job from the body of the create-manual-job page."""
        return self._one(Job, "POST", f"/v1/projects/{project}/jobs/manual", spec)

    def create_cron_job(self, project: str, spec: dict[str, Any]) -> Job:
        """A cron job from the body of the create-cron-job page (a manual job's fields plus
        `schedule`, `concurrencyPolicy`, `suspended`)."""
        return self._one(Job, "POST", f"/v1/projects/{project}/jobs/cron", spec)

    def delete_job(self, project: str, job_id: str) -> None:
        self.request("DELETE", Owner.job(project, job_id).path)

    def list_services(self, project: str) -> list[Service]:
        return self._all(Service, f"/v1/projects/{project}/services", "services")

    def get_service(self, project: str, service_id: str) -> Service:
        return self._one(Service, "GET", Owner.service(project, service_id).path)

    def create_build_service(self, project: str, spec: dict[str, Any]) -> Service:
        return self._one(Service, "POST", f"/v1/projects/{project}/services/build", spec)

    def delete_service(self, project: str, service_id: str) -> None:
        self.request("DELETE", Owner.service(project, service_id).path)

    # ---- builds -----------------------------------------------------------------------------

    def list_builds(self, owner: Owner) -> list[Build]:
        return self._all(Build, f"{owner.path}/build", "builds")

    def get_build(self, owner: Owner, build_id: str) -> Build:
        return self._one(Build, "GET", f"{owner.path}/build/{build_id}")

    def start_build(
        self,
        owner: Owner,
        *,
        sha: str | None = None,
        branch: str | None = None,
        build_arguments: dict[str, str] | None = None,
    ) -> Build:
        """Build a commit: `sha`, or the head of `branch` (services; a job builds its own
        branch), with `build_arguments` for this build only."""
        body: dict[str, Any] = {"sha": sha, "branch": branch}
        if build_arguments:
            body["overrides"] = {"buildArguments": build_arguments}
        return self._one(Build, "POST", f"{owner.path}/build", _without_none(body))

    def abort_build(self, owner: Owner, build_id: str) -> None:
        self.request("DELETE", f"{owner.path}/build/{build_id}")

    # ---- runs -------------------------------------------------------------------------------

    def list_runs(self, project: str, job_id: str) -> list[Run]:
        return self._all(Run, f"{Owner.job(project, job_id).path}/runs", "runs")

    def get_run(self, project: str, job_id: str, run_id: str) -> Run:
        return self._one(Run, "GET", f"{Owner.job(project, job_id).path}/runs/{run_id}")

    def start_run(
        self, project: str, job_id: str, *, environment: dict[str, str] | None = None
    ) -> Run:
        """Run the job once, with `environment` added to its runtime variables."""
        body = {"runtimeEnvironment": environment} if environment else {}
        return self._one(Run, "POST", f"{Owner.job(project, job_id).path}/runs", body)

    def abort_run(self, project: str, job_id: str, run_id: str) -> None:
        self.request("DELETE", f"{Owner.job(project, job_id).path}/runs/{run_id}")

    def usage(self, project: str, job_id: str, run_id: str | None = None) -> list[AttemptUsage]:
        """The last sample and the peaks of each attempt of the job's runs (or of one)."""
        params = {"queryType": "single", "metricTypes": ["cpu", "memory"], "runId": run_id}
        path = f"{Owner.job(project, job_id).path}/metrics"
        metrics = self.request("GET", path, params=_without_none(params))
        attempts: dict[str, dict[str, Any]] = {}
        for series in metrics["cpu"]["values"]:
            attempt = attempts.setdefault(series["metadata"]["containerName"], {})
            attempt.update(_attempt(series), cpu=_last(series), cpuPeak=series["metadata"]["peak"])
        for series in metrics["memory"]["values"]:
            metadata = series["metadata"]
            attempt = attempts.setdefault(metadata["containerName"], {})
            attempt.update(_attempt(series), memoryMb=_last(series), memoryPeakMb=metadata["peak"])
            attempt.update(memoryLimitMb=metadata.get("limit"), oomKilled=metadata["oomKilled"])
        return [AttemptUsage.model_validate(attempt) for attempt in attempts.values()]

    # ---- logs -------------------------------------------------------------------------------

    def logs(self, source: LogSource, *, line_limit: int = 1000) -> list[LogLine]:
        """The stored lines of a build or run, oldest first."""
        params = source.params | {"lineLimit": line_limit, "direction": "forward"}
        lines = self.request("GET", source.path, params=params)
        return [LogLine.model_validate(line) for line in lines]


@dataclass(frozen=True)
class LogSource:
    """The log lines of one build (of a job or service) or one run (of a job)."""

    owner: Owner
    build_id: str | None = None
    run_id: str | None = None

    @property
    def path(self) -> str:
        return f"{self.owner.path}/{'build-logs' if self.build_id else 'logs'}"

    @property
    def params(self) -> dict[str, Any]:
        if self.build_id:
            return {"buildId": self.build_id}
        return {"runId": self.run_id} if self.run_id else {}


def _attempt(series: dict[str, Any]) -> dict[str, Any]:
    metadata = series["metadata"]
    return {"runId": metadata["runId"], "containerName": metadata["containerName"]}


def _last(series: dict[str, Any]) -> float | None:
    points = series["data"]
    return float(points[-1]["value"]) if points else None


def _without_none(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}
