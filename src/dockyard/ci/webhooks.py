"""Incoming git webhooks: who sent them (the signature) and what happened (a push, a pull
request), in GitHub's form (also what Gitea and Forgejo send), GitLab's, and dockyard's generic
form for other servers:

    POST /v1/webhooks/generic
    X-Dockyard-Signature-256: sha256=<hex HMAC-SHA256 of the body with the secret>
    {"deliveryId": "...", "repository": "https://git.example.com/acme/app",
     "branch": "main", "sha": "<40 hex>", "before": "<40 hex, optional>",
     "pullRequestId": 7}    (pullRequestId: only for pull requests; branch is then the source)

A delivery is read in two steps: `incoming` finds its repository, whose candidate signers
(the operator's secret, each project's) the caller loads; `Incoming.signer` is the one whose
secret verifies it, and `Incoming.delivery` reads the event it signed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.ci.models import OPERATOR
from dockyard.ci.rules import GitEvent
from dockyard.errors import Invalid, Unauthorized

ZERO_SHA = "0" * 40
SHA = re.compile(r"[0-9a-f]{40}")
GITHUB_BUILDING_ACTIONS = frozenset({"opened", "synchronize", "reopened"})
GITLAB_BUILDING_ACTIONS = frozenset({"open", "reopen", "update"})

# Pull request numbers are kept in 32-bit columns (as a build request's pullRequestId is).
MAX_PULL_REQUEST = 2**31 - 1


@dataclass(frozen=True)
class Signer:
    """A secret that may sign a repository's webhooks: the operator's (its deliveries build
    the repository's jobs and build services in every project) or one project's (they build
    that project's only). `name` is what deliveries are deduplicated by."""

    name: str
    secret: str = field(repr=False)
    project_id: str | None = None

    @classmethod
    def operator(cls, secret: str) -> Signer:
        return cls(OPERATOR, secret)

    @classmethod
    def project(cls, project_id: str, secret: str) -> Signer:
        return cls(f"project:{project_id}", secret, project_id)


@dataclass(frozen=True)
class Delivery:
    provider: str
    delivery_id: str
    repository: str
    event: GitEvent | None  # None: nothing to build (a ping, a tag, a closed PR ...)
    signer: Signer
    note: str = ""


@dataclass(frozen=True)
class Incoming:
    """A delivery read as far as its repository, its signature not yet checked."""

    provider: str
    body: bytes
    headers: Mapping[str, str]
    payload: dict[str, Any]
    repository: str

    def signer(self, candidates: Sequence[Signer]) -> Signer:
        """The first candidate whose secret signed the delivery; 401 if none did."""
        if not candidates:
            raise Unauthorized("No webhook secret is configured for this repository")
        provider = PROVIDERS[self.provider]
        presented = self.headers.get(provider.signature_header)
        for candidate in candidates:
            if provider.signed(self.body, presented, candidate.secret):
                return candidate
        raise Unauthorized(provider.refusal)

    def delivery(self, signer: Signer) -> Delivery:
        """What the delivery (verified: `signer` signed it) asks for."""
        return PROVIDERS[self.provider].read(self, signer)


def incoming(provider: str, body: bytes, headers: Mapping[str, str]) -> Incoming:
    payload = _payload(body)
    repository = _repository(payload, *PROVIDERS[provider].repository_fields)
    return Incoming(provider, body, headers, payload, repository)


def normalized_repository(url: str) -> str:
    """`host/path` of a repository URL: scheme, user, trailing `/` and `.git` dropped, host in
    lower case; `git@host:path` read as `host/path`."""
    url = url.strip()
    if scp := re.fullmatch(r"[\w.-]+@([\w.-]+):(?!//)(.+)", url):
        host, path = scp[1], scp[2]
    else:
        without_scheme = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", url)
        host, _, path = without_scheme.partition("/")
        host = host.rpartition("@")[2]
    path = path.strip("/").removesuffix(".git").strip("/")
    return f"{host.lower()}/{path}"


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid("body", f"not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise Invalid("body", "must be a JSON object")
    return payload


def _field(payload: Mapping[str, Any], *path: str) -> Any:
    value: Any = payload
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _is_pull_request_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_PULL_REQUEST


def _sha(value: Any, where: str) -> str:
    if not isinstance(value, str) or not SHA.fullmatch(value.lower()):
        raise Invalid(where, "must be a commit sha (40 hex digits)")
    return value.lower()


def _hmac_signed(body: bytes, header: str | None, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(header.strip(), expected)


def _token_signed(_: bytes, header: str | None, secret: str) -> bool:
    """GitLab sends the secret itself as its token."""
    return hmac.compare_digest((header or "").encode(), secret.encode())


def _repository(payload: Mapping[str, Any], *candidates: tuple[str, ...]) -> str:
    for path in candidates:
        value = _field(payload, *path)
        if isinstance(value, str) and value:
            return value
    raise Invalid("repository", "the payload names no repository URL")


def _ignored(kind: str) -> str:
    return f"{kind or 'unnamed'} events build nothing"


def _delivery_id(header: str | None, body: bytes) -> str:
    return header or hashlib.sha256(body).hexdigest()


# ---- GitHub (Gitea, Forgejo) ---------------------------------------------------------------


def _github(received: Incoming, signer: Signer) -> Delivery:
    payload, headers, repository = received.payload, received.headers, received.repository
    kind = headers.get("x-github-event") or headers.get("x-gitea-event") or ""
    delivery = _delivery_id(headers.get("x-github-delivery"), received.body)
    if kind == "push":
        event, note = _push(payload, repository)
    elif kind == "pull_request":
        event, note = _github_pull(payload, repository)
    else:
        event, note = None, _ignored(kind)
    return Delivery("github", delivery, repository, event, signer, note)


def _push(payload: Mapping[str, Any], repository: str) -> tuple[GitEvent | None, str]:
    """A push, as GitHub and GitLab both describe it (`ref`, `before`, `after`)."""
    ref = payload.get("ref")
    if not isinstance(ref, str) or not ref.startswith("refs/heads/"):
        return None, f"a push to {ref!r} (not a branch) builds nothing"
    after = _sha(payload.get("after"), "after")
    if payload.get("deleted") or after == ZERO_SHA:
        return None, "a deleted branch builds nothing"
    before = payload.get("before")
    return GitEvent(
        repository,
        ref.removeprefix("refs/heads/"),
        after,
        before=None if before in (None, ZERO_SHA) else _sha(before, "before"),
    ), ""


def _github_pull(payload: Mapping[str, Any], repository: str) -> tuple[GitEvent | None, str]:
    action = payload.get("action")
    if action not in GITHUB_BUILDING_ACTIONS:
        return None, f"pull request action {action!r} builds nothing"
    number = payload.get("number") or _field(payload, "pull_request", "number")
    if not _is_pull_request_number(number):
        raise Invalid("number", "must be the pull request number")
    base = _field(payload, "pull_request", "base", "sha")
    return GitEvent(
        repository,
        str(_field(payload, "pull_request", "head", "ref")),
        _sha(_field(payload, "pull_request", "head", "sha"), "pull_request.head.sha"),
        before=_sha(base, "pull_request.base.sha") if base else None,
        pull_request_id=number,
    ), ""


# ---- GitLab --------------------------------------------------------------------------------


def _gitlab(received: Incoming, signer: Signer) -> Delivery:
    payload, headers, repository = received.payload, received.headers, received.repository
    kind = headers.get("x-gitlab-event") or ""
    delivery = _delivery_id(headers.get("x-gitlab-event-uuid"), received.body)
    if kind == "Push Hook":
        event, note = _push(payload, repository)
    elif kind == "Merge Request Hook":
        event, note = _gitlab_merge(payload, repository)
    else:
        event, note = None, _ignored(kind)
    return Delivery("gitlab", delivery, repository, event, signer, note)


def _gitlab_merge(payload: Mapping[str, Any], repository: str) -> tuple[GitEvent | None, str]:
    attributes = payload.get("object_attributes") or {}
    action = attributes.get("action")
    if action not in GITLAB_BUILDING_ACTIONS:
        return None, f"merge request action {action!r} builds nothing"
    number = attributes.get("iid")
    if not _is_pull_request_number(number):
        raise Invalid("object_attributes.iid", "must be the merge request number")
    base = _field(attributes, "diff_refs", "base_sha")
    return GitEvent(
        repository,
        str(attributes.get("source_branch")),
        _sha(_field(attributes, "last_commit", "id"), "object_attributes.last_commit.id"),
        before=_sha(base, "object_attributes.diff_refs.base_sha") if base else None,
        pull_request_id=number,
    ), ""


# ---- generic -------------------------------------------------------------------------------


def _generic(received: Incoming, signer: Signer) -> Delivery:
    payload, repository = received.payload, received.repository
    branch = payload.get("branch")
    if not isinstance(branch, str) or not branch:
        raise Invalid("branch", "must name the branch")
    number = payload.get("pullRequestId")
    if number is not None and not _is_pull_request_number(number):
        raise Invalid("pullRequestId", "must be a positive integer")
    before = payload.get("before")
    event = GitEvent(
        repository,
        branch,
        _sha(payload.get("sha"), "sha"),
        before=_sha(before, "before") if before else None,
        pull_request_id=number,
    )
    delivery = payload.get("deliveryId")
    delivery_id = str(delivery) if delivery else _delivery_id(None, received.body)
    return Delivery("generic", delivery_id, repository, event, signer)


@dataclass(frozen=True)
class Provider:
    """Where a provider's payloads name the repository, how they are signed, and how they
    are read once verified."""

    repository_fields: tuple[tuple[str, ...], ...]
    signature_header: str
    signed: Callable[[bytes, str | None, str], bool]
    refusal: str
    read: Callable[[Incoming, Signer], Delivery]


PROVIDERS: dict[str, Provider] = {
    "github": Provider(
        (("repository", "clone_url"), ("repository", "html_url"), ("repository", "url")),
        "x-hub-signature-256",
        _hmac_signed,
        "Bad webhook signature",
        _github,
    ),
    "gitlab": Provider(
        (("project", "git_http_url"), ("project", "web_url"), ("repository", "homepage")),
        "x-gitlab-token",
        _token_signed,
        "Bad webhook token",
        _gitlab,
    ),
    "generic": Provider(
        (("repository",),),
        "x-dockyard-signature-256",
        _hmac_signed,
        "Bad webhook signature",
        _generic,
    ),
}
