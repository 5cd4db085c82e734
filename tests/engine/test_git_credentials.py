"""GitClient with a VCS link's credentials against git's own HTTP server behind basic auth:
the token goes through the credential helper only (never an argument, a URL, a config file
or the source cache), and a refusal is a GitAuthFailed, never a prompt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine import process
from dockyard.engine.base import GitCredentials
from dockyard.engine.git import GitAuthFailed, GitClient
from tests.githttp import GitHttpServer
from tests.gitrepos import SampleRepo

pytestmark = pytest.mark.anyio

TOKEN = "tok-3f9a1c77e2b04d5e"
URL = "https://git.private.test/acme/app"
GOOD = GitCredentials("alice", TOKEN)


@pytest.fixture
def server(sample: SampleRepo) -> Iterator[GitHttpServer]:
    with GitHttpServer(sample.repo.root, {"alice": TOKEN}) as running:
        yield running


@pytest.fixture
def private(server: GitHttpServer) -> GitClient:
    return GitClient({"https://git.private.test/": f"{server.url}/"}, allow=["127.0.0.0/8"])


@pytest.fixture
def argv_seen(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argument lists git is started with (the real git runs)."""
    seen: list[list[str]] = []
    original = process.run

    async def recording(argv: Any, **kwargs: Any) -> process.Completed:
        seen.append(list(argv))
        return await original(argv, **kwargs)

    monkeypatch.setattr(process, "run", recording)
    return seen


async def test_branches_and_checkout_with_a_token(
    private: GitClient,
    sample: SampleRepo,
    server: GitHttpServer,
    tmp_path: Path,
    argv_seen: list[list[str]],
) -> None:
    assert await private.branches(URL, credentials=GOOD) == {
        "main": sample.main,
        "feature": sample.feature,
    }
    dest, cache = tmp_path / "out", tmp_path / "cache"
    await private.checkout(URL, sample.main, dest, cache=cache, credentials=GOOD)

    assert (dest / "hello.txt").read_text() == "hello v2\n"
    assert any(line.endswith(" 200 alice") for line in server.output)
    assert not any(TOKEN in " ".join(argv) for argv in argv_seen)
    on_disk = [path.read_bytes() for path in cache.rglob("*") if path.is_file()]
    assert not any(TOKEN.encode() in data for data in on_disk)
    assert not any(TOKEN in line for line in server.output)


async def test_no_credentials_fail_at_once_without_a_prompt(private: GitClient) -> None:
    with pytest.raises(GitAuthFailed, match=r"refused access.*terminal prompts disabled"):
        await private.resolve(URL, "main")


async def test_a_wrong_token_is_refused_and_not_repeated(private: GitClient) -> None:
    with pytest.raises(GitAuthFailed, match="Authentication failed") as refused:
        await private.resolve(URL, "main", credentials=GitCredentials("alice", "wrong-token-x"))
    assert "wrong-token-x" not in refused.value.message
