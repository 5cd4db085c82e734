"""What a build needs, captured from its job or service (and the request's overrides) when it
is asked for, so later edits of the job or service do not change a build already queued."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from dockyard.builds.schemas import BuildOverrides, DockerOverrides
from dockyard.db.repository import ParsedOnce
from dockyard.targets.schemas import (
    BuildConfiguration,
    BuildpackBuildSettings,
    BuildpackOptions,
    BuildSettings,
    BuildStorage,
    DockerfileBuildSettings,
    DockerfileOptions,
    SecretFile,
)
from dockyard.vcs.schemas import VcsRepository

if TYPE_CHECKING:
    from dockyard.builds.models import Build
    from dockyard.jobs.schemas import ManualJobSpec
    from dockyard.services.schemas import BuildServiceSpec

    Buildable = ManualJobSpec | BuildServiceSpec

Engine = Literal["buildkit", "kaniko", "buildpack"]
Options = DockerfileOptions | BuildpackOptions


class BuildRecipe(BaseModel):
    project_url: str | None = None
    project_type: str | None = None
    # The VCS link the source names (vcslinks/ chooses the one that fetches it).
    vcs_link_id: str | None = None
    account_login: str | None = None
    self_hosted_vcs_id: str | None = None
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


def _parsed_recipe(build: Build) -> BuildRecipe:
    return BuildRecipe.model_validate(build.recipe)


build_recipe: ParsedOnce[Build, BuildRecipe] = ParsedOnce(
    lambda build: build.recipe, _parsed_recipe
)
"""The build's stored recipe, parsed once per loaded row."""


class BuildSecrets(BaseModel):
    """Secret inputs of a build, sealed at rest with the build. A bundle URL is one: it is
    often presigned, or carries a token."""

    bundle_url: str | None = None
    build_arguments: dict[str, str] = {}
    build_files: dict[str, SecretFile] = {}
    docker_secret_mounts: dict[str, SecretFile] = {}


def _engine(settings: BuildSettings | None) -> tuple[Engine, Options | None]:
    if isinstance(settings, BuildpackBuildSettings):
        return "buildpack", settings.buildpack
    if isinstance(settings, DockerfileBuildSettings):
        return settings.dockerfile.build_engine, settings.dockerfile
    return "buildkit", None


def _use_cache(options: Options | None) -> bool:
    """`buildkit.useCache`, else the deprecated `useCache`; unset, the cache is used."""
    buildkit = options.buildkit if isinstance(options, DockerfileOptions) else None
    wanted = buildkit.use_cache if buildkit else None
    if wanted is None and options is not None:
        wanted = options.use_cache
    return wanted is not False


def _storage_mb(*storages: BuildStorage | None) -> int | None:
    """The ephemeral storage size of the first of `storages` that sets any."""
    ephemeral = next((s.ephemeral_storage for s in storages if s and s.ephemeral_storage), None)
    return ephemeral.storage_size if ephemeral else None


def recipe_of(
    spec: Buildable, vcs: VcsRepository | None, overrides: BuildOverrides | None
) -> tuple[BuildRecipe, BuildSecrets]:
    """The recipe of a build of the job or service whose whole spec (secrets opened) is given,
    with its git source `vcs` (None for bundle builds), and the request's overrides."""
    configuration = spec.build_configuration or BuildConfiguration()
    engine, options = _engine(spec.build_settings)
    dockerfile = options if isinstance(options, DockerfileOptions) else None
    context = options.build_context if isinstance(options, BuildpackOptions) else None
    docker = overrides.docker if overrides and overrides.docker else DockerOverrides()
    recipe = BuildRecipe(
        project_url=vcs.project_url if vcs else None,
        project_type=vcs.project_type if vcs else None,
        vcs_link_id=vcs.vcs_link_id if vcs else None,
        account_login=vcs.account_login if vcs else None,
        self_hosted_vcs_id=vcs.server_id if vcs else None,
        dockerfile_path=docker.docker_file_path
        or (dockerfile and dockerfile.docker_file_path)
        or "/Dockerfile",
        work_dir=docker.docker_work_dir
        or (dockerfile and dockerfile.docker_work_dir)
        or context
        or "/",
        target=docker.dockerfile_target or configuration.dockerfile_target,
        full_git_clone=bool(configuration.full_git_clone),
        include_git_folder=bool(configuration.include_git_folder),
        use_cache=_use_cache(options),
        engine=engine,
        storage_mb=_storage_mb(
            spec.build_settings.storage if spec.build_settings else None, configuration.storage
        ),
        docker_credentials=configuration.docker_credentials or [],
    )
    given = overrides or BuildOverrides()
    secrets = BuildSecrets(
        build_arguments=(spec.build_arguments or {}) | (given.build_arguments or {}),
        build_files=(spec.build_files or {}) | (given.build_files or {}),
        docker_secret_mounts=(spec.docker_secret_mounts or {}) | (given.docker_secret_mounts or {}),
    )
    return recipe, secrets
