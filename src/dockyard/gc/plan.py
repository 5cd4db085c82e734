"""What garbage collection removes, decided from what exists and what must stay (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class DoomedManifest:
    """A manifest of `repository` none of whose `tags` is kept: deleting it drops them all."""

    repository: str
    digest: str
    tags: tuple[str, ...]


def doomed_manifests(
    registry: str, inventory: Mapping[str, Mapping[str, str]], kept: set[str]
) -> list[DoomedManifest]:
    """`inventory`: repository -> tag -> manifest digest. A manifest goes when neither it
    (`<registry>/<repository>@<digest>`, as runs pull it) nor a tag on it
    (`<registry>/<repository>:<tag>`) is a kept image reference; a registry deletes manifests
    by digest, so one kept tag keeps every tag sharing its digest."""
    doomed = []
    for repository, tags in sorted(inventory.items()):
        for digest, digest_tags in sorted(_tags_by_digest(tags).items()):
            pinned = f"{registry}/{repository}@{digest}"
            if pinned not in kept and not any(
                f"{registry}/{repository}:{tag}" in kept for tag in digest_tags
            ):
                doomed.append(DoomedManifest(repository, digest, tuple(sorted(digest_tags))))
    return doomed


def doomed_tags(local_tags: Iterable[str], kept: set[str]) -> list[str]:
    """The engine's tags of dockyard's images that no kept image uses."""
    return sorted(tag for tag in local_tags if tag not in kept)


def _tags_by_digest(tags: Mapping[str, str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for tag, digest in tags.items():
        grouped[digest].append(tag)
    return grouped
