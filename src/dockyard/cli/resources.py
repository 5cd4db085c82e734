"""`dockyard projects|jobs|services list|get|create|delete` and `dockyard webhook-secrets
create|list|delete` against a server."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from dockyard.cli import integrations
from dockyard.cli.output import out, print_json, show_list, show_one
from dockyard.cli.remote import (
    JsonOption,
    ProjectOption,
    Yes,
    complete_jobs,
    complete_projects,
    complete_services,
    confirm_delete,
    remote_of,
)
from dockyard.client import DockyardClient

projects = typer.Typer(help="Projects: list, get, create, delete.", no_args_is_help=True)
jobs = typer.Typer(help="Jobs of a project: list, get, create, delete.", no_args_is_help=True)
services = typer.Typer(
    help="Build services of a project: list, get, create, delete.", no_args_is_help=True
)
webhook_secrets = typer.Typer(
    help="A project's secrets for git webhooks, one per repository: create, list, delete.",
    no_args_is_help=True,
)

SPEC_FILE = typer.Option(
    "--file",
    "-f",
    exists=True,
    dir_okay=False,
    help="the request body, as YAML (.yaml, .yml) or JSON",
)
SpecFile = Annotated[Path, SPEC_FILE]


def read_spec(path: Path) -> dict[str, Any]:
    """The request body in a YAML or JSON file (a mapping at the top)."""
    text = path.read_text()
    try:
        spec = yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"{path} is not valid: {exc}", param_hint="--file") from exc
    if not isinstance(spec, dict):
        raise typer.BadParameter(f"{path} must hold an object at the top", param_hint="--file")
    return spec


# ---- projects --------------------------------------------------------------------------------

ProjectArgument = Annotated[
    str, typer.Argument(help="project id", autocompletion=complete_projects)
]


@projects.command("list")
def list_projects(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every project the token can see."""
    items = remote_of(ctx).client.list_projects()
    show_list(items, ["id", "name", "description"], as_json)


@projects.command("get")
def get_project(ctx: typer.Context, project: ProjectArgument, as_json: JsonOption = False) -> None:
    """One project."""
    show_one(remote_of(ctx).client.get_project(project), as_json)


