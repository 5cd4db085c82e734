"""What garbage collection removes: manifests none of whose tags is kept (a kept tag keeps
every tag sharing its digest), local tags no kept image uses, and source caches of deleted
projects or unused for the retention."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

from dockyard.gc.plan import DoomedManifest, doomed_manifests, doomed_tags
from dockyard.gc.service import stale_source_caches

REGISTRY = "127.0.0.1:5000"
A, B, C = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64
DAY = 86_400


def test_a_manifest_goes_only_when_none_of_its_tags_is_kept() -> None:
    inventory = {
        "p/job": {"old": A, "twin-of-new": B, "new": B},
        "p/deleted": {"x": C},
    }
    kept = {f"{REGISTRY}/p/job:new"}

    assert doomed_manifests(REGISTRY, inventory, kept) == [
        DoomedManifest("p/deleted", C, ("x",)),
        DoomedManifest("p/job", A, ("old",)),
    ]


def test_a_kept_reference_of_another_registry_keeps_nothing_here() -> None:
    inventory = {"p/job": {"t": A}}
    assert doomed_manifests(REGISTRY, inventory, {"other:5000/p/job:t"}) == [
        DoomedManifest("p/job", A, ("t",))
    ]


def test_local_tags_not_kept_are_doomed() -> None:
    local = [f"{REGISTRY}/p/job:new", f"{REGISTRY}/p/job:old"]
    assert doomed_tags(local, {f"{REGISTRY}/p/job:new"}) == [f"{REGISTRY}/p/job:old"]


def test_source_caches_of_deleted_projects_and_unused_ones_go(tmp_path: Path) -> None:
    now = time.time()
    for cache, used in [("kept/recent", now), ("kept/old", now - 3 * DAY), ("gone/any", now)]:
        (tmp_path / cache).mkdir(parents=True)
        os.utime(tmp_path / cache, (used, used))
    cutoff = datetime.fromtimestamp(now - DAY, UTC)
    stale = stale_source_caches(tmp_path, {"kept"}, cutoff)
    assert stale == [str(tmp_path / "gone"), str(tmp_path / "kept" / "old")]
    assert stale_source_caches(tmp_path / "none", {"kept"}, cutoff) == []
