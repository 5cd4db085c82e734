"""Where a build's files and image are: its working directory, the per-project source
caches, the image's tag and reference, and the label on every image dockyard builds."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dockyard.builds.models import Build
from dockyard.config import Settings
from dockyard.engine.registry import image_reference

# On every image dockyard builds: `<projectId>/<jobId or serviceId>`, its registry repository.
# `dockyard gc` only ever collects images that carry it.
OWNER_LABEL = "dev.dockyard.target"


def build_dir(settings: Settings, build_id: str) -> Path:
    return settings.data_dir / "builds" / build_id


def source_caches(settings: Settings) -> Path:
    """Where the source caches are: `<project id>/<cache per remote>`."""
    return settings.data_dir / "git-cache"


def source_cache(settings: Settings, project_id: str, url: str) -> Path:
    """The bare repository kept for one project's source. Never shared between projects: a
    commit fetched with one project's access must not reach another's builds."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return source_caches(settings) / project_id / digest


def buildah_storages(settings: Settings) -> Path:
    """Where buildah keeps each project's layer cache: `<project id>/` (engine/buildah.py)."""
    return settings.data_dir / "buildah"


def image_tag(build: Build) -> str:
    """A build's image is tagged with its commit, or with its id for builds of a bundle."""
    return build.sha or build.id


def built_image(settings: Settings, build: Build) -> str:
    return image_reference(settings.registry, build.project_id, build.target_id, image_tag(build))