@projects.command("create")
def create_project(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the project's name (its id is the slug)")],
    description: Annotated[str | None, typer.Option(help="a description")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a project; its id is the slug of its name."""
    show_one(remote_of(ctx).client.create_project(name, description), as_json)


@projects.command("delete")
def delete_project(ctx: typer.Context, project: ProjectArgument, yes: Yes = False) -> None:
    """Delete a project with its jobs, services, builds and runs."""
    confirm_delete(f"project {project} and everything in it", yes)
    remote_of(ctx).client.delete_project(project)
    out.print(f"deleted project {project}")


# ---- jobs ------------------------------------------------------------------------------------

JobArgument = Annotated[str, typer.Argument(help="job id", autocompletion=complete_jobs)]


@jobs.command("list")
def list_jobs(
    ctx: typer.Context, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """The project's jobs."""
    remote = remote_of(ctx)
    items = remote.client.list_jobs(remote.project(project))
    show_list(items, ["id", "name", "jobType", "description"], as_json)


@jobs.command("get")
def get_job(
    ctx: typer.Context, job: JobArgument, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """One job (without its secret values)."""
    remote = remote_of(ctx)
    show_one(remote.client.get_job(remote.project(project), job), as_json)


HOSTED_TYPES = {"github.com": "github", "gitlab.com": "gitlab", "bitbucket.org": "bitbucket"}


class ConcurrencyPolicy(StrEnum):
    """What a cron job's due run does while another run of the job is unfinished."""

    ALLOW = "allow"
    FORBID = "forbid"
    REPLACE = "replace"


@jobs.command("create")
def create_job(
    ctx: typer.Context,
    file: Annotated[Path | None, SPEC_FILE] = None,
    name: Annotated[str | None, typer.Option(help="with --repo: the job's name")] = None,
    repo: Annotated[
        str | None,
        typer.Option(help="build the job's image from this git repository (https://...)"),
    ] = None,
    branch: Annotated[str, typer.Option(help="with --repo: the branch to build")] = "main",
    dockerfile: Annotated[
        str, typer.Option(help="with --repo: the Dockerfile's path in the repository")
    ] = "/Dockerfile",
    work_dir: Annotated[str, typer.Option(help="with --repo: the build context's path")] = "/",
    vcs_link: Annotated[
        str | None,
        typer.Option(
            help="with --repo: the VCS link to fetch it with (name, id or vcsLinkId; "
            "default: the one link whose server hosts the repository)"
        ),
    ] = None,
    schedule: Annotated[
        str | None,
        typer.Option(
            help="make a cron job run on this schedule (UTC): five cron fields "
            "('*/15 9-17 * * mon-fri') or @hourly, @daily, @weekly, @monthly, @yearly"
        ),
    ] = None,
    concurrency_policy: Annotated[
        ConcurrencyPolicy | None,
        typer.Option(
            case_sensitive=False,
            help="with --schedule: a run due while another is unfinished starts anyway "
            "(allow, the default), is skipped (forbid) or replaces it (replace)",
        ),
    ] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """A job: from a file holding the body of the create-manual-job request (or of the
    create-cron-job request, with a `schedule`), or built from a git repository (--name and
    --repo) and run from the image it builds. --schedule makes it a cron job."""
    remote = remote_of(ctx)
    if (file is None) == (repo is None):
        raise typer.BadParameter("give either --file, or --repo with --name")
    if file is not None:
        spec = read_spec(file)
    else:
        assert repo is not None
        spec = _repository_job(remote.client, name, repo, branch, dockerfile, work_dir, vcs_link)
    if schedule is not None:
        spec["schedule"] = schedule
    if concurrency_policy is not None:
        if "schedule" not in spec:
            raise typer.BadParameter(
                "is for a cron job: give --schedule", param_hint="--concurrency-policy"
            )
        spec["concurrencyPolicy"] = concurrency_policy.value
    project_id = remote.project(project)
    if "schedule" in spec:
        show_one(remote.client.create_cron_job(project_id, spec), as_json)
    else:
        show_one(remote.client.create_manual_job(project_id, spec), as_json)


def _repository_job(
    client: DockyardClient,
    name: str | None,
    repo: str,
    branch: str,
    dockerfile: str,
    work_dir: str,
    vcs_link: str | None,
) -> dict[str, Any]:
    """The body of a job built from `repo` and run from the image it builds."""
    if not name:
        raise typer.BadParameter("a job built from --repo needs a --name", param_hint="--name")
    host = repo.removeprefix("https://").partition("/")[0].lower()
    source: dict[str, Any] = {
        "projectUrl": repo,
        "projectType": HOSTED_TYPES.get(host, "self-hosted"),
        "projectBranch": branch,
    }
    if vcs_link is not None:
        source["vcsLinkId"] = integrations.link_uid(client, vcs_link)
    return {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {"vcs": source},
        "buildSettings": {"dockerfile": {"dockerFilePath": dockerfile, "dockerWorkDir": work_dir}},
    }


@jobs.command("delete")
def delete_job(
    ctx: typer.Context, job: JobArgument, project: ProjectOption = None, yes: Yes = False
) -> None:
    """Delete a job; its running builds and runs are stopped."""
    remote = remote_of(ctx)
    confirm_delete(f"job {job}", yes)
    remote.client.delete_job(remote.project(project), job)
    out.print(f"deleted job {job}")


# ---- build services --------------------------------------------------------------------------

ServiceArgument = Annotated[
    str, typer.Argument(help="build service id", autocompletion=complete_services)
]


@services.command("list")
def list_services(
    ctx: typer.Context, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """The project's build services."""
    remote = remote_of(ctx)
    items = remote.client.list_services(remote.project(project))
    show_list(items, ["id", "name", "serviceType", "description"], as_json)


@services.command("get")
def get_service(
    ctx: typer.Context,
    service: ServiceArgument,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """One build service (without its secret values)."""
    remote = remote_of(ctx)
    show_one(remote.client.get_service(remote.project(project), service), as_json)


@services.command("create")
def create_service(
    ctx: typer.Context, file: SpecFile, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """A build service from a file holding the body of the create-build-service request."""
    remote = remote_of(ctx)
    created = remote.client.create_build_service(remote.project(project), read_spec(file))
    show_one(created, as_json)


@services.command("delete")
def delete_service(
    ctx: typer.Context, service: ServiceArgument, project: ProjectOption = None, yes: Yes = False
) -> None:
    """Delete a build service; its running builds are stopped."""
    remote = remote_of(ctx)
    confirm_delete(f"build service {service}", yes)
    remote.client.delete_service(remote.project(project), service)
    out.print(f"deleted build service {service}")


# ---- webhook secrets -------------------------------------------------------------------------


@webhook_secrets.command("create")
def create_webhook_secret(
    ctx: typer.Context,
    repository: Annotated[str, typer.Argument(help="the repository URL the webhooks name")],
    secret_stdin: Annotated[
        bool,
        typer.Option(
            "--secret-stdin", help="read the secret from stdin (default: the server makes one)"
        ),
    ] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set the project's secret for the repository's webhooks, replacing the one it had.
    Deliveries it signs build this project's jobs and build services only. The secret is
    printed once: put it in the git server's webhook settings."""
    remote = remote_of(ctx)
    given = sys.stdin.read().strip() if secret_stdin else None
    made = remote.client.set_webhook_secret(remote.project(project), repository, given)
    if as_json:
        print_json(made.raw())
        return
    out.print(
        f"webhook secret {made.id} for {made.repository} (shown only now):",
        markup=False,
        soft_wrap=True,
    )
    out.print(made.secret, markup=False, soft_wrap=True)


@webhook_secrets.command("list")
def list_webhook_secrets(
    ctx: typer.Context, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """The project's webhook secrets (their values are never shown again)."""
    remote = remote_of(ctx)
    items = remote.client.list_webhook_secrets(remote.project(project))
    show_list(items, ["id", "repository", "createdAt"], as_json)


@webhook_secrets.command("delete")
def delete_webhook_secret(
    ctx: typer.Context,
    secret_id: Annotated[str, typer.Argument(help="webhook secret id")],
    project: ProjectOption = None,
    yes: Yes = False,
) -> None:
    """Delete a webhook secret: deliveries it signs are refused from then on."""
    remote = remote_of(ctx)
    confirm_delete(f"webhook secret {secret_id}", yes)
    remote.client.delete_webhook_secret(remote.project(project), secret_id)
    out.print(f"deleted webhook secret {secret_id}")
