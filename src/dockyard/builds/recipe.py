"""What a build needs, captured from its job or service (and the request's overrides) when it
is asked for, so later edits of the job or service do not change a build already queued."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from dockyard.builds.schemas import BuildOverrides
from dockyard.errors import Conflict

Engine = Literal["buildkit", "kaniko", "buildpack"]


class BuildRecipe(BaseModel):
    project_url: str | None = None
    project_type: str | None = None
    dockerfile_path: str = "/Dockerfile"
    work_dir: str = "/"
    target: str | None = None
    full_git_clone: bool = False
    include_git_folder: bool = False
    use_cache: bool = True
    engine: Engine = "buildkit"
    storage_mb: int | None = None
    docker_credentials: list[str] = []
    # A bundle build's URL as people may see it (redact_url); the URL itself is a secret input.
    bundle: str | None = None


class BuildSecrets(BaseModel):
    """Secret inputs of a build, sealed at rest with the build. A bundle URL is one: it is
    often presigned, or carries a token."""

    bundle_url: str | None = None
    build_arguments: dict[str, str] = {}
    build_files: dict[str, dict[str, str]] = {}
    docker_secret_mounts: dict[str, dict[str, str]] = {}


def _engine(build_settings: dict[str, Any]) -> tuple[Engine, dict[str, Any]]:
    if "buildpack" in build_settings:
        return "buildpack", build_settings["buildpack"]
    dockerfile = build_settings.get("dockerfile", {})
    engine: Engine = dockerfile.get("buildEngine", "buildkit")
    return engine, dockerfile


def recipe_of(
    body: dict[str, Any], vcs: dict[str, Any] | None, overrides: BuildOverrides | None
) -> tuple[BuildRecipe, BuildSecrets]:
    """The recipe of a build of the job or service whose whole wire `body` (secrets opened) is
    given, with its git source `vcs` (None for bundle builds), and the request's overrides."""
    settings = body.get("buildSettings", {})
    configuration = body.get("buildConfiguration", {})
    engine, options = _engine(settings)
    storage = (settings.get("storage") or configuration.get("storage") or {}).get(
        "ephemeralStorage", {}
    )
    docker = overrides.docker if overrides and overrides.docker else None
    recipe = BuildRecipe(
        project_url=vcs.get("projectUrl") if vcs else None,
        project_type=vcs.get("projectType") if vcs else None,
        dockerfile_path=(docker and docker.docker_file_path)
        or options.get("dockerFilePath")
        or "/Dockerfile",
        work_dir=(docker and docker.docker_work_dir)
        or options.get("dockerWorkDir")
        or options.get("buildContext")
        or "/",
        target=(docker and docker.dockerfile_target) or configuration.get("dockerfileTarget"),
        full_git_clone=bool(configuration.get("fullGitClone")),
        include_git_folder=bool(configuration.get("includeGitFolder")),
        use_cache=(options.get("buildkit") or {}).get("useCache", options.get("useCache"))
        is not False,
        engine=engine,
        storage_mb=storage.get("storageSize"),
        docker_credentials=configuration.get("dockerCredentials") or [],
    )
    given = overrides.model_dump(by_alias=True, exclude_none=True) if overrides else {}
    secrets = BuildSecrets(
        build_arguments=body.get("buildArguments", {}) | given.get("buildArguments", {}),
        build_files=body.get("buildFiles", {}) | given.get("buildFiles", {}),
        docker_secret_mounts=body.get("dockerSecretMounts", {})
        | given.get("dockerSecretMounts", {}),
    )
    return recipe, secrets


def job_git_source(body: dict[str, Any]) -> dict[str, Any]:
    """The git source of a job: its `deployment.vcs`; a job deploying an image has none."""
    vcs = body.get("deployment", {}).get("vcs")
    if vcs is None:
        raise Conflict(
            "This job has no git build source (deployment.vcs); set one with POST "
            ".../build-source before starting a build",
            {"deployment": "no vcs"},
        )
    return dict(vcs)
