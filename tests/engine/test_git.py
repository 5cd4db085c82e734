"""GitClient on the real git binary and local bare repositories."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.engine.git import GitClient, pull_request_ref
from dockyard.errors import GitError
from tests.engine.conftest import processes_mentioning
from tests.gitrepos import SampleRepo, git

pytestmark = pytest.mark.anyio


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "checkout"


def commit_count(checkout: Path) -> int:
    return int(git(checkout, "rev-list", "--count", "HEAD"))


async def test_resolve_branches_and_pull_request_refs(
    git_client: GitClient, sample: SampleRepo
) -> None:
    url = sample.repo.url
    assert await git_client.resolve(url, "main") == sample.main
    assert await git_client.resolve(url, "refs/heads/feature") == sample.feature
    assert await git_client.resolve(url, pull_request_ref("github", 7)) == sample.pull_7
    assert await git_client.resolve(url, pull_request_ref("gitlab", 3)) == sample.merge_request_3


async def test_resolve_accepts_the_url_with_a_git_suffix(
    git_client: GitClient, sample: SampleRepo
) -> None:
    assert await git_client.resolve(f"{sample.repo.url}.git", "main") == sample.main


async def test_resolve_unknown_branch_is_a_clear_error(
    git_client: GitClient, sample: SampleRepo
) -> None:
    with pytest.raises(GitError, match=f"Branch nope does not exist in {sample.repo.url}"):
        await git_client.resolve(sample.repo.url, "nope")
    with pytest.raises(GitError, match="Ref refs/pull/8/head does not exist"):
        await git_client.resolve(sample.repo.url, "refs/pull/8/head")


async def test_resolve_unknown_repository_names_it(git_client: GitClient) -> None:
    url = "https://git.example.test/x/y"
    with pytest.raises(GitError, match=re.escape(f"Cannot list the refs of {url}")):
        await git_client.resolve(url, "main")


async def test_shallow_checkout_without_git_dir(
    git_client: GitClient, sample: SampleRepo, dest: Path
) -> None:
    await git_client.checkout(sample.repo.url, sample.main, dest)
    assert (dest / "hello.txt").read_text() == "hello v2\n"
    assert not (dest / "feature.txt").exists()
    assert not (dest / ".git").exists()


async def test_shallow_checkout_keeps_git_dir_with_one_commit(
    git_client: GitClient, sample: SampleRepo, dest: Path
) -> None:
    await git_client.checkout(sample.repo.url, sample.main, dest, keep_git_dir=True)
    assert git(dest, "rev-parse", "HEAD") == sample.main
    assert commit_count(dest) == 1


async def test_full_clone_has_the_history(
    git_client: GitClient, sample: SampleRepo, dest: Path
) -> None:
    await git_client.checkout(
        sample.repo.url, sample.feature, dest, full_clone=True, keep_git_dir=True
    )
    assert commit_count(dest) == 3
    assert git(dest, "rev-parse", "HEAD~2") == sample.first


async def test_checkout_of_an_older_commit(
    git_client: GitClient, sample: SampleRepo, dest: Path
) -> None:
    await git_client.checkout(sample.repo.url, sample.first, dest)
    assert (dest / "hello.txt").read_text() == "hello v1\n"


@pytest.mark.parametrize(
    ("provider", "number", "commit", "file"),
    [("github", 7, "pull_7", "pr.txt"), ("gitlab", 3, "merge_request_3", "mr.txt")],
)
async def test_checkout_of_a_pull_request(
    git_client: GitClient,
    sample: SampleRepo,
    dest: Path,
    provider: str,
    number: int,
    commit: str,
    file: str,
) -> None:
    sha = getattr(sample, commit)
    ref = pull_request_ref(provider, number)
    await git_client.checkout(sample.repo.url, sha, dest, ref=ref, keep_git_dir=True)
    assert git(dest, "rev-parse", "HEAD") == sha
    assert (dest / file).exists()


async def test_checkout_of_a_pull_request_that_moved_on(
    git_client: GitClient, sample: SampleRepo, dest: Path
) -> None:
    newer = sample.repo.commit({"pr.txt": "pull 7 again\n"}, branch="pr-7", ref="refs/pull/7/head")
    assert newer != sample.pull_7
    await git_client.checkout(sample.repo.url, sample.pull_7, dest, ref="refs/pull/7/head")
    assert (dest / "pr.txt").read_text() == "pull 7\n"


async def test_checkout_streams_git_output(
    git_client: GitClient, sample: SampleRepo, dest: Path
) -> None:
    lines: list[str] = []
    await git_client.checkout(sample.repo.url, sample.main, dest, on_line=lines.append)
    assert any(sample.main in line and "FETCH_HEAD" in line for line in lines), lines


async def test_checkout_of_a_missing_commit_is_a_clear_error(
    git_client: GitClient, sample: SampleRepo, dest: Path
) -> None:
    missing = "1" * 40
    with pytest.raises(GitError, match=f"Commit {missing} does not exist in {sample.repo.url}"):
        await git_client.checkout(sample.repo.url, missing, dest)


async def test_checkout_of_a_missing_pull_request_is_a_clear_error(
    git_client: GitClient, sample: SampleRepo, dest: Path
) -> None:
    with pytest.raises(GitError, match="Ref refs/pull/9/head does not exist"):
        await git_client.checkout(sample.repo.url, sample.main, dest, ref="refs/pull/9/head")


@pytest.mark.parametrize("sha", ["main", "abc123", "-" + "a" * 39, "g" * 40])
async def test_checkout_wants_a_full_sha(
    git_client: GitClient, sample: SampleRepo, dest: Path, sha: str
) -> None:
    with pytest.raises(GitError, match="a sha is 40 hex digits"):
        await git_client.checkout(sample.repo.url, sha, dest)


async def test_checkout_into_a_dir_that_is_not_empty_is_refused(
    git_client: GitClient, sample: SampleRepo, dest: Path
) -> None:
    dest.mkdir()
    (dest / "left-over").write_text("x")
    with pytest.raises(GitError, match="is not empty"):
        await git_client.checkout(sample.repo.url, sample.main, dest)


INJECTION = "--upload-pack=touch {marker}"


async def test_options_in_refs_and_urls_are_refused(
    git_client: GitClient, sample: SampleRepo, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    option = INJECTION.format(marker=marker)
    with pytest.raises(GitError, match="Invalid repository URL"):
        await git_client.resolve(option, "main")
    with pytest.raises(GitError, match="Invalid ref"):
        await git_client.resolve(sample.repo.url, option)
    with pytest.raises(GitError, match="Invalid repository URL"):
        await git_client.checkout(option, sample.main, tmp_path / "a")
    with pytest.raises(GitError, match="Invalid ref"):
        await git_client.checkout(sample.repo.url, sample.main, tmp_path / "b", ref=option)
    assert not marker.exists()


@pytest.mark.parametrize("ref", ["a..b", "main.lock", "bad ref", "x:y", "refs/heads/", ""])
async def test_malformed_refs_are_refused(
    git_client: GitClient, sample: SampleRepo, ref: str
) -> None:
    with pytest.raises(GitError, match="Invalid ref"):
        await git_client.resolve(sample.repo.url, ref)


async def test_local_paths_are_refused_unless_mapped(
    git_client: GitClient, sample: SampleRepo, dest: Path
) -> None:
    with pytest.raises(GitError, match="transport 'file' not allowed"):
        await git_client.resolve(str(sample.repo.bare), "main")
    with pytest.raises(GitError, match="transport 'file' not allowed"):
        await git_client.checkout(f"file://{sample.repo.bare}", sample.main, dest)


def test_pull_request_refs_per_provider() -> None:
    assert pull_request_ref("github", 7) == "refs/pull/7/head"
    assert pull_request_ref("gitlab", 3) == "refs/merge-requests/3/head"
    with pytest.raises(GitError, match="positive"):
        pull_request_ref("github", 0)
    with pytest.raises(GitError, match="cannot be fetched"):
        pull_request_ref("svn", 1)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


async def test_timeout_kills_git(silent_server: int) -> None:
    url = f"http://127.0.0.1:{silent_server}/timeout/app"
    with pytest.raises(GitError, match=r"did not finish within 0.5 s"):
        await GitClient(timeout=0.5, allow=["127.0.0.0/8"]).resolve(url, "main")
    assert processes_mentioning(url) == []


async def test_cancellation_kills_git(silent_server: int, dest: Path) -> None:
    url = f"http://127.0.0.1:{silent_server}/cancel/app"
    task = asyncio.create_task(GitClient(allow=["127.0.0.0/8"]).checkout(url, "a" * 40, dest))
    for _ in range(100):
        if processes_mentioning(url):
            break
        await asyncio.sleep(0.05)
    assert processes_mentioning(url), "git never started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert processes_mentioning(url) == []


async def test_changes_of_a_push_and_of_a_commit_alone(
    sample: SampleRepo, git_client: GitClient, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    files, message = await git_client.changes(sample.repo.url, sample.main, sample.first, cache)
    assert (files, message.strip()) == (["hello.txt"], "second")

    alone, _ = await git_client.changes(sample.repo.url, sample.first, None, cache)
    assert sorted(alone) == ["Dockerfile", "README.md", "hello.txt"]

    pull, message = await git_client.changes(sample.repo.url, sample.pull_7, sample.main, cache)
    assert (pull, message.strip()) == (["pr.txt"], "pr 7")


async def test_changes_of_an_unknown_commit_fail(
    sample: SampleRepo, git_client: GitClient, tmp_path: Path
) -> None:
    with pytest.raises(GitError, match="does not exist"):
        await git_client.changes(sample.repo.url, "0" * 40, None, tmp_path / "cache")


async def test_a_cached_checkout_fetches_a_commit_once(
    git_client: GitClient, sample: SampleRepo, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    for attempt, commit, text in [(1, "main", "v2"), (2, "main", "v2"), (3, "first", "v1")]:
        dest, lines = tmp_path / f"checkout-{attempt}", []
        sha = getattr(sample, commit)
        await git_client.checkout(sample.repo.url, sha, dest, cache=cache, on_line=lines.append)
        assert (dest / "hello.txt").read_text() == f"hello {text}\n"
        assert not (dest / ".git").exists()
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".index")] == []
        fetched = any("FETCH_HEAD" in line for line in lines)
        assert fetched == (attempt != 2), lines
    assert git(cache, "rev-parse", "--is-bare-repository") == "true"


async def test_a_cached_checkout_of_a_pull_request_and_of_a_missing_commit(
    git_client: GitClient, sample: SampleRepo, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    ref = pull_request_ref("github", 7)
    await git_client.checkout(sample.repo.url, sample.pull_7, tmp_path / "pr", ref=ref, cache=cache)
    assert (tmp_path / "pr" / "pr.txt").exists()
    missing = "1" * 40
    lines: list[str] = []
    with pytest.raises(GitError, match=f"Commit {missing} does not exist"):
        await git_client.checkout(
            sample.repo.url, missing, tmp_path / "nope", cache=cache, on_line=lines.append
        )
    assert not any("fetching afresh" in line for line in lines), lines


async def test_a_cache_that_cannot_serve_is_passed_by(
    git_client: GitClient, sample: SampleRepo, tmp_path: Path
) -> None:
    # A half-written cache inside another repository (a data dir in a checkout): git must
    # not take the enclosing repository for the cache.
    enclosing = tmp_path / "enclosing"
    git(tmp_path, "init", "--quiet", str(enclosing))
    cache = enclosing / "cache"
    cache.mkdir()
    (cache / "HEAD").write_text("not a repository\n")
    lines: list[str] = []
    dest = tmp_path / "checkout"
    await git_client.checkout(sample.repo.url, sample.main, dest, cache=cache, on_line=lines.append)
    assert (dest / "hello.txt").read_text() == "hello v2\n"
    assert not (dest / ".git").exists()
    assert any("could not serve" in line for line in lines), lines
    assert not (enclosing / ".git" / "FETCH_HEAD").exists()


async def test_with_the_git_dir_or_history_wanted_the_cache_is_not_used(
    git_client: GitClient, sample: SampleRepo, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    await git_client.checkout(
        sample.repo.url, sample.main, tmp_path / "kept", keep_git_dir=True, cache=cache
    )
    await git_client.checkout(
        sample.repo.url, sample.main, tmp_path / "full", full_clone=True, cache=cache
    )
    assert not cache.exists()
    assert git(tmp_path / "kept", "rev-parse", "HEAD") == sample.main
