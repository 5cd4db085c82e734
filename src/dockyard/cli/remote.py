"""What every command that talks to a server shares: the chosen context, the client, the
project, and the common options (`--project`, `--json`, `--job`/`--service`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated

import typer

from dockyard.cli import contexts
from dockyard.client import DockyardClient, Job, Owner, Project, Service
from dockyard.errors import DockyardError


@dataclass
class Remote:
    """The server of the chosen context; the client opens on first use."""

    context_name: str | None = None
    _client: DockyardClient | None = field(default=None, init=False)

    @property
    def context(self) -> contexts.Context:
        return contexts.resolve(self.context_name)

    @property
    def client(self) -> DockyardClient:
        if self._client is None:
            context = self.context
            self._client = DockyardClient(context.url, context.token)
        return self._client

    def project(self, option: str | None) -> str:
        project = option or self.context.project
        if not project:
            raise typer.BadParameter(
                "name a project, or set a default with `dockyard login --project`",
                param_hint="--project",
            )
        return project

    def owner(self, project: str | None, job: str | None, service: str | None) -> Owner:
        """The job or the build service (exactly one) a build belongs to."""
        if (job is None) == (service is None):
            raise typer.BadParameter("give exactly one of --job and --service")
        if job is not None:
            return Owner.job(self.project(project), job)
        assert service is not None
        return Owner.service(self.project(project), service)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def confirm_delete(what: str, yes: bool) -> None:
    if not yes:
        typer.confirm(f"Delete {what}?", abort=True)


def remote_of(ctx: typer.Context) -> Remote:
    remote = ctx.find_root().obj
    if not isinstance(remote, Remote):
        raise DockyardError("internal: the root command did not set up the remote")
    return remote


def complete_projects(ctx: typer.Context, incomplete: str) -> list[str]:
    return _complete(ctx, incomplete, lambda remote: remote.client.list_projects())


def complete_jobs(ctx: typer.Context, incomplete: str) -> list[str]:
    return _complete(
        ctx,
        incomplete,
        lambda remote: remote.client.list_jobs(remote.project(ctx.params.get("project"))),
    )


def complete_services(ctx: typer.Context, incomplete: str) -> list[str]:
    return _complete(
        ctx,
        incomplete,
        lambda remote: remote.client.list_services(remote.project(ctx.params.get("project"))),
    )


def _complete(
    ctx: typer.Context,
    incomplete: str,
    listing: Callable[[Remote], Sequence[Project | Job | Service]],
) -> list[str]:
    """Ids from the server for shell completion; nothing when it cannot be asked."""
    root = ctx.find_root()
    remote = root.obj if isinstance(root.obj, Remote) else Remote(root.params.get("context"))
    try:
        items = listing(remote)
    except Exception:  # completion must never print a traceback in a shell
        return []
    return [item.id for item in items if item.id.startswith(incomplete)]


ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project",
        "-p",
        envvar="DOCKYARD_PROJECT",
        help="project id (default: the context's project)",
        autocompletion=complete_projects,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]
JobOption = Annotated[
    str | None, typer.Option("--job", "-j", help="job id", autocompletion=complete_jobs)
]
ServiceOption = Annotated[
    str | None,
    typer.Option("--service", "-s", help="build service id", autocompletion=complete_services),
]
FollowOption = Annotated[
    bool, typer.Option("--follow", "-f", help="stream the logs live until it concludes")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]
