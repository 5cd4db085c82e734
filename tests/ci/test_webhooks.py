"""Webhook payloads as GitHub, GitLab and the generic form send them: signatures, events,
what builds nothing (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from dockyard.ci.webhooks import Delivery, Signer, incoming, normalized_repository
from dockyard.errors import Invalid, Unauthorized

SECRET = "s3cret"
URL = "https://git.example.test/acme/app"
HEAD, BASE = "a" * 40, "b" * 40


def signers_of(repository: str) -> list[Signer]:
    known = normalized_repository(repository) == "git.example.test/acme/app"
    return [Signer.operator(SECRET)] if known else []


def received(provider: str, body: bytes, headers: dict[str, str]) -> Delivery:
    """The delivery read, verified against the operator's secret of its repository."""
    found = incoming(provider, body, headers)
    return found.delivery(found.signer(signers_of(found.repository)))


def github(body: bytes, headers: dict[str, str]) -> Delivery:
    return received("github", body, headers)


def gitlab(body: bytes, headers: dict[str, str]) -> Delivery:
    return received("gitlab", body, headers)


def generic(body: bytes, headers: dict[str, str]) -> Delivery:
    return received("generic", body, headers)


def signed(payload: dict[str, Any], secret: str = SECRET) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_push(**fields: Any) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "before": BASE,
        "after": HEAD,
        "repository": {"clone_url": f"{URL}.git"},
    } | fields


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://Git.Example.TEST/acme/app.git", "git.example.test/acme/app"),
        ("http://git.example.test/acme/app/", "git.example.test/acme/app"),
        ("ssh://git@git.example.test/acme/app.git", "git.example.test/acme/app"),
        ("git@git.example.test:acme/app.git", "git.example.test/acme/app"),
        ("https://user:pw@git.example.test/acme/app", "git.example.test/acme/app"),
    ],
)
def test_normalized_repository(url: str, normal: str) -> None:
    assert normalized_repository(url) == normal


def test_github_push() -> None:
    body, signature = signed(github_push())
    headers = {
        "x-github-event": "push",
        "x-github-delivery": "d1",
        "x-hub-signature-256": signature,
    }

    delivery = github(body, headers)

    assert delivery.delivery_id == "d1" and delivery.event is not None
    assert (delivery.event.branch, delivery.event.sha, delivery.event.before) == (
        "main",
        HEAD,
        BASE,
    )
    assert not delivery.event.is_pull_request


def test_github_bad_or_missing_signature_is_401() -> None:
    body, _ = signed(github_push())
    _, other = signed(github_push(), secret="wrong")
    for signature in (other, None):
        headers = {"x-github-event": "push"} | (
            {"x-hub-signature-256": signature} if signature else {}
        )
        with pytest.raises(Unauthorized):
            github(body, headers)
    unknown, signature = signed(github_push(repository={"clone_url": "https://elsewhere.test/x"}))
    with pytest.raises(Unauthorized):
        github(unknown, {"x-github-event": "push", "x-hub-signature-256": signature})


def test_github_pull_request_and_ignored_events() -> None:
    payload = {
        "action": "synchronize",
        "number": 7,
        "pull_request": {"head": {"ref": "feature/x", "sha": HEAD}, "base": {"sha": BASE}},
        "repository": {"clone_url": URL},
    }
    body, signature = signed(payload)
    headers = {"x-github-event": "pull_request", "x-hub-signature-256": signature}
    event = github(body, headers).event
    assert event is not None and (event.pull_request_id, event.branch) == (7, "feature/x")

    closed, signature = signed(payload | {"action": "closed"})
    ignored = github(closed, headers | {"x-hub-signature-256": signature})
    assert ignored.event is None and "closed" in ignored.note
    for extra in ({"ref": "refs/tags/v1"}, {"deleted": True, "after": "0" * 40}):
        body, signature = signed(github_push(**extra))
        headers = {"x-github-event": "push", "x-hub-signature-256": signature}
        assert github(body, headers).event is None


def test_gitlab_push_and_merge_request() -> None:
    push = {
        "ref": "refs/heads/dev",
        "before": BASE,
        "after": HEAD,
        "project": {"git_http_url": URL},
    }
    headers = {"x-gitlab-event": "Push Hook", "x-gitlab-token": SECRET}
    event = gitlab(json.dumps(push).encode(), headers).event
    assert event is not None and event.branch == "dev"
    with pytest.raises(Unauthorized):
        gitlab(json.dumps(push).encode(), headers | {"x-gitlab-token": "nope"})

    merge = {
        "object_attributes": {
            "action": "open",
            "iid": 3,
            "source_branch": "mr-3",
            "last_commit": {"id": HEAD},
            "diff_refs": {"base_sha": BASE},
        },
        "project": {"web_url": URL},
    }
    headers = {"x-gitlab-event": "Merge Request Hook", "x-gitlab-token": SECRET}
    event = gitlab(json.dumps(merge).encode(), headers).event
    assert event is not None and (event.pull_request_id, event.branch) == (3, "mr-3")


def test_generic_form() -> None:
    body, signature = signed(
        {"deliveryId": "x1", "repository": URL, "branch": "main", "sha": HEAD.upper()}
    )
    delivery = generic(body, {"x-dockyard-signature-256": signature})
    assert delivery.delivery_id == "x1" and delivery.event is not None
    assert delivery.event.sha == HEAD
    bad, signature = signed({"repository": URL, "branch": "main", "sha": "nope"})
    with pytest.raises(Invalid):
        generic(bad, {"x-dockyard-signature-256": signature})
    with pytest.raises(Invalid):
        generic(b"not json", {})


def test_the_signer_is_the_candidate_whose_secret_verifies() -> None:
    body, signature = signed(github_push(), secret="project-b-secret-value")
    headers = {"x-github-event": "push", "x-hub-signature-256": signature}
    found = incoming("github", body, headers)
    a = Signer.project("a", "project-a-secret-value")
    b = Signer.project("b", "project-b-secret-value")

    signer = found.signer([Signer.operator(SECRET), a, b])

    assert signer == b and (signer.name, signer.project_id) == ("project:b", "b")
    assert found.delivery(signer).signer == b
    with pytest.raises(Unauthorized):
        found.signer([Signer.operator(SECRET), a])
    gitlab_found = incoming(
        "gitlab",
        json.dumps({"project": {"git_http_url": URL}}).encode(),
        {"x-gitlab-event": "Push Hook", "x-gitlab-token": "project-a-secret-value"},
    )
    assert gitlab_found.signer([Signer.operator(SECRET), a]) == a
