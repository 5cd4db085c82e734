"""Plain helpers shared by the tests of several domains: the spec pages' examples, minimal
and full request bodies, the response-shape check, bad-input bodies, and the permission and
pagination walks that jobs and services tests run alike."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from tests.conftest import assert_error, token_with

# The spec pages, vendored from ../shared/spec so a clean clone tests on its own.
SPEC_DIR = Path(__file__).resolve().parents[1] / "docs" / "spec"


def page_examples(page: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The example request body (from the curl `--data '...'`) and the example response of a
    spec page."""
    text = (SPEC_DIR / page).read_text()
    request = re.search(r"--data '(.*?)'", text)
    response = re.search(r"\nJSON\s*\n(\s*\{.*\})\s*$", text, re.DOTALL)
    assert request and response, page
    return json.loads(request[1]), json.loads(response[1])


def assert_shape(
    actual: Any, expected: Any, not_produced: Collection[str] = (), path: str = ""
) -> None:
    """`actual` has every key of `expected` (recursively) with a value of the same JSON type,
    but for the keys (dotted paths) in `not_produced`."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        for key, value in expected.items():
            child = f"{path}.{key}" if path else key
            if child not in not_produced:
                assert key in actual, f"missing {child}"
                assert_shape(actual[key], value, not_produced, child)
    elif isinstance(expected, list):
        assert isinstance(actual, list), path
        for item in actual[:1]:
            assert_shape(item, expected[0], not_produced, f"{path}[0]")
    else:
        assert type(actual) is type(expected), path


DROP = object()


def with_bad(body: dict[str, Any], where: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `body` with `value` at `where` (a key path); `DROP` removes it instead."""
    bad = copy.deepcopy(body)
    *parents, last = where
    target: Any = bad
    for key in parents:
        target = target[key]
    if value is DROP:
        del target[last]
    else:
        target[last] = value
    return bad


def minimal_job(name: str = "Minimal Job", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
    } | fields


REPOSITORY = {"projectUrl": "https://github.com/northflank/gatsby-with-northflank"}
# The fields of a job built from REPOSITORY's main, and of a job running an engine image.
VCS_JOB = {
    "deployment": {"vcs": REPOSITORY | {"projectType": "github", "projectBranch": "main"}},
    "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
}
IMAGE_JOB = {"deployment": {"external": {"imagePath": "local/busybox:1"}}}


def created_id(client: TestClient, project: str, path: str, body: dict[str, Any]) -> str:
    """POST `body` to `path` under the project (200 expected); the id it made."""
    reply = client.post(f"/v1/projects/{project}{path}", json=body)
    assert reply.status_code == 200, reply.text
    made: str = reply.json()["data"]["id"]
    return made


def minimal_service(name: str = "Minimal Service", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": REPOSITORY | {"projectType": "github"},
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    } | fields


PATCH_EXAMPLE, PATCH_EXAMPLE_RESPONSE = page_examples("patch-build-service.md")


def full_service() -> dict[str, Any]:
    """A create body with every field of the PATCH page's example (its `buildSettings` names
    both engines, a oneOf on create: the Dockerfile one is kept) and a name."""
    body = copy.deepcopy(PATCH_EXAMPLE) | {"name": "Example Service"}
    del body["buildSettings"]["buildpack"]
    return body


def assert_needs_permission(
    app_client: TestClient,
    settings: Settings,
    project: str,
    request: tuple[str, str, Any],
    permission: Permission,
    outside: Collection[str] = ("/v1/projects/another-project",),
) -> None:
    """`request` (method, path under the project, body) is 403 with every other permission or
    with `permission` for another project only, 401 with an unknown token; with `permission`
    for `project` it is 403 under each prefix of `outside` and 200 under the project."""
    method, path, body = request
    others = [p for p in Permission if p is not permission]
    url = f"/v1/projects/{project}{path}"
    for token, status in [
        (token_with(settings, *others), 403),
        (token_with(settings, permission, projects=["another-project"]), 403),
        ("dky_unknown", 401),
    ]:
        headers = {"Authorization": f"Bearer {token}"}
        assert_error(app_client.request(method, url, json=body, headers=headers), status)
    allowed = {"Authorization": f"Bearer {token_with(settings, permission, projects=[project])}"}
    for prefix in outside:
        elsewhere = app_client.request(method, f"{prefix}{path}", json=body, headers=allowed)
        assert_error(elsewhere, 403)
    answer = app_client.request(method, url, json=body, headers=allowed)
    assert answer.status_code == 200, answer.text


def ids_over_all_pages(client: TestClient, url: str, key: str, per_page: int) -> list[str]:
    """The ids of the list at `url` (under `data.<key>`), following the cursor page by page;
    each page's `count` is its length."""
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"per_page": per_page} | ({"cursor": cursor} if cursor else {})
        reply = client.get(url, params=params).json()
        seen += [item["id"] for item in reply["data"][key]]
        assert reply["pagination"]["count"] == len(reply["data"][key])
        cursor = reply["pagination"].get("cursor")
        if not reply["pagination"]["hasNextPage"]:
            return seen
