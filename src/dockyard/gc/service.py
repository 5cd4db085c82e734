"""`collect`: remove what no job, service, build or run needs any more.

- Registry: manifests of deleted jobs and services, and of builds older than
  DOCKYARD_IMAGE_RETENTION_DAYS, except the newest successful build of each job and service,
  builds not yet concluded and the images of runs not yet concluded. Their blobs are freed by
  distribution's offline garbage-collect, which `dockyard up` runs before it starts its
  local registry.
- Docker engine: the local tags of those images; BuildKit cache unused for as long, and
  buildah's per-project storages (kaniko builds) of deleted projects or unused as long.
Only images dockyard built (labelled `dev.dockyard.target`) are ever collected.
- Build directories left by a worker that died, of builds no longer in flight.
- Source caches (bare repositories builds fetch into) of deleted projects, and those no
  build used for DOCKYARD_IMAGE_RETENTION_DAYS.
- Project networks of deleted projects (a worker removes them too, once unused).
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import repository as builds_repository
from dockyard.builds.images import OWNER_LABEL, buildah_storages, built_image, source_caches
from dockyard.builds.models import Build
from dockyard.builds.status import TERMINAL_BUILD_STATUSES
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import Database
from dockyard.engine.buildah import BuildahEngine
from dockyard.engine.buildkit import BuildkitBuilder
from dockyard.engine.containers import DockerEngine
from dockyard.engine.registry import HttpRegistry
from dockyard.errors import EngineUnavailable
from dockyard.gc.plan import DoomedManifest, doomed_manifests, doomed_tags
from dockyard.projects import repository as projects_repository
from dockyard.projects.networks import orphan_networks
from dockyard.runs import repository as runs_repository
from dockyard.runs.recipe import run_recipe
from dockyard.secrets.credentials import registry_login


@dataclass
class Collected:
    """What a collection removed (or, in a dry run, would remove)."""

    manifests: list[DoomedManifest] = field(default_factory=list)
    local_tags: list[str] = field(default_factory=list)
    tags_in_use: list[str] = field(default_factory=list)
    build_dirs: list[str] = field(default_factory=list)
    source_caches: list[str] = field(default_factory=list)
    networks: dict[str, str] = field(default_factory=dict)  # network id -> deleted project id
    networks_in_use: list[str] = field(default_factory=list)
    cache: str = "not pruned"


async def kept_images(
    session: AsyncSession, settings: Settings, cutoff: datetime, unfinished: list[Build]
) -> set[str]:
    """Every image reference of dockyard's registry that something may still use (the
    `unfinished` builds may yet push theirs)."""
    kept = await builds_repository.images_to_keep(session, cutoff)
    kept |= {built_image(settings, build) for build in unfinished}
    kept |= {run_recipe(run).image for run in await runs_repository.unconcluded(session)}
    return kept


async def collect(settings: Settings, database: Database, *, dry_run: bool = False) -> Collected:
    cutoff = utcnow() - timedelta(days=settings.image_retention_days)
    async with database.sessions() as session:
        unfinished = await builds_repository.with_status_not_in(session, TERMINAL_BUILD_STATUSES)
        kept = await kept_images(session, settings, cutoff, unfinished)
        projects = await projects_repository.all_ids(session)
    registry = HttpRegistry(settings.registry, registry_login(settings))
    engine = DockerEngine(settings.docker_host)
    # A daemonless worker (kaniko builds only) has no Docker engine, nor anything in one.
    has_docker = await _answers(engine)
    local = await engine.image_tags(f"{settings.registry}/", OWNER_LABEL) if has_docker else []
    done = Collected(
        manifests=doomed_manifests(settings.registry, await _inventory(registry), kept),
        local_tags=doomed_tags(local, kept),
        build_dirs=_stale_build_dirs(
            settings.data_dir / "builds", {build.id for build in unfinished}
        ),
        source_caches=stale_source_caches(source_caches(settings), projects, cutoff),
        networks=await orphan_networks(settings, engine, database) if has_docker else {},
    )
    if dry_run:
        return done
    for manifest in done.manifests:
        await registry.delete_manifest(manifest.repository, manifest.digest)
    for tag in done.local_tags:
        if not await engine.remove_tag(tag):
            done.tags_in_use.append(tag)
    for network in done.networks:
        if not await engine.remove_network(network):
            done.networks_in_use.append(network)
    for directory in [*done.build_dirs, *done.source_caches]:
        await asyncio.to_thread(shutil.rmtree, directory, True)
    hours = max(settings.image_retention_days * 24, 1)
    buildkit = (
        await BuildkitBuilder(settings.docker_host).prune_cache(hours)
        if has_docker
        else "no Docker engine"
    )
    buildah = await BuildahEngine(buildah_storages(settings), settings.registry).prune_cache(
        hours, projects
    )
    done.cache = f"{buildkit}; {buildah}"
    return done


async def _answers(engine: DockerEngine) -> bool:
    try:
        await engine.ping()
    except EngineUnavailable:
        return False
    return True


async def _inventory(registry: HttpRegistry) -> dict[str, dict[str, str]]:
    """repository -> tag -> manifest digest, for every tag of an image dockyard built there
    (labelled with its repository): other images of a shared registry are never touched."""
    inventory: dict[str, dict[str, str]] = {}
    for repository in await registry.repositories():
        digests = {
            tag: await registry.digest(repository, tag) for tag in await registry.tags(repository)
        }
        ours = {
            digest
            for digest in set(digests.values())
            if digest and await _built_here(registry, repository, digest)
        }
        inventory[repository] = {tag: digest for tag, digest in digests.items() if digest in ours}
    return inventory


async def _built_here(registry: HttpRegistry, repository: str, digest: str) -> bool:
    return (await registry.labels(repository, digest)).get(OWNER_LABEL) == repository


def stale_source_caches(root: Path, projects: set[str], cutoff: datetime) -> list[str]:
    """The source caches under `root` of projects not in `projects`, and those no build used
    since `cutoff` (a cache's mtime is when it last served)."""
    if not root.is_dir():
        return []
    stale = []
    for project in root.iterdir():
        if project.name not in projects:
            stale.append(str(project))
            continue
        stale += [
            str(cache)
            for cache in project.iterdir()
            if datetime.fromtimestamp(cache.stat().st_mtime, UTC) < cutoff
        ]
    return sorted(stale)


def _stale_build_dirs(root: Path, in_flight: set[str]) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(str(path) for path in root.iterdir() if path.name not in in_flight)
