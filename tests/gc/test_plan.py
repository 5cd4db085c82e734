"""What garbage collection removes: manifests none of whose tags is kept (a kept tag keeps
every tag sharing its digest), and local tags no kept image uses."""

from __future__ import annotations

from dockyard.gc.plan import DoomedManifest, doomed_manifests, doomed_tags

REGISTRY = "127.0.0.1:5000"
A, B, C = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64


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
