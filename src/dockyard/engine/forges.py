"""The repository listings of git hosting servers' REST APIs, for a VCS link's token: GitHub
(and GitHub Enterprise), GitLab (and GitLab EE), Gitea and Bitbucket Cloud. Each is paginated
to its end (at most `MAX_PAGES` pages), within a timeout, through the address policy of
engine/fetches.py, without following redirects (the token goes to the server named, and to
no other). Errors are UpstreamFailed naming the server and what it answered, never the token.

Not tested against the real servers (none is reachable from the test machines): the shapes
read are those of the servers' documented APIs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from dockyard.engine.base import GitCredentials
from dockyard.engine.fetches import PinnedTransport, RefusedTarget
from dockyard.errors import UpstreamFailed

MAX_PAGES = 20
PAGE_SIZE = 100


@dataclass(frozen=True)
class ForgeRepo:
    """A repository as a hosting server lists it."""

    id: str
    name: str
    full_name: str
    owner: str
    url: str


@dataclass(frozen=True)
class Listing:
    """How one kind of server lists an account's repositories: the first page's URL (from
    the server's base URL), the request's headers, and how to read a page."""

    first: Callable[[str], str]
    headers: Callable[[GitCredentials], dict[str, str]]
    auth: Callable[[GitCredentials], httpx.Auth | None]
    read: Callable[[Any], list[ForgeRepo]]
    next_url: Callable[[httpx.Response, Any, int], str | None]


def _github_api(base: str) -> str:
    """api.github.com for github.com; `<base>/api/v3` for GitHub Enterprise Server."""
    return "https://api.github.com" if urlsplit(base).hostname == "github.com" else f"{base}/api/v3"


def _gitlab_api(base: str) -> str:
    return f"{base}/api/v4"


def _bitbucket_api(base: str) -> str:
    return "https://api.bitbucket.org" if urlsplit(base).hostname == "bitbucket.org" else base


def _by_page_count(response: httpx.Response, body: Any, page: int) -> str | None:
    """GitHub, GitLab and Gitea: the next page while this one was full."""
    if not isinstance(body, list) or len(body) < PAGE_SIZE:
        return None
    url = response.request.url
    return str(url.copy_set_param("page", page + 1))


def _bitbucket_next(response: httpx.Response, body: Any, page: int) -> str | None:
    following = body.get("next") if isinstance(body, dict) else None
    return following if isinstance(following, str) else None


def _github_like(body: Any) -> list[ForgeRepo]:
    """GitHub's and Gitea's repository objects."""
    return [
        ForgeRepo(
            id=str(item["id"]),
            name=item["name"],
            full_name=item["full_name"],
            owner=item["owner"]["login"],
            url=item["html_url"],
        )
        for item in body
    ]


def _gitlab(body: Any) -> list[ForgeRepo]:
    return [
        ForgeRepo(
            id=str(item["id"]),
            name=item["path"],
            full_name=item["path_with_namespace"],
            owner=item["namespace"]["full_path"],
            url=item["web_url"],
        )
        for item in body
    ]


def _bitbucket(body: Any) -> list[ForgeRepo]:
    return [
        ForgeRepo(
            id=item["uuid"],
            name=item["slug"],
            full_name=item["full_name"],
            owner=item["full_name"].partition("/")[0],
            url=item["links"]["html"]["href"],
        )
        for item in body["values"]
    ]


def _no_auth(credentials: GitCredentials) -> httpx.Auth | None:
    return None


LISTINGS: dict[str, Listing] = {
    "github": Listing(
        first=lambda base: f"{_github_api(base)}/user/repos?per_page={PAGE_SIZE}&page=1",
        headers=lambda c: {
            "Authorization": f"Bearer {c.token}",
            "Accept": "application/vnd.github+json",
        },
        auth=_no_auth,
        read=_github_like,
        next_url=_by_page_count,
    ),
    "gitlab": Listing(
        first=lambda base: (
            f"{_gitlab_api(base)}/projects?membership=true&simple=true&per_page={PAGE_SIZE}&page=1"
        ),
        headers=lambda c: {"PRIVATE-TOKEN": c.token},
        auth=_no_auth,
        read=_gitlab,
        next_url=_by_page_count,
    ),
    "gitea": Listing(
        first=lambda base: f"{base}/api/v1/user/repos?limit={PAGE_SIZE}&page=1",
        headers=lambda c: {"Authorization": f"token {c.token}"},
        auth=_no_auth,
        read=_github_like,
        next_url=_by_page_count,
    ),
    "bitbucket": Listing(
        first=lambda base: (
            f"{_bitbucket_api(base)}/2.0/repositories?role=member&pagelen={PAGE_SIZE}"
        ),
        headers=lambda c: {},
        auth=lambda c: httpx.BasicAuth(c.username, c.token),
        read=_bitbucket,
        next_url=_bitbucket_next,
    ),
}
# A self-hosted server's vcsType, as the kind of listing it has.
KIND_OF_TYPE = {"github-ghe": "github", "gitlab-ee": "gitlab", "gitea": "gitea"}


def listing_kind(vcs_service: str, vcs_type: str | None) -> str | None:
    """The kind of REST listing a server has (None: a plain git server, which has none)."""
    if vcs_type is not None:
        return KIND_OF_TYPE[vcs_type]
    return vcs_service if vcs_service in LISTINGS else None


async def list_repositories(
    kind: str,
    base_url: str,
    credentials: GitCredentials,
    *,
    allow: Sequence[str],
    timeout: float,
) -> list[ForgeRepo]:
    """Every repository the account can reach on the server at `base_url`, of `kind`
    (LISTINGS); UpstreamFailed when the server cannot be reached or refuses."""
    listing = LISTINGS[kind]
    first = listing.first(base_url)
    host: str = urlsplit(first).netloc
    url: str | None = first
    found: list[ForgeRepo] = []
    if not (credentials.username.isascii() and credentials.token.isascii()):
        raise UpstreamFailed(f"the login or token is not ASCII, which HTTP cannot send to {host}")
    transport = PinnedTransport(allow)
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(
                transport=transport,
                follow_redirects=False,
                timeout=timeout,
                headers=listing.headers(credentials),
                auth=listing.auth(credentials),
            ) as client,
        ):
            for page in range(1, MAX_PAGES + 1):
                assert url is not None
                response = await client.get(url)
                if response.status_code != 200:
                    raise UpstreamFailed(
                        f"{host} answered HTTP {response.status_code} to the repository listing"
                    )
                body = response.json()
                found += listing.read(body)
                url = listing.next_url(response, body, page)
                # The token goes only to the server that listed the first page.
                if url is None or urlsplit(url).netloc != host:
                    break
    except RefusedTarget as exc:
        raise UpstreamFailed(f"{host} is refused: {exc.message}") from None
    except TimeoutError:
        raise UpstreamFailed(
            f"{host} did not list the repositories within {timeout:.0f} s"
        ) from None
    except httpx.HTTPError as exc:
        raise UpstreamFailed(f"{host} could not be reached: {type(exc).__name__}") from None
    except (ValueError, KeyError, TypeError) as exc:
        # The exception's text is not shown: it may quote what was sent.
        raise UpstreamFailed(
            f"{host} answered a listing dockyard cannot read ({type(exc).__name__})"
        ) from None
    return found
